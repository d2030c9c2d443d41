"""What every adapter gets back: the plan of a dry run or the outcome of a real one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..common.records import DatasetSample, MetricSummary, RunResult, ScoreRecord, Summary, ThresholdOutcome
from ..common.text import usd
from ..common.workspace import RunDir, iter_jsonl

if TYPE_CHECKING:
    # Only for annotations: a plain pipeline never imports the experiment machinery.
    from ..evaluator.experiment import ExperimentComparison


@dataclass(frozen=True)
class Plan:
    """What a pipeline would do; printed by ``--dry-run``. No model is called to make it."""

    pipeline: str
    config_path: str | None
    workspace: str
    stages: list[str]
    dataset_id: str
    dataset_hash: str
    n_samples: int
    backend: str
    model: str | None
    mode: str | None
    repeats: int
    n_requests: int
    concurrency: int
    credentials: str
    metrics: list[str]
    gates: list[str]
    reports: list[str]
    # Runner estimate (characters/4 per prompt token, max_tokens per answer); None: no price.
    est_prompt_tokens: int = 0
    est_completion_tokens: int = 0
    est_cost_usd: float | None = None
    max_cost_usd: float | None = None
    cache: str = "read_write"  # the response cache mode the run would use
    imports_code: bool = False  # checking the plan imported user code (python backend/metric)

    @property
    def ready(self) -> bool:
        """False when the run could not start as planned (missing key, unimportable function)."""
        return self.credentials == "ok"

    def render(self) -> str:
        rows = [
            ("pipeline", f"{self.pipeline} ({self.config_path or 'in-memory config'})"),
            ("workspace", self.workspace),
            ("stages", " -> ".join(self.stages)),
            ("dataset", f"{self.dataset_id} @ {self.dataset_hash[:12]}: {self.n_samples} samples"),
            (
                "backend",
                f"{self.backend}, model {self.model or '(default)'}, mode {self.mode or '(default)'}",
            ),
            (
                "requests",
                f"{self.n_requests} ({self.n_samples} samples x {self.repeats} repeats), "
                f"concurrency {self.concurrency}",
            ),
            ("estimate", self._estimate()),
            ("cache", self.cache),
            ("credentials", self.credentials),
            ("metrics", ", ".join(self.metrics)),
            ("gates", ", ".join(self.gates) or "none (the run passes if every call succeeds)"),
            ("reports", ", ".join(self.reports)),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)

    def _estimate(self) -> str:
        tokens = self.est_prompt_tokens + self.est_completion_tokens
        cost = usd(self.est_cost_usd, "unknown (no price known)")
        text = (
            f"~{tokens} tokens ({self.est_prompt_tokens} prompt + {self.est_completion_tokens} "
            f"completion), cost {cost}"
        )
        if self.max_cost_usd is not None:
            text += f", budget ${self.max_cost_usd:g}"
        return text


@dataclass
class SampleOutcome:
    """One sample's result with its scores, for failure messages and assertions."""

    sample: DatasetSample
    result: RunResult
    scores: dict[str, ScoreRecord] = field(default_factory=dict)


@dataclass
class PipelineResult:
    """The outcome of :func:`run_pipeline`. A dry run has a ``plan`` and no ``summary``."""

    pipeline: str
    config_hash: str
    dry_run: bool
    plan: Plan | None = None
    run_dir: Path | None = None
    dataset_path: Path | None = None
    summary: Summary | None = None

    @property
    def run_id(self) -> str | None:
        return self.run_dir.name if self.run_dir else None

    @property
    def passed(self) -> bool:
        """True when every threshold and limit held (a dry run passes trivially)."""
        return self.summary.passed if self.summary else self.dry_run

    @property
    def metrics(self) -> dict[str, MetricSummary]:
        return dict(self.summary.metrics) if self.summary else {}

    def metric(self, name: str) -> MetricSummary:
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"no metric {name!r}; this run has {sorted(self.metrics)}") from None

    def report_path(self, suffix: str = "html") -> Path | None:
        if self.run_dir is None:
            return None
        path = RunDir(self.run_dir).path / f"report.{suffix}"
        return path if path.exists() else None

    def samples(self) -> Iterator[SampleOutcome]:
        """Every result joined with its sample and scores (reads the run's artifacts)."""
        if self.run_dir is None or self.dataset_path is None:
            return
        run = RunDir(self.run_dir)
        dataset = {s.id: s for s in iter_jsonl(self.dataset_path, DatasetSample)}
        scores: dict[tuple[str, int], dict[str, ScoreRecord]] = {}
        if run.scores.exists():
            for score in iter_jsonl(run.scores, ScoreRecord):
                scores.setdefault((score.sample_id, score.repeat), {})[score.metric] = score
        for result in iter_jsonl(run.results, RunResult):
            key = (result.sample_id, result.repeat)
            yield SampleOutcome(dataset[result.sample_id], result, scores.get(key, {}))

    def failures(self, metric: str | None = None, limit: int | None = 5) -> list[SampleOutcome]:
        """Samples that errored or failed ``metric`` (any metric when None), in run order."""
        found: list[SampleOutcome] = []
        for outcome in self.samples():
            failed = outcome.result.error is not None or any(
                s.passed is False for name, s in outcome.scores.items() if metric in (None, name)
            )
            if failed:
                found.append(outcome)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def to_dict(self) -> dict[str, Any]:
        """Plain data (only built-in types), e.g. to pass between pytest-xdist workers."""
        return {
            "pipeline": self.pipeline,
            "config_hash": self.config_hash,
            "dry_run": self.dry_run,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "dataset_path": str(self.dataset_path) if self.dataset_path else None,
            "summary": self.summary.model_dump(mode="json") if self.summary else None,
        }


@dataclass
class ExperimentResult:
    """The outcome of a matrix pipeline: each cell's :class:`PipelineResult` and the comparison."""

    name: str
    experiment_id: str | None
    directory: Path | None
    baseline: str
    cells: dict[str, PipelineResult] = field(default_factory=dict)
    comparison: ExperimentComparison | None = None
    gate: ThresholdOutcome | None = None
    plans: dict[str, Plan] = field(default_factory=dict)  # a dry run's plan per cell
    stopped: str | None = None  # why some cells did not run (the budget)

    @property
    def dry_run(self) -> bool:
        return bool(self.plans) and not self.cells

    @property
    def passed(self) -> bool:
        """Every cell's gates held, every cell ran, and the experiment gate (if any) held."""
        if self.dry_run:
            return all(plan.ready for plan in self.plans.values())
        cells_ok = all(result.passed for result in self.cells.values())
        return cells_ok and self.stopped is None and (self.gate is None or self.gate.passed)

    def cell(self, name: str) -> PipelineResult:
        try:
            return self.cells[name]
        except KeyError:
            raise KeyError(f"no cell {name!r}; this experiment ran {sorted(self.cells)}") from None

    def report_path(self, suffix: str = "html") -> Path | None:
        if self.directory is None:
            return None
        path = self.directory / f"report.{suffix}"
        return path if path.exists() else None
