"""Score a finished run: ``results.jsonl`` -> ``scores.jsonl``, ``summary.json``, ``report.*``.

The evaluator only reads artifacts (the dataset and the run directory), so a run can be
re-scored with other metrics or thresholds at any time; every file it writes is replaced
atomically, never half-written.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.config import PipelineConfig
from ..common.errors import ArtifactError, ConfigError, LmEvalError, PluginError
from ..common.records import (
    DatasetSample,
    LatencySummary,
    MetricSummary,
    RunManifest,
    RunResult,
    ScoreRecord,
    StageTiming,
    Summary,
    Usage,
)
from ..common.registry import registry
from ..common.workspace import (
    JsonlWriter,
    RunDir,
    atomic_write_json,
    iso_now,
    iter_jsonl,
    read_model,
)
from .metrics import Metric, MetricContext, build_metric
from .repeats import repeat_figures, with_judge_usage
from .reports.base import ReportData, Reporter, SampleRow
from .stats import mean, percentiles, summarize
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
    started_at, clock = iso_now(), time.perf_counter()
    if not run.path.is_dir():
        raise ArtifactError(f"{run.path}: no such run directory")
    metric_context = MetricContext(base_dir=config.base_dir, seed=config.seed)
    metrics = {m.key: build_metric(m, metric_context) for m in config.evaluator.metrics}
    try:
        samples = load_samples(dataset_path)
        check_expected(metrics, samples, dataset_path)
        with _atomic_jsonl(run.scores) as writer:
            prepare_metrics(run.results, samples, metrics)
            scored = _score_run(run.results, samples, metrics, writer)
    finally:
        for metric in metrics.values():
            metric.close()
    manifest = read_model(run.manifest, RunManifest) if run.manifest.exists() else None

    model = config.runner.model or (manifest.model if manifest else None) or scored.first_model
    per_metric = summarize_metrics(config, metrics, scored.scores, scored.rows)
    summary = _summary(config, run_id, scored, per_metric, len(samples), model)
    summary = with_judge_usage(summary, [m.usage() for m in metrics.values()])
    atomic_write_json(run.summary, summary)

    context = manifest.model_dump(mode="json") if manifest else _context(config, model)
    write_reports(config.evaluator.report.formats, ReportData(summary, scored.rows, context), run)
    if manifest is not None:
        _finish_manifest(run, manifest, started_at, time.perf_counter() - clock)
    return summary


# --------------------------------------------------------------------------- inputs


def load_samples(dataset_path: Path) -> dict[str, DatasetSample]:
    samples: dict[str, DatasetSample] = {}
    for sample in iter_jsonl(dataset_path, DatasetSample):
        if sample.id in samples:
            raise ArtifactError(f"{dataset_path}: sample id {sample.id!r} appears twice")
        samples[sample.id] = sample
    return samples


def check_expected(metrics: dict[str, Metric], samples: dict[str, DatasetSample], dataset_path: Path) -> None:
    """Fail once, before scoring, if a metric needs expected answers some samples lack."""
    needing = [key for key, metric in metrics.items() if metric.needs_expected]
    if not needing:
        return
    missing = [sample_id for sample_id, sample in samples.items() if not sample.expected_list()]
    if missing:
        key = needing[0]
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConfigError(
            f"metric {key!r} needs an expected answer, but sample {missing[0]!r}{others} "
            f"in {dataset_path} has none; map a column with generator.fields.expected "
            "or use a metric that needs no reference"
        )


# --------------------------------------------------------------------------- scoring


@dataclass
class _Scored:
    """Everything one pass over ``results.jsonl`` collects."""

    rows: list[SampleRow] = field(default_factory=list)
    scores: dict[str, list[float]] = field(default_factory=dict)
    # Plain ints: adding 100,000 Usage models would validate 100,000 new ones.
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = 0.0
    latencies: list[float] = field(default_factory=list)  # successful calls only
    n_errors: int = 0
    first_model: str | None = None

    def add_result(self, result: RunResult) -> None:
        self.prompt_tokens += result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens
        self.total_tokens += result.usage.total_tokens
        if result.cost_usd is None or self.cost_usd is None:
            self.cost_usd = None  # one unpriced call makes the total unknown, not smaller
        else:
            self.cost_usd += result.cost_usd
        if result.error is not None:
            self.n_errors += 1
        else:
            self.latencies.append(result.latency_ms)
        self.first_model = self.first_model or result.model

    @property
    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
        )


def prepare_metrics(
    results_path: Path, samples: dict[str, DatasetSample], metrics: dict[str, Metric]
) -> None:
    """Give metrics that batch (an LLM judge calling a model concurrently) every result first.

    Only then is ``results.jsonl`` read twice; plain metrics keep the single streaming pass.
    """
    batching = [m for m in metrics.values() if type(m).prepare is not Metric.prepare]
    if not batching:
        return
    pairs = [
        (samples[result.sample_id], result)
        for result in iter_jsonl(results_path, RunResult)
        if result.error is None and result.sample_id in samples
    ]
    for metric in batching:
        metric.prepare(pairs)


def _score_run(
    results_path: Path,
    samples: dict[str, DatasetSample],
    metrics: dict[str, Metric],
    writer: JsonlWriter,
) -> _Scored:
    scored = _Scored(scores={key: [] for key in metrics})
    seen: set[tuple[str, int]] = set()
    for result in iter_jsonl(results_path, RunResult):
        sample = samples.get(result.sample_id)
        if sample is None:
            raise ArtifactError(f"{results_path}: result for sample {result.sample_id!r}, not in the dataset")
        if (result.sample_id, result.repeat) in seen:
            # Counting it twice would silently skew every mean.
            raise ArtifactError(
                f"{results_path}: sample {result.sample_id!r} repeat {result.repeat} appears twice"
            )
        seen.add((result.sample_id, result.repeat))
        scored.add_result(result)
        row = SampleRow(sample, result, {})
        for key, metric in metrics.items():
            record = score_one(key, metric, sample, result)
            scored.scores[key].append(record.score)
            row.scores[key] = record
        writer.write_many(row.scores.values())  # one flush per result, not per score
        scored.rows.append(row)
    return scored


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
    except LmEvalError:
        raise
    except Exception as exc:  # a plugin's bug: say which metric and sample, keep the cause
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

    Scoring allocates a few objects per result and keeps every row alive for the reports; on
    100,000 results CPython's collector re-scans that growing heap so often that it more
    than doubles the run time. Nothing here builds reference cycles, and reference counting
    still frees everything else at once; cycles made meanwhile are collected afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _atomic_jsonl(path: Path) -> Iterator[JsonlWriter]:
    """A JsonlWriter on a temporary file that replaces ``path`` only if the block succeeds."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with JsonlWriter(Path(tmp)) as writer:
            yield writer
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# --------------------------------------------------------------------------- summary


def summarize_metrics(
    config: PipelineConfig,
    metrics: dict[str, Metric],
    scores: dict[str, list[float]],
    rows: list[SampleRow] | None = None,
) -> dict[str, MetricSummary]:
    """Mean, spread and 95% interval per metric, in config order (plus pass@k with repeats)."""
    out = {}
    for metric_config in config.evaluator.metrics:
        key, metric = metric_config.key, metrics[metric_config.key]
        binary = metric.is_binary()
        stats = summarize(scores[key], binary=binary, bounds=metric.score_range, seed=config.seed)
        extra = repeat_figures(key, rows, binary=binary) if rows else {}
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
    scored: _Scored,
    metrics: dict[str, MetricSummary],
    n_samples: int,
    model: str | None,
) -> Summary:
    n_results = len(scored.rows)
    error_rate = scored.n_errors / n_results if n_results else 0.0
    latency = _latency(scored.latencies)
    figures = RunFigures(
        n_results=n_results,
        n_errors=scored.n_errors,
        error_rate=error_rate,
        cost_usd=scored.cost_usd,
        latency_p95_ms=latency.p95,
        model=model,
    )
    outcomes = check_gates(config.evaluator, metrics, figures)
    return Summary(
        pipeline=config.name,
        run_id=run_id,
        passed=all_passed(outcomes),
        metrics=metrics,
        thresholds=outcomes,
        n_samples=n_samples,
        n_results=n_results,
        n_errors=scored.n_errors,
        error_rate=error_rate,
        usage=scored.usage,
        cost_usd=scored.cost_usd,
        latency_ms=latency,
    )


def _latency(values: list[float]) -> LatencySummary:
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
