"""``llm_judge``: a model grades each output against a rubric.

The judge is any backend in the registry (``openai``, ``llamacpp``, ``python`` or a plugin's),
configured exactly like ``runner`` under the metric's ``judge`` key. The evaluator never
imports the runner: it takes the backend class from the registry and speaks its contract
(``start``/``complete``/``aclose`` with a request carrying ``sample``, ``repeat``, ``mode``
and ``params``). All results are graded up front (:meth:`LlmJudge.prepare`), at most
``judge.concurrency`` calls at a time. Judge calls are counted apart from the run's own tokens
and cost.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...common.config import RunnerConfig
from ...common.errors import LmEvalError, PluginError
from ...common.records import DatasetSample, Message, RunResult
from ...common.registry import registry
from .base import Metric, MetricScore, MetricUsage
from .loop import LoopThread

DEFAULT_PROMPT = """\
You are grading an answer. Apply the rubric strictly.

Rubric: {rubric}

Question:
{input}

Reference answer (may be empty):
{expected}

Answer to grade:
{output}

Reply with one line of reasoning, then a final line "SCORE: N" where N is an integer from \
{min_score} to {max_score}."""

_SCORE = re.compile(r"SCORE\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_ANY_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class JudgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rubric: str = Field(description="What a good answer is; shown to the judge.")
    judge: RunnerConfig = Field(description="The judge's backend, model and params, as in `runner`.")
    prompt: str = Field(
        DEFAULT_PROMPT,
        description="Template with {rubric} {input} {expected} {output} {min_score} {max_score}.",
    )
    min_score: int = Field(1, description="Lowest grade the judge may give.")
    max_score: int = Field(5, description="Highest grade the judge may give.")
    pass_score: float | None = Field(
        None, allow_inf_nan=False, description="Grade at or above which a sample passes."
    )

    @model_validator(mode="after")
    def _scale(self) -> JudgeOptions:
        if self.min_score >= self.max_score:
            raise ValueError(f"min_score ({self.min_score}) must be below max_score ({self.max_score})")
        # A pass_score off the scale passes every grade (below it) or none (above it).
        if self.pass_score is not None and not self.min_score <= self.pass_score <= self.max_score:
            raise ValueError(
                f"pass_score ({self.pass_score:g}) must be on the judge's scale, "
                f"{self.min_score} to {self.max_score}"
            )
        return self


@dataclass(frozen=True)
class JudgeRequest:
    """Structurally the runner's ``Request``: what every backend's ``complete`` reads."""

    sample: DatasetSample
    repeat: int
    mode: str
    params: dict[str, Any]

    @property
    def messages(self) -> list[Message]:
        return self.sample.messages

    @property
    def prompt(self) -> str:
        return self.sample.prompt_text()


@dataclass(frozen=True)
class JudgeContext:
    """Structurally the runner's ``BackendContext``."""

    base_dir: Path
    seed: int


class LlmJudge(Metric):
    """The judge's grade, scaled to 0..1; passes at ``pass_score`` when that is set."""

    name: ClassVar[str] = "llm_judge"
    Options = JudgeOptions
    options: JudgeOptions
    binary: ClassVar[bool] = False
    requires_expected: ClassVar[bool] = False

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._backend: Any = None
        self._loop: LoopThread | None = None
        self._usage = MetricUsage()
        self._is_local = False
        # Replies fetched ahead by prepare(), by (sample id, repeat); score() consumes them.
        self._replies: dict[tuple[str, int], Any] = {}

    def usage(self) -> MetricUsage:
        return self._usage

    def prepare(self, pairs: Sequence[tuple[DatasetSample, RunResult]]) -> None:
        """Grade every result up front, ``judge.concurrency`` calls at a time."""
        backend = self._backend or self._start()
        assert self._loop is not None
        replies = self._loop.run(self._complete_all(backend, pairs))
        for (sample, result), completion in zip(pairs, replies, strict=True):
            self._replies[(sample.id, result.repeat)] = completion

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        completion = self._replies.pop((sample.id, result.repeat), None)
        if completion is None:  # not prepared (a direct call): ask now
            backend = self._backend or self._start()
            assert self._loop is not None
            completion = self._loop.run(self._complete(backend, self._request(backend, sample, result)))
        self._count(completion)
        return self.grade(completion.text)

    def _request(self, backend: Any, sample: DatasetSample, result: RunResult) -> JudgeRequest:
        text = self.render(sample, result)
        return JudgeRequest(
            sample=DatasetSample(
                id=f"judge:{sample.id}", input=text, messages=[Message(role="user", content=text)]
            ),
            repeat=result.repeat,
            mode=backend.mode,
            params=self.options.judge.params.to_request(),
        )

    async def _complete_all(
        self, backend: Any, pairs: Sequence[tuple[DatasetSample, RunResult]]
    ) -> list[Any]:
        limit = asyncio.Semaphore(
            min(self.options.judge.concurrency, getattr(backend, "max_concurrency", None) or 4096)
        )

        async def one(sample: DatasetSample, result: RunResult) -> Any:
            async with limit:
                return await self._complete(backend, self._request(backend, sample, result))

        return list(await asyncio.gather(*(one(s, r) for s, r in pairs)))

    def render(self, sample: DatasetSample, result: RunResult) -> str:
        o = self.options
        values = {
            "rubric": o.rubric,
            "input": sample.input,
            "expected": "\n".join(sample.expected_list()),
            "output": result.output or "",
            "min_score": o.min_score,
            "max_score": o.max_score,
        }
        return o.prompt.format_map(values)

    def grade(self, reply: str) -> MetricScore:
        """Read ``SCORE: N`` (else the last number) and scale it onto 0..1."""
        o = self.options
        found = _SCORE.findall(reply) or _ANY_NUMBER.findall(reply)
        if not found:
            return MetricScore(0.0, False if o.pass_score is not None else None, {"judge": reply[-300:]})
        raw = min(o.max_score, max(o.min_score, float(found[-1])))
        scaled = (raw - o.min_score) / (o.max_score - o.min_score)
        passed = None if o.pass_score is None else raw >= o.pass_score
        return MetricScore(scaled, passed, {"grade": raw, "judge": reply[-300:]})

    # ------------------------------------------------------------------ backend

    def _start(self) -> Any:
        config = self.options.judge
        found = registry.get("backends", config.backend)
        if not (isinstance(found, type) and hasattr(found, "complete")):
            raise PluginError(f"llm_judge: backend {config.backend!r} is not a backend class")
        cls: Any = found  # the runner's Backend contract, known here only by its shape
        context = JudgeContext(base_dir=self.context.base_dir, seed=self.context.seed)
        cls.check(config, context)
        backend = cls(config, context)
        self._loop = LoopThread()
        self._loop.run(backend.start())
        self._backend, self._is_local = backend, bool(getattr(cls, "is_local", False))
        return backend

    async def _complete(self, backend: Any, request: JudgeRequest) -> Any:
        config, last = self.options.judge, None
        for _ in range(config.max_retries + 1):
            try:
                return await asyncio.wait_for(backend.complete(request), config.timeout_s)
            except LmEvalError:
                raise
            except Exception as exc:  # rate limits, timeouts: retry, then report the last one
                last = exc
        raise PluginError(
            f"llm_judge: the judge ({config.backend} {config.model or ''}) failed after "
            f"{config.max_retries + 1} attempts: {type(last).__name__}: {last}"
        )

    def _count(self, completion: Any) -> None:
        usage, pricing = completion.usage, self.options.judge.pricing
        self._usage.calls += 1
        prompt = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        self._usage.prompt_tokens += prompt
        self._usage.completion_tokens += completion_tokens
        if pricing is not None and self._usage.cost_usd is not None:
            self._usage.cost_usd += (
                prompt * pricing.prompt_per_1m + completion_tokens * pricing.completion_per_1m
            ) / 1e6
        elif not self._is_local:
            self._usage.cost_usd = None  # a priced API without judge.pricing: unknown, not free

    def close(self) -> None:
        if self._loop is not None:
            if self._backend is not None:
                self._loop.run(self._backend.aclose())
            self._loop.close()
        self._backend = self._loop = None
