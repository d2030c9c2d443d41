"""Conformance checks a plugin author calls from the plugin's own tests.

Each ``check_*`` exercises one contract the way lm-eval-so itself will: it validates the
options model, builds the object as the pipeline does, calls it, and validates what comes
back against the record models. It raises :class:`ConformanceError` (an ``AssertionError``,
so pytest shows it as a failed assertion) naming the plugin and the broken rule, and returns
what the plugin produced so the test can assert on values too::

    from lm_eval_so.plugins.testing import check_metric, sample

    def test_max_words_follows_the_contract():
        scores = check_metric(MaxWords, [(sample("q"), "one two")], options={"max": 3})
        assert scores[0].passed is True
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .._internal.common.config import RunnerConfig
from .._internal.common.errors import ConformanceError, LmEvalError
from .._internal.common.records import (
    DatasetSample,
    LatencySummary,
    Message,
    MetricSummary,
    RunResult,
    ScoreRecord,
    Summary,
    Usage,
)
from .._internal.common.registry import Kind, Registry
from .._internal.evaluator.metrics.base import Metric, MetricScore
from .._internal.evaluator.reports.base import ReportData, Reporter, SampleRow, SampleRows
from .._internal.generator.sources import Source, SourceRow
from .._internal.models.base import Backend, BackendContext, Completion, Request


def _require(condition: bool, plugin: object, rule: str) -> None:
    # Explicit raise, not ``assert``: the checks must hold under ``python -O`` too.
    if not condition:
        raise ConformanceError(f"{getattr(plugin, '__name__', plugin)}: {rule}")


def sample(
    input: str, expected: str | list[str] | None = None, *, id: str = "s1", system: str | None = None
) -> DatasetSample:
    """A dataset sample as the generator would build it (chat messages included)."""
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=input))
    return DatasetSample(id=id, input=input, expected=expected, messages=messages)


def _options(cls: type[Any], options: Mapping[str, Any] | None) -> BaseModel:
    model = getattr(cls, "Options", None)
    _require(
        isinstance(model, type) and issubclass(model, BaseModel),
        cls,
        "`Options` must be a pydantic BaseModel subclass (the options users write in YAML)",
    )
    try:
        validated: BaseModel = model.model_validate(dict(options or {}))  # type: ignore[union-attr]
        return validated
    except ValidationError as exc:
        raise ConformanceError(f"{cls.__name__}: options {dict(options or {})} rejected: {exc}") from None


def check_registered(kind: Kind, name: str, obj: object) -> None:
    """The installed entry point ``name`` in group ``lm_eval_so.<kind>`` resolves to ``obj``."""
    fresh = Registry()  # not the process-wide one: it may have been scanned before the install
    try:
        found = fresh.get(kind, name)
    except LmEvalError as exc:
        raise ConformanceError(f"entry point lm_eval_so.{kind}:{name}: {exc}") from None
    _require(found is obj, obj, f"entry point lm_eval_so.{kind}:{name} resolves to {found!r}")


# --------------------------------------------------------------------------- backends


def check_backend(
    cls: type[Backend],
    samples: Sequence[DatasetSample] = (),
    *,
    model: str | None = None,
    mode: str | None = None,
    options: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    registered: bool = True,
) -> list[Completion]:
    """Build ``cls`` as the runner does, answer ``samples``, and return the completions."""
    _require(isinstance(cls, type) and issubclass(cls, Backend), cls, "must subclass lm_eval_so Backend")
    name = getattr(cls, "name", None)
    _require(isinstance(name, str) and bool(name), cls, "must set a non-empty class attribute `name`")
    _require(cls.default_mode in ("chat", "completion"), cls, "`default_mode` must be chat or completion")
    _options(cls, options)
    config = RunnerConfig.model_validate(
        {"backend": name, "model": model, "mode": mode, "options": dict(options or {}), "api_key_env": None}
    )
    context = BackendContext(base_dir=Path.cwd(), seed=0)
    cls.check(config, context)
    backend = cls(config, context)
    requests = [Request(s, 0, backend.mode, dict(params or {})) for s in samples or [sample("hello")]]
    completions = asyncio.run(_complete_all(backend, requests))
    for completion in completions:
        _check_completion(cls, completion)
    described = backend.describe()
    _require(isinstance(described, dict), cls, "describe() must return a dict for the run manifest")
    json.dumps(described)  # the manifest is JSON: a TypeError here names the bad value
    if registered:
        check_registered("backends", str(name), cls)
    return completions


async def _complete_all(backend: Backend, requests: list[Request]) -> list[Completion]:
    await backend.start()
    try:
        _check_identity(type(backend), backend.identity())
        return [await backend.complete(request) for request in requests]
    finally:
        await backend.aclose()


def _check_identity(cls: type[Backend], identity: object) -> None:
    """The cache key's part from the backend: a JSON-serialisable dict naming backend and model."""
    _require(isinstance(identity, dict), cls, "identity() must return a dict (it is part of the cache key)")
    assert isinstance(identity, dict)  # for the type checker
    _require(
        identity.get("backend") == cls.name,
        cls,
        "identity() must keep the base identity (call super().identity() and add to it)",
    )
    try:
        json.dumps(identity, sort_keys=True)
    except (TypeError, ValueError) as exc:
        _require(False, cls, f"identity() must be JSON-serialisable ({exc})")


def _check_completion(cls: type[Backend], completion: object) -> None:
    _require(isinstance(completion, Completion), cls, f"complete() returned {completion!r}, not a Completion")
    assert isinstance(completion, Completion)  # for the type checker
    _require(
        isinstance(completion.text, str), cls, f"Completion.text must be a str (got {completion.text!r})"
    )
    usage = completion.usage
    _require(usage is None or isinstance(usage, Usage), cls, "Completion.usage must be a Usage or None")
    if usage is not None:
        counts = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        _require(min(counts) >= 0, cls, f"token counts must not be negative (got {usage})")
    _require(completion.attempts >= 1, cls, "Completion.attempts must be at least 1")


# --------------------------------------------------------------------------- metrics


def check_metric(
    cls: type[Metric],
    cases: Sequence[tuple[DatasetSample, str]],
    *,
    options: Mapping[str, Any] | None = None,
    registered: bool = True,
) -> list[MetricScore]:
    """Score each ``(sample, output)`` as the evaluator does; return the scores."""
    _require(isinstance(cls, type) and issubclass(cls, Metric), cls, "must subclass lm_eval_so Metric")
    name = getattr(cls, "name", None)
    _require(isinstance(name, str) and bool(name), cls, "must set a non-empty class attribute `name`")
    _require(bool(cases), cls, "give at least one (sample, output) case to score")
    metric = cls(_options(cls, options))
    scores = []
    for case_sample, output in cases:
        result = RunResult(sample_id=case_sample.id, output=output, model="conformance")
        scored = metric.score(case_sample, result)
        _check_score(cls, scored)
        # What the evaluator writes to scores.jsonl must validate (detail must be JSON data).
        record = ScoreRecord(
            sample_id=case_sample.id,
            metric=str(name),
            score=scored.score,
            passed=scored.passed,
            detail=scored.detail,
        )
        json.dumps(record.model_dump(mode="json"))
        scores.append(scored)
    if registered:
        check_registered("metrics", str(name), cls)
    return scores


def _check_score(cls: type[Metric], scored: object) -> None:
    _require(isinstance(scored, MetricScore), cls, f"score() returned {scored!r}, not a MetricScore")
    assert isinstance(scored, MetricScore)
    value = scored.score
    _require(
        isinstance(value, (int, float)) and math.isfinite(value), cls, f"score must be finite (got {value!r})"
    )
    low_high = cls.score_range
    if low_high is not None:
        low, high = low_high
        _require(low <= value <= high, cls, f"score {value} is outside score_range [{low}, {high}]")
    if cls.binary:
        _require(isinstance(scored.passed, bool), cls, "a binary metric must set passed to True or False")
        _require(value == float(bool(scored.passed)), cls, "a binary metric scores 1.0 when passed, else 0.0")
    _require(isinstance(scored.detail, dict), cls, "MetricScore.detail must be a dict")


# --------------------------------------------------------------------------- reporters


def check_reporter(cls: type[Reporter], directory: Path) -> Path:
    """Write a report of a small two-sample evaluation into ``directory``; return its path."""
    _require(isinstance(cls, type) and issubclass(cls, Reporter), cls, "must subclass lm_eval_so Reporter")
    fmt, suffix = getattr(cls, "format", None), getattr(cls, "suffix", None)
    _require(isinstance(fmt, str) and bool(fmt), cls, "must set a non-empty class attribute `format`")
    _require(
        isinstance(suffix, str) and bool(suffix) and not suffix.startswith("."),
        cls,
        "`suffix` must be the file extension without its dot (`html` writes report.html)",
    )
    folder = Path(directory) / f"conformance-{fmt}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report.{suffix}"
    cls().write(_report_data(), path)
    _require(path.is_file() and path.stat().st_size > 0, cls, f"write() left no report at {path}")
    others = sorted(p.name for p in folder.iterdir() if p != path)
    _require(not others, cls, f"write() left other files behind: {others}")
    check_registered("reporters", str(fmt), cls)
    return path


class _RereadRows(SampleRows):
    """Rows made afresh on every pass, as the evaluator's rows are read again from disk.

    No list and no indexing: a reporter that needs either breaks here, not on a big run.
    """

    def __iter__(self) -> Iterator[SampleRow]:
        good, bad = sample("2+2?", "4", id="ok"), sample("capital of France?", "Paris", id="bad")
        yield SampleRow(good, RunResult(sample_id="ok", output="4"), {"exact_match": _score("ok", 1.0)})
        yield SampleRow(bad, RunResult(sample_id="bad", output="Lyon"), {"exact_match": _score("bad", 0.0)})

    def __len__(self) -> int:
        return 2


def _report_data() -> ReportData:
    stats = MetricSummary(
        name="exact_match",
        type="exact_match",
        mean=0.5,
        ci_low=0.09,
        ci_high=0.91,
        n=2,
        std=0.5,
        ci_method="wilson",
    )
    summary = Summary(
        pipeline="conformance",
        run_id="20260101T000000Z-conformance-000000",
        passed=True,
        metrics={"exact_match": stats},
        thresholds=[],
        n_samples=2,
        n_results=2,
        n_errors=0,
        error_rate=0.0,
        usage=Usage(),
        cost_usd=0.0,
        latency_ms=LatencySummary(),
    )
    manifest = {"pipeline": "conformance", "backend": "python"}
    return ReportData(summary=summary, rows=_RereadRows(), manifest=manifest)


def _score(sample_id: str, value: float) -> ScoreRecord:
    return ScoreRecord(sample_id=sample_id, metric="exact_match", score=value, passed=value == 1.0)


# --------------------------------------------------------------------------- sources


def check_source(cls: type[Source], path: Path) -> list[SourceRow]:
    """Read ``path`` (a small file in the plugin's format) as the generator does; return the rows."""
    _require(isinstance(cls, type) and issubclass(cls, Source), cls, "must subclass lm_eval_so Source")
    fmt = getattr(cls, "format", None)
    _require(isinstance(fmt, str) and bool(fmt), cls, "must set a non-empty class attribute `format`")
    for suffix in cls.suffixes:
        _require(
            suffix.startswith(".") and suffix == suffix.lower(), cls, f"suffix {suffix!r}: lower case, dot"
        )
    rows = list(cls().read(Path(path)))
    _require(bool(rows), cls, f"read({path}) yielded no rows")
    for row in rows:
        _require(isinstance(row, SourceRow), cls, f"read() yielded {row!r}, not a SourceRow")
        _require(isinstance(row.values, dict) and isinstance(row.location, str), cls, "bad SourceRow fields")
    missing = Path(path).with_name(f"missing-{Path(path).name}")
    try:
        list(cls().read(missing))
    except LmEvalError:
        pass
    except Exception as exc:
        raise ConformanceError(
            f"{cls.__name__}: a missing file must raise DatasetError, not {type(exc).__name__} "
            "(read_text() from lm_eval_so.plugins does this)"
        ) from None
    else:
        raise ConformanceError(f"{cls.__name__}: reading a missing file raised nothing")
    check_registered("sources", str(fmt), cls)
    return rows


__all__ = [
    "ConformanceError",
    "check_backend",
    "check_metric",
    "check_registered",
    "check_reporter",
    "check_source",
    "sample",
]
