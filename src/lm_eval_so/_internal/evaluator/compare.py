"""Run-vs-run comparison: which metrics moved, whether by more than noise, and on which samples.

    from lm_eval_so import compare_runs
    comparison = compare_runs("workspace/runs/A", "workspace/runs/B")   # B is the candidate

Samples are paired by ``(sample id, repeat)``; only pairs present in both runs count, and two
runs with no pair in common are an error (there is nothing to compare), as is a metric with no
pair. Metrics scored in only one run are listed, not compared. Per metric the delta
``mean(B) - mean(A)`` gets a paired bootstrap interval (Efron 1979) and an exact test on the
pairs that differ: McNemar's (1947) on pass -> fail vs fail -> pass for pass/fail metrics, the
sign test (Dixon & Mood 1946: the same binomial test on pairs that went down vs up) for
continuous ones. A metric *regressed* when the drop is significant: ``p < alpha``, and for
continuous metrics also the whole interval below zero. The exact test is what keeps a handful of
pairs from looking significant: with fewer than 6 differing pairs no two-sided ``p`` can be
below 0.05, however large the drop, and a bootstrap of one pair is a point, not an interval.
Higher is better unless the run's only threshold on the metric is a ``max``.
"""

from __future__ import annotations

import math
import os
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
    p_value: float | None  # exact two-sided: McNemar (pass/fail) or sign test (continuous)
    verdict: str  # "regressed", "improved" or "no significant change"
    note: str | None = None  # why so few pairs cannot show a significant change, when they cannot

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
    #: Metrics scored in one run only: listed, never compared (nothing to pair them with).
    metrics_only_in_a: list[str] = field(default_factory=list)
    metrics_only_in_b: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """True when some metric dropped significantly: what ``--fail-on-regression`` checks."""
        return any(m.regressed for m in self.metrics)

    def notes(self) -> list[str]:
        """What was not compared, and metrics whose pairs were too few to show any change."""
        notes = []
        if self.only_in_a or self.only_in_b:
            notes.append(
                f"Unpaired samples: {self.only_in_a} only in A, {self.only_in_b} only in B (not compared)."
            )
        for side, names in (("A", self.metrics_only_in_a), ("B", self.metrics_only_in_b)):
            if names:
                notes.append(f"Metrics only in {side} (not compared): {', '.join(names)}.")
        notes += [f"{m.name}: {m.note}." for m in self.metrics if m.note]
        return notes

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


def load_run(path: str | os.PathLike[str]) -> LoadedRun:
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
    run_a: str | os.PathLike[str], run_b: str | os.PathLike[str], *, alpha: float = ALPHA, seed: int = 0
) -> Comparison:
    """Compare baseline ``run_a`` with candidate ``run_b``, two run directories (see the module
    docstring).

    Raises :class:`ArtifactError` naming both runs when they share no metric, no sample, or a
    shared metric has no sample scored in both, or when a run is missing or unscored;
    ``ValueError`` for ``alpha`` outside (0, 1).
    """
    _check_alpha(alpha)
    return compare_loaded(load_run(run_a), load_run(run_b), alpha=alpha, seed=seed)


def _check_alpha(alpha: float) -> None:
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(f"alpha must be a significance level between 0 and 1 (got {alpha!r})")


def compare_loaded(a: LoadedRun, b: LoadedRun, *, alpha: float = ALPHA, seed: int = 0) -> Comparison:
    """:func:`compare_runs` on runs already loaded (an experiment loads each cell once)."""
    _check_alpha(alpha)
    shared = [m for m in a.scores if m in b.scores]
    if not shared:
        raise ArtifactError(
            f"runs {_named(a)} and {_named(b)} share no metric "
            f"({', '.join(a.scores) or 'none'} vs {', '.join(b.scores) or 'none'})"
        )
    comparison = Comparison(a.facts, b.facts, [], alpha=alpha)
    keys_a = {k for per in a.scores.values() for k in per}
    keys_b = {k for per in b.scores.values() for k in per}
    if keys_a.isdisjoint(keys_b):
        raise ArtifactError(
            f"runs {_named(a)} and {_named(b)} have no sample in common: {len(keys_a)} scored "
            f"(sample, repeat) pairs in A, {len(keys_b)} in B, none in both; compare two runs "
            "of the same dataset"
        )
    comparison.only_in_a, comparison.only_in_b = len(keys_a - keys_b), len(keys_b - keys_a)
    comparison.metrics_only_in_a = [m for m in a.scores if m not in b.scores]
    comparison.metrics_only_in_b = [m for m in b.scores if m not in a.scores]
    for metric in shared:
        comparison.metrics.append(_metric_delta(metric, a, b, comparison, alpha, seed))
    return comparison


def _metric_delta(
    metric: str, a: LoadedRun, b: LoadedRun, comparison: Comparison, alpha: float, seed: int
) -> MetricDelta:
    pairs = sorted(set(a.scores[metric]) & set(b.scores[metric]))
    if not pairs:
        raise ArtifactError(
            f"metric {metric!r}: no sample is scored in both runs {_named(a)} and {_named(b)} "
            f"({len(a.scores[metric])} in A, {len(b.scores[metric])} in B); re-score them on one dataset"
        )
    left = [a.scores[metric][k] for k in pairs]
    right = [b.scores[metric][k] for k in pairs]
    binary = _is_binary(metric, a.summary) and all(r.passed is not None for r in left + right)
    higher = _higher_is_better(metric, a.summary)
    xs, ys = [r.score for r in left], [r.score for r in right]
    low, high = paired_bootstrap_interval(xs, ys, seed=seed)
    regressions = fixes = 0
    if binary:
        for key, ra, rb in zip(pairs, left, right, strict=True):
            if ra.passed and not rb.passed:
                regressions += 1
                _keep(comparison.regressions, metric, key, a, b)
            elif rb.passed and not ra.passed:
                fixes += 1
                _keep(comparison.fixes, metric, key, a, b)
        down, up = regressions, fixes
    else:
        down = sum(y < x for x, y in zip(xs, ys, strict=True))
        up = sum(y > x for x, y in zip(xs, ys, strict=True))
    # Sign test and McNemar are the same exact binomial test on the pairs that differ.
    p_value = mcnemar_exact(down, up)
    worse, better = (down, up) if higher else (up, down)
    significant = p_value < alpha
    dropped, gained = significant and worse > better, significant and better > worse
    if not binary:  # the interval must agree: the mean moved, not just most pairs a little
        dropped = dropped and (high < 0 if higher else low > 0)
        gained = gained and (low > 0 if higher else high < 0)
    mean_a, mean_b = mean(xs), mean(ys)
    return MetricDelta(
        metric, binary, higher, len(pairs), mean_a, mean_b, mean_b - mean_a,
        low, high, regressions, fixes, p_value, _verdict(dropped, gained),
        _too_few_note(down + up, alpha),
    )  # fmt: skip


def _too_few_note(differing: int, alpha: float) -> str | None:
    """Say so when ``differing`` pairs cannot reach ``p < alpha`` whatever their direction.

    The smallest two-sided exact p with ``d`` differing pairs is ``2 / 2**d`` (all one way).
    """
    if differing == 0 or math.ldexp(1.0, 1 - differing) < alpha:
        return None
    pairs = f"{differing} pair{'s' if differing != 1 else ''}"
    return f"{pairs} changed: too few for any change to be significant at α = {alpha:g}"


def _named(run: LoadedRun) -> str:
    return f"{run.facts.run_id} ({run.facts.path})"


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
