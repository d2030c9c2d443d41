"""One pydantic model per artifact line type, shared by whoever writes and whoever reads it.

dataset.jsonl  -> DatasetSample        results.jsonl -> RunResult
scores.jsonl   -> ScoreRecord          summary.json  -> Summary
manifest.json  -> DatasetManifest / RunManifest
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .text import is_blank

SCHEMA_VERSION = 1


class Record(BaseModel):
    # Artifacts written by a newer minor version may carry fields we do not know: keep reading.
    model_config = ConfigDict(extra="ignore")


class Message(Record):
    role: Literal["system", "user", "assistant"]
    content: str


class DatasetSample(Record):
    """One line of dataset.jsonl.

    Read from a file (JSON), a sample must have what the generator always writes: a visible
    ``id`` and ``input``, at least one message, and a reference that is absent (``null`` or
    ``[]``) or visible text -- so a hand-written dataset.jsonl with ``"expected": " "`` is an
    error naming its file and line when it is read, before any model is called. Samples built
    in code are not refused here; every metric refuses a blank reference it would read
    (:class:`lm_eval_so.plugins.Metric`).
    """

    id: str
    input: str
    expected: str | list[str] | None = None
    messages: list[Message]
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", "input")
    @classmethod
    def _visible(cls, value: str, info: ValidationInfo) -> str:
        if info.mode == "json" and is_blank(value):
            raise PydanticCustomError(
                "blank", "is blank ({value}); it needs visible text", {"value": repr(value)}
            )
        return value

    @field_validator("expected")
    @classmethod
    def _reference(cls, value: str | list[str] | None, info: ValidationInfo) -> str | list[str] | None:
        if info.mode != "json" or value is None:
            return value
        answers = [value] if isinstance(value, str) else value
        for index, answer in enumerate(answers, start=1):
            if is_blank(answer):
                which = f"answer {index} of {len(answers)}" if isinstance(value, list) else "the reference"
                raise PydanticCustomError(
                    "blank_reference",
                    "{which} is blank ({answer}): a reference needs visible text, and `contains` "
                    "would find a blank one in any output; write the answer, or null for no reference",
                    {"which": which, "answer": repr(answer)},
                )
        return value

    @field_validator("messages")
    @classmethod
    def _some_message(cls, value: list[Message], info: ValidationInfo) -> list[Message]:
        if info.mode == "json" and not value:
            raise PydanticCustomError("no_messages", "is empty; a sample needs at least one message", {})
        return value

    def prompt_text(self) -> str:
        """The prompt for completion-mode backends: system preamble, blank line, user text."""
        return "\n\n".join(m.content for m in self.messages if m.content)

    def expected_list(self) -> list[str]:
        if self.expected is None:
            return []
        return [self.expected] if isinstance(self.expected, str) else list(self.expected)


class Usage(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class ErrorInfo(Record):
    type: str  # e.g. "RateLimitError", "Timeout", "ValueError"
    message: str
    status_code: int | None = None


class RunResult(Record):
    sample_id: str
    repeat: int = 0
    output: str | None = None
    error: ErrorInfo | None = None
    #: Milliseconds the call took, retries included. A cached result keeps the latency of the
    #: call that produced it (``cached`` says it was replayed).
    latency_ms: float = 0.0
    usage: Usage | None = Field(default_factory=Usage)  # None: the server reported no usage
    cost_usd: float | None = None  # None: unknown (no price for the model, or no usage)
    cached: bool = False  # replayed from the response cache, not asked now
    attempts: int = 1
    model: str | None = None
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ScoreRecord(Record):
    sample_id: str
    repeat: int = 0
    metric: str
    score: float
    passed: bool | None = None  # None for metrics without a pass/fail notion
    detail: dict[str, Any] | None = None


class MetricSummary(Record):
    name: str
    type: str
    mean: float
    ci_low: float
    ci_high: float
    n: int
    std: float
    ci_method: str
    # With runner.repeats > 1: attempts per sample, unbiased pass@k by k ("1", "5", ...) for
    # pass/fail metrics, and the mean over samples of the variance between their attempts.
    repeats: int | None = None
    pass_at_k: dict[str, float] | None = None
    within_sample_variance: float | None = None


#: The gate of a pipeline that declares none: every call must succeed (CLI, Python and pytest).
NO_GATE = "ran_without_errors"


class ThresholdOutcome(Record):
    """One gate: a metric threshold or a run-level limit, and whether it held."""

    name: str  # e.g. "exact_match>=0.8", "error_rate<=0"
    kind: Literal["metric", "limit"]
    target: str  # metric name or limit name
    min: float | None = None
    max: float | None = None
    value: float | None
    passed: bool
    reason: str | None = None
    # "inconclusive": a confidence gate whose interval straddles the bound; ``passed`` then
    # follows the threshold's ``inconclusive`` setting. Older summaries derive it from passed.
    status: Literal["passed", "failed", "inconclusive"] = "passed"
    gate: Literal["point", "confidence"] = "point"

    @model_validator(mode="before")
    @classmethod
    def _status_from_passed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "status" not in data and "passed" in data:
            return {**data, "status": "passed" if data["passed"] else "failed"}
        return data


class LatencySummary(Record):
    mean: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    max: float = 0.0


class Summary(Record):
    schema_version: int = SCHEMA_VERSION
    pipeline: str
    run_id: str
    passed: bool
    metrics: dict[str, MetricSummary]
    thresholds: list[ThresholdOutcome]
    n_samples: int
    n_results: int
    n_errors: int
    error_rate: float
    usage: Usage  # tokens of the results that reported usage (see n_usage_unknown)
    #: What the run's results cost, in USD: calls made now plus answers replayed from the cache
    #: at the cost they had when they were made. None as soon as one result's cost is unknown.
    cost_usd: float | None
    latency_ms: LatencySummary
    #: Results replayed from the response cache (their latency, usage and cost are those of the
    #: original call); the rest were asked now.
    n_cached: int = 0
    cost_spent_usd: float | None = None  # the part of cost_usd spent by this run's own calls
    cost_replayed_usd: float | None = None  # the part of cost_usd replayed from the cache
    n_usage_unknown: int = 0  # successful results whose server reported no token usage
    #: Why the run ended before every sample was asked (e.g. the budget); such a run never passes.
    stopped: str | None = None
    # Calls made by metrics (llm_judge), kept apart from the model under test's figures.
    judge_calls: int = 0
    judge_usage: Usage | None = None
    judge_cost_usd: float | None = None


class DatasetManifest(Record):
    schema_version: int = SCHEMA_VERSION
    dataset_id: str
    content_hash: str  # sha256 of dataset.jsonl
    n_samples: int
    source: str
    source_sha256: str
    created_at: str
    generator: dict[str, Any]  # the generator config that produced it


class StageTiming(Record):
    started_at: str
    finished_at: str | None = None
    seconds: float | None = None


class ShardInfo(Record):
    """A shard run's membership: shard ``index`` of ``count`` of one shard group."""

    index: int
    count: int
    #: sha256 of config hash + dataset content hash + count (16 hex): what merges together.
    group: str
    #: (sample, repeat) pairs assigned to this shard by the stable hash (repeats included).
    planned: int
    host: str  # the machine that ran it (the last one, if it was resumed elsewhere)
    index_from: str | None = None  # the variable the index was read from (--shard auto)


class MergedShard(Record):
    """One shard as a merged run lists it: where it ran, how long, what it held."""

    index: int
    run_id: str
    path: str
    host: str
    status: str
    n_results: int
    timings: dict[str, StageTiming] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)


class MergeInfo(Record):
    """A merged run's provenance: the shard group and every shard it was built from."""

    group: str
    count: int
    shards: list[MergedShard]
    missing: list[int] = Field(default_factory=list)  # shard indices absent (--allow-partial)
    #: Why the merged run holds fewer results than planned (--allow-partial); it never passes.
    partial: str | None = None


class RunManifest(Record):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    pipeline: str
    config_hash: str
    config: dict[str, Any]  # resolved and redacted
    dataset: dict[str, Any]  # id, content_hash, path, n_samples
    backend: str
    model: str | None
    params: dict[str, Any]
    seed: int
    versions: dict[str, str]
    plugins: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, StageTiming] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    # "interrupted": stopped (Ctrl-C) before the end, resumable; "budget_exhausted": stopped
    # by runner.max_cost_usd, keeping what finished; "unscored": every result is in but the
    # evaluator has not finished (or was killed): --resume scores it; "completed": scored.
    status: Literal["running", "unscored", "completed", "failed", "interrupted", "budget_exhausted"] = (
        "running"
    )
    #: Set on a shard's run (``--shard I/N``): a finished shard stays "unscored", the merge scores.
    shard: ShardInfo | None = None
    #: Set on a run built by ``lm-eval-so merge`` from shard runs.
    merge: MergeInfo | None = None
