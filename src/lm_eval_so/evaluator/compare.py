"""Run-vs-run comparison: which metrics moved, whether by more than noise, and on which samples.

    from lm_eval_so import compare_runs
    comparison = compare_runs("workspace/runs/A", "workspace/runs/B")   # B is the candidate

Samples are paired by ``(sample id, repeat)``; only pairs present in both runs count. Per
metric the delta ``mean(B) - mean(A)`` gets a paired bootstrap interval; pass/fail metrics also
get McNemar's exact test on the discordant pairs. A metric *regressed* when the drop is
significant: McNemar ``p < alpha`` for pass/fail, the whole interval below zero otherwise.
Higher is better unless the run's only threshold on the metric is a ``max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..common.errors import ArtifactError
from ..common.records import RunResult, ScoreRecord, Summary
from ..common.workspace import RunDir, iter_jsonl, read_model
from .bootstrap import paired_bootstrap_interval
from .significance import mcnemar_exact
from .stats import mean, percentiles

ALPHA = 0.05
FLIPS_KEPT = 200  # per direction; the counts are always complete


@dataclass(frozen=True)
class Flip:
    metric: str
    sample_id: str
    repeat: int
    output_a: str | None
    output_b: str | None


@dataclass(frozen=True)
class MetricDelta:
    name: str
    binary: bool
    higher_is_better: bool
    n_pairs: int
    mean_a: float
    mean_b: float
    delta: float
    ci_low: float
    ci_high: float
    regressions: int  # pass -> fail pairs (binary metrics)
    fixes: int  # fail -> pass pairs
    p_value: float | None  # McNemar exact, binary metrics only
    verdict: str  # "regressed", "improved" or "no significant change"

    @property
    def regressed(self) -> bool:
        return self.verdict == "regressed"


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    pipeline: str
    path: str
    n_results: int
    n_errors: int
    cost_usd: float | None
    latency_p50_ms: float
    latency_p95_ms: float
    model: str | None


@dataclass
class Comparison:
    a: RunFacts
    b: RunFacts
    metrics: list[MetricDelta]
    regressions: list[Flip] = field(default_factory=list)
    fixes: list[Flip] = field(default_factory=list)
    only_in_a: int = 0
    only_in_b: int = 0
    alpha: float = ALPHA

    @property
    def regressed(self) -> bool:
        """True when some metric dropped significantly: what ``--fail-on-regression`` checks."""
        return any(m.regressed for m in self.metrics)

    @property
    def cost_delta_usd(self) -> float | None:
        if self.a.cost_usd is None or self.b.cost_usd is None:
            return None
        return self.b.cost_usd - self.a.cost_usd


# --------------------------------------------------------------------------- loading


@dataclass
class LoadedRun:
    facts: RunFacts
    summary: Summary
    scores: dict[str, dict[tuple[str, int], ScoreRecord]]
    outputs: dict[tuple[str, int], str | None]


def load_run(path: str | Path) -> LoadedRun:
    """A scored run directory: summary.json, scores.jsonl and results.jsonl."""
    run = RunDir(Path(path).resolve())
    for needed in (run.summary, run.scores):
        if not needed.exists():
            raise ArtifactError(f"{needed}: not found; is {run.path} a scored run directory?")
    summary = read_model(run.summary, Summary)
    scores: dict[str, dict[tuple[str, int], ScoreRecord]] = {}
    for record in iter_jsonl(run.scores, ScoreRecord):
        scores.setdefault(record.metric, {})[(record.sample_id, record.repeat)] = record
    outputs: dict[tuple[str, int], str | None] = {}
    latencies, model = [], None
    if run.results.exists():
        for result in iter_jsonl(run.results, RunResult):
            outputs[(result.sample_id, result.repeat)] = _shown(result)
            model = model or result.model
            if result.error is None:
                latencies.append(result.latency_ms)
    p50, p95 = percentiles(latencies, [50, 95])
    facts = RunFacts(
        run_id=summary.run_id,
        pipeline=summary.pipeline,
        path=str(run.path),
        n_results=summary.n_results,
        n_errors=summary.n_errors,
        cost_usd=summary.cost_usd,
        latency_p50_ms=p50 if latencies else summary.latency_ms.p50,
        latency_p95_ms=p95 if latencies else summary.latency_ms.p95,
        model=model,
    )
    return LoadedRun(facts, summary, scores, outputs)


def _shown(result: RunResult) -> str | None:
    if result.error is not None:
        return f"[error {result.error.type}: {result.error.message}]"
    return result.output


# --------------------------------------------------------------------------- comparing


def compare_runs(
    run_a: str | Path | LoadedRun, run_b: str | Path | LoadedRun, *, alpha: float = ALPHA, seed: int = 0
) -> Comparison:
    """Compare baseline ``run_a`` with candidate ``run_b`` (see the module docstring)."""
    a = run_a if isinstance(run_a, LoadedRun) else load_run(run_a)
    b = run_b if isinstance(run_b, LoadedRun) else load_run(run_b)
    shared = [m for m in a.scores if m in b.scores]
    if not shared:
        raise ArtifactError(
            f"runs {a.facts.run_id} and {b.facts.run_id} share no metric "
            f"({', '.join(a.scores) or 'none'} vs {', '.join(b.scores) or 'none'})"
        )
    comparison = Comparison(a.facts, b.facts, [], alpha=alpha)
    keys_a = {k for per in a.scores.values() for k in per}
    keys_b = {k for per in b.scores.values() for k in per}
    comparison.only_in_a, comparison.only_in_b = len(keys_a - keys_b), len(keys_b - keys_a)
    for metric in shared:
        comparison.metrics.append(_metric_delta(metric, a, b, comparison, alpha, seed))
    return comparison


def _metric_delta(
    metric: str, a: LoadedRun, b: LoadedRun, comparison: Comparison, alpha: float, seed: int
) -> MetricDelta:
    pairs = sorted(set(a.scores[metric]) & set(b.scores[metric]))
    left = [a.scores[metric][k] for k in pairs]
    right = [b.scores[metric][k] for k in pairs]
    binary = _is_binary(metric, a.summary) and all(r.passed is not None for r in left + right)
    higher = _higher_is_better(metric, a.summary)
    xs, ys = [r.score for r in left], [r.score for r in right]
    low, high = paired_bootstrap_interval(xs, ys, seed=seed) if pairs else (0.0, 0.0)
    regressions = fixes = 0
    p_value = None
    if binary:
        for key, ra, rb in zip(pairs, left, right, strict=True):
            if ra.passed and not rb.passed:
                regressions += 1
                _keep(comparison.regressions, metric, key, a, b)
            elif rb.passed and not ra.passed:
                fixes += 1
                _keep(comparison.fixes, metric, key, a, b)
        p_value = mcnemar_exact(regressions, fixes)
        worse, better = (regressions, fixes) if higher else (fixes, regressions)
        significant = p_value < alpha
        verdict = _verdict(significant and worse > better, significant and better > worse)
    else:
        drop = high < 0 if higher else low > 0
        gain = low > 0 if higher else high < 0
        verdict = _verdict(drop, gain)
    mean_a, mean_b = mean(xs), mean(ys)
    return MetricDelta(
        metric, binary, higher, len(pairs), mean_a, mean_b, mean_b - mean_a,
        low, high, regressions, fixes, p_value, verdict,
    )  # fmt: skip


def _verdict(dropped: bool, gained: bool) -> str:
    return "regressed" if dropped else "improved" if gained else "no significant change"


def _keep(flips: list[Flip], metric: str, key: tuple[str, int], a: LoadedRun, b: LoadedRun) -> None:
    if sum(f.metric == metric for f in flips) < FLIPS_KEPT:
        flips.append(Flip(metric, key[0], key[1], a.outputs.get(key), b.outputs.get(key)))


def _is_binary(metric: str, summary: Summary) -> bool:
    found = summary.metrics.get(metric)
    return found is None or found.ci_method == "wilson"


def _higher_is_better(metric: str, summary: Summary) -> bool:
    bounds = [o for o in summary.thresholds if o.kind == "metric" and o.target == metric]
    return not (bounds and all(o.min is None and o.max is not None for o in bounds))


# --------------------------------------------------------------------------- baselines


def find_baseline(path: str | Path, pipeline: str, *, exclude: Path | None = None) -> Path | None:
    """The baseline run for ``pipeline`` under ``path``.

    ``path`` is a scored run directory (used when it belongs to ``pipeline``), or a directory
    of runs, or a workspace (its ``runs/``): then the newest scored run of ``pipeline`` in it,
    never ``exclude`` (the run being checked). Run ids start with a UTC timestamp, so the
    newest is the last by name.
    """
    root = Path(path).resolve()
    if (root / "summary.json").is_file():
        return root if _pipeline_of(root) == pipeline and root != exclude else None
    runs = root / "runs" if (root / "runs").is_dir() else root
    if not runs.is_dir():
        raise ArtifactError(f"{path}: not a run directory, a directory of runs or a workspace")
    candidates = [
        run
        for run in sorted(runs.iterdir(), reverse=True)
        if (run / "summary.json").is_file() and run.resolve() != exclude
    ]
    return next((run for run in candidates if _pipeline_of(run) == pipeline), None)


def _pipeline_of(run: Path) -> str | None:
    try:
        return read_model(run / "summary.json", Summary).pipeline
    except ArtifactError:
        return None
