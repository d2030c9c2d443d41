"""Score a finished run: ``results.jsonl`` -> ``scores.jsonl``, ``summary.json``, ``report.*``.

The evaluator only reads artifacts (the dataset and the run directory), so a run can be
re-scored with other metrics or thresholds at any time; every file it writes is replaced
atomically, never half-written.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ..common.config import PipelineConfig
from ..common.errors import ArtifactError, ConfigError, LmEvalError, PluginError
from ..common.records import (
    NO_GATE,
    DatasetSample,
    LatencySummary,
    MetricSummary,
    RunManifest,
    RunResult,
    ScoreRecord,
    StageTiming,
    Summary,
    ThresholdOutcome,
)
from ..common.registry import registry
from ..common.workspace import (
    JsonlWriter,
    RunDir,
    atomic_jsonl,
    atomic_write_json,
    iso_now,
    iter_jsonl,
    read_model,
    run_lock,
)
from .dataset_index import DatasetIndex
from .metrics import Metric, MetricContext, build_metric
from .repeats import repeat_figures, with_judge_usage
from .reports.base import ReportData, Reporter
from .run_rows import RunRows
from .stats import mean, percentiles, summarize
from .tally import RunTally, SeenAttempts
from .thresholds import RunFigures, all_passed, check_gates


def evaluate_run(
    config: PipelineConfig,
    run: RunDir,
    dataset_path: Path,
    *,
    run_id: str | None = None,
) -> Summary:
    """Score every result of ``run`` with ``config.evaluator``; write scores, summary, reports.

    Raises :class:`ArtifactError` for a missing or inconsistent artifact and
    :class:`ConfigError` when a metric needs an expected answer a sample lacks.
    """
    with _gc_paused():
        return _evaluate(config, run, dataset_path, run_id or run.run_id)


def _evaluate(config: PipelineConfig, run: RunDir, dataset_path: Path, run_id: str) -> Summary:
    if not run.path.is_dir():
        raise ArtifactError(f"{run.path}: no such run directory")
    # Scoring holds the run's lock, as running does: nobody else writes here meanwhile, so a
    # temporary file found now was left by an interrupted write and can go.
    with run_lock(run):
        run.remove_stale_temp_files()
        return _score_and_report(config, run, dataset_path, run_id)


def _score_and_report(config: PipelineConfig, run: RunDir, dataset_path: Path, run_id: str) -> Summary:
    started_at, clock = iso_now(), time.perf_counter()
    metric_context = MetricContext(base_dir=config.base_dir, seed=config.seed)
    metrics = {m.key: build_metric(m, metric_context) for m in config.evaluator.metrics}
    with ExitStack() as stack:
        try:
            samples = stack.enter_context(DatasetIndex(dataset_path))
            check_expected(metrics, samples)
            with atomic_jsonl(run.scores) as writer:
                prepare_metrics(run.results, samples, metrics)
                tally = _score_run(run.results, samples, metrics, writer)
        finally:
            for metric in metrics.values():
                metric.close()
        manifest = read_model(run.manifest, RunManifest) if run.manifest.exists() else None

        model = config.runner.model or (manifest.model if manifest else None) or tally.first_model
        per_metric = summarize_metrics(config, metrics, tally.scores, _score_records(run, tally))
        stopped = stopped_reason(manifest, tally.n_results, len(samples) * config.runner.repeats)
        summary = _summary(config, run_id, tally, per_metric, len(samples), model, stopped)
        summary = with_judge_usage(summary, [m.usage() for m in metrics.values()])
        atomic_write_json(run.summary, summary)

        context = manifest.model_dump(mode="json") if manifest else _context(config, model)
        rows = RunRows(run.results, run.scores, samples, list(metrics), tally.failed)
        write_reports(config.evaluator.report.formats, ReportData(summary, rows, context), run)
    if manifest is not None and not run.is_rescore:  # a re-score never rewrites the run's record
        _finish_manifest(run, manifest, started_at, time.perf_counter() - clock)
    return summary


def is_scored(run: RunDir) -> bool:
    """True when the evaluator finished scoring ``run`` (its manifest records the evaluate stage)."""
    if not (run.summary.exists() and run.manifest.exists()):
        return False
    try:
        return "evaluate" in read_model(run.manifest, RunManifest).timings
    except ArtifactError:
        return False


def _score_records(run: RunDir, tally: RunTally) -> Callable[[], Iterator[ScoreRecord]] | None:
    """Re-reads scores.jsonl for the per-sample figures; None when no sample ran twice."""
    if not tally.max_repeat:
        return None
    return lambda: iter_jsonl(run.scores, ScoreRecord)


# --------------------------------------------------------------------------- inputs


def preflight(config: PipelineConfig, dataset_path: Path) -> None:
    """Everything scoring will need, checked before any model is called.

    Metrics are built (their options and imports), a metric needing expected answers meets a
    dataset that has them, and a metric that calls a model (an LLM judge) has its backend's
    credentials and extra. Raises the error scoring would raise, only earlier.
    """
    metric_context = MetricContext(base_dir=config.base_dir, seed=config.seed)
    metrics = {m.key: build_metric(m, metric_context) for m in config.evaluator.metrics}
    try:
        with DatasetIndex(dataset_path) as samples:
            check_expected(metrics, samples)
        for metric in metrics.values():
            check = getattr(metric, "preflight", None)
            if callable(check):
                check()
    finally:
        for metric in metrics.values():
            metric.close()


def check_expected(metrics: dict[str, Metric], samples: DatasetIndex) -> None:
    """Fail once, before scoring, if a metric needs expected answers some samples lack."""
    needing = [key for key, metric in metrics.items() if metric.needs_expected]
    if not needing or not samples.n_missing_expected:
        return
    key, missing = needing[0], samples.n_missing_expected
    others = f" (and {missing - 1} more)" if missing > 1 else ""
    raise ConfigError(
        f"metric {key!r} needs an expected answer, but sample {samples.first_missing_expected!r}{others} "
        f"in {samples.path} has none; map a column with generator.fields.expected "
        "or use a metric that needs no reference"
    )


# --------------------------------------------------------------------------- scoring


def prepare_metrics(results_path: Path, samples: DatasetIndex, metrics: dict[str, Metric]) -> None:
    """Give metrics that batch (an LLM judge calling a model concurrently) every result first.

    Only then is ``results.jsonl`` read twice, and every pair held for the batch; plain
    metrics keep the single streaming pass.
    """
    batching = [m for m in metrics.values() if type(m).prepare is not Metric.prepare]
    if not batching:
        return
    pairs = []
    for result in iter_jsonl(results_path, RunResult):
        sample = samples.get(result.sample_id) if result.error is None else None
        if sample is not None:
            pairs.append((sample, result))
    for metric in batching:
        metric.prepare(pairs)


def _score_run(
    results_path: Path,
    samples: DatasetIndex,
    metrics: dict[str, Metric],
    writer: JsonlWriter,
) -> RunTally:
    tally = RunTally.for_metrics(metrics)
    seen = SeenAttempts(len(samples))
    for result in iter_jsonl(results_path, RunResult):
        found = samples.find(result.sample_id)
        if found is None:
            raise ArtifactError(f"{results_path}: result for sample {result.sample_id!r}, not in the dataset")
        ordinal, sample = found
        if not seen.add(ordinal, result.repeat):
            # Counting it twice would silently skew every mean.
            raise ArtifactError(
                f"{results_path}: sample {result.sample_id!r} repeat {result.repeat} appears twice"
            )
        records = [score_one(key, metric, sample, result) for key, metric in metrics.items()]
        writer.write_many(records)  # one flush per result, not per score
        tally.add(result, records)
    return tally


def score_one(key: str, metric: Metric, sample: DatasetSample, result: RunResult) -> ScoreRecord:
    """Score one result; a failed call scores 0 so errors count against every metric."""
    if result.error is not None:
        return ScoreRecord(
            sample_id=sample.id,
            repeat=result.repeat,
            metric=key,
            score=0.0,
            passed=False,
            detail={"error": result.error.type},
        )
    try:
        got = metric.score(sample, result)
    except (LmEvalError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # a plugin's bug (even sys.exit()): say which metric and sample
        raise PluginError(
            f"metric {key!r} failed on sample {sample.id!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return ScoreRecord(
        sample_id=sample.id,
        repeat=result.repeat,
        metric=key,
        score=got.score,
        passed=got.passed,
        detail=got.detail or None,
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while scoring.

    Scoring allocates a few short-lived objects per result, and on 100,000 results the
    collector's frequent passes add up for nothing: nothing here builds reference cycles, and
    reference counting frees everything at once; cycles made meanwhile are collected after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- summary


def summarize_metrics(
    config: PipelineConfig,
    metrics: dict[str, Metric],
    scores: Mapping[str, Sequence[float]],
    score_records: Callable[[], Iterable[ScoreRecord]] | None = None,
) -> dict[str, MetricSummary]:
    """Mean, spread and 95% interval per metric, in config order (plus pass@k with repeats).

    ``score_records`` re-reads every score record; it is needed only when samples ran more
    than once (pass@k groups scores by sample).
    """
    out = {}
    for metric_config in config.evaluator.metrics:
        key, metric = metric_config.key, metrics[metric_config.key]
        binary = metric.is_binary()
        stats = summarize(scores[key], binary=binary, bounds=metric.score_range, seed=config.seed)
        extra = {}
        if score_records is not None:
            records = (record for record in score_records() if record.metric == key)
            extra = repeat_figures(key, records, binary=binary)
        out[key] = MetricSummary(
            name=key,
            type=metric_config.type,
            mean=stats.mean,
            ci_low=stats.ci_low,
            ci_high=stats.ci_high,
            n=stats.n,
            std=stats.std,
            ci_method=stats.ci_method,
            **extra,
        )
    return out


def _summary(
    config: PipelineConfig,
    run_id: str,
    tally: RunTally,
    metrics: dict[str, MetricSummary],
    n_samples: int,
    model: str | None,
    stopped: str | None = None,
) -> Summary:
    n_results = tally.n_results
    error_rate = tally.n_errors / n_results if n_results else 0.0
    latency = _latency(tally.latencies)
    figures = RunFigures(
        n_results=n_results,
        n_errors=tally.n_errors,
        error_rate=error_rate,
        cost_usd=tally.calls.cost_usd,
        latency_p95_ms=latency.p95,
        model=model,
        n_usage_unknown=tally.calls.n_usage_unknown,
        first_error=tally.first_error,
    )
    outcomes = check_gates(config.evaluator, metrics, figures) or [ran_without_errors(figures)]
    return Summary(
        pipeline=config.name,
        run_id=run_id,
        passed=all_passed(outcomes) and stopped is None,
        metrics=metrics,
        thresholds=outcomes,
        n_samples=n_samples,
        n_results=n_results,
        n_errors=tally.n_errors,
        error_rate=error_rate,
        usage=tally.calls.usage,
        cost_usd=tally.calls.cost_usd,
        latency_ms=latency,
        n_cached=tally.calls.n_cached,
        cost_spent_usd=tally.calls.cost_spent_usd,
        cost_replayed_usd=tally.calls.cost_replayed_usd,
        n_usage_unknown=tally.calls.n_usage_unknown,
        stopped=stopped,
    )


def ran_without_errors(run: RunFigures) -> ThresholdOutcome:
    """The one gate of a pipeline that declares none: it ran, and every call succeeded.

    The same rule for the CLI, Python and pytest (whose item of that name reports it), so a run
    in which every call failed can never print PASSED.
    """
    outcome = ThresholdOutcome(
        name=NO_GATE, kind="limit", target="error_rate", max=0.0, value=run.error_rate, passed=True
    )
    if not run.n_results:
        return outcome.model_copy(
            update={"value": None, "passed": False, "status": "failed", "reason": "no results"}
        )
    if run.n_errors:
        reason = f"{run.failed_calls()} (without gates, every call must succeed)"
        return outcome.model_copy(update={"passed": False, "status": "failed", "reason": reason})
    return outcome


def stopped_reason(manifest: RunManifest | None, n_results: int, n_planned: int) -> str | None:
    """Why the run holds fewer results than it planned, if the runner stopped it early.

    A run stopped by ``runner.max_cost_usd`` never passes: its gates judge only the samples that
    were asked before the money ran out.
    """
    if manifest is not None and manifest.merge is not None and manifest.merge.partial:
        return manifest.merge.partial  # a merge of only some shards (--allow-partial)
    if manifest is None or manifest.status != "budget_exhausted":
        return None
    limit = manifest.config.get("runner", {}).get("max_cost_usd")
    return (
        f"stopped early by the budget runner.max_cost_usd={limit}: {n_results} of {n_planned} "
        "planned results; raise the budget or resume the run to finish it"
    )


def _latency(values: Sequence[float]) -> LatencySummary:
    if not values:
        return LatencySummary()
    p50, p95 = percentiles(values, [50, 95])
    return LatencySummary(mean=mean(values), p50=p50, p95=p95, max=max(values))


# --------------------------------------------------------------------------- outputs


def write_reports(formats: list[str], data: ReportData, run: RunDir) -> list[Path]:
    """Write one report per format through the ``reporters`` registry; returns the paths."""
    paths = []
    for fmt in formats:
        found = registry.get("reporters", fmt)
        reporter = found() if isinstance(found, type) else found
        if not isinstance(reporter, Reporter):
            raise PluginError(f"reporter {fmt!r} is not a Reporter (got {type(reporter).__name__})")
        path = run.report(fmt, reporter.suffix)
        reporter.write(data, path)
        paths.append(path)
    return paths


def _context(config: PipelineConfig, model: str | None) -> dict[str, Any]:
    """What reports show about the run when the run directory has no manifest."""
    return {"pipeline": config.name, "backend": config.runner.backend, "model": model}


def _finish_manifest(run: RunDir, manifest: RunManifest, started_at: str, seconds: float) -> None:
    timing = StageTiming(started_at=started_at, finished_at=iso_now(), seconds=round(seconds, 3))
    updated = manifest.model_copy(
        # A run the runner stopped early (budget_exhausted) keeps saying so once scored.
        update={
            "timings": {**manifest.timings, "evaluate": timing},
            "status": manifest.status if manifest.status == "budget_exhausted" else "completed",
        }
    )
    atomic_write_json(run.manifest, updated)
