"""``llm_judge``: a model grades each output against a rubric.

The judge is any backend in the registry (``openai``, ``llamacpp``, ``python`` or a plugin's),
configured exactly like ``runner`` under the metric's ``judge`` key, and called through the
same model layer as the runner (``lm_eval_so._internal.models``): the same typed lookup, the same call
path with its deadline, retries, backoff and ``Retry-After``, the same usage reader and cost
function. All results are graded up front (:meth:`LlmJudge.prepare`), at most
``judge.concurrency`` calls at a time. Judge calls are counted apart from the run's own tokens
and cost.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...common.config import RunnerConfig
from ...common.errors import PluginError
from ...common.records import DatasetSample, Message, RunResult
from ...common.redact import Redactor, environment_secrets
from ...models.base import Backend, BackendContext, Completion, Request
from ...models.call import CallPolicy, call_model
from ...models.lookup import backend_class_for, get_backend
from ...models.pricing import add_cost, cost_for
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

    @field_validator("prompt")
    @classmethod
    def _known_placeholders(cls, prompt: str) -> str:
        # Rendered with str.format_map for every result: a bad template must fail at load, not
        # after the model under test answered every sample.
        sample = {name: "x" for name in ("rubric", "input", "expected", "output")}
        try:
            prompt.format_map({**sample, "min_score": 1, "max_score": 5})
        except KeyError as exc:
            raise ValueError(
                f"unknown placeholder {{{exc.args[0]}}}; the prompt may use {{rubric}}, {{input}}, "
                "{expected}, {output}, {min_score} and {max_score} (write {{ and }} for literal braces)"
            ) from None
        except (IndexError, ValueError, AttributeError, TypeError) as exc:
            raise ValueError(
                f"not a valid template: {exc} (write {{{{ and }}}} for literal braces)"
            ) from None
        return prompt

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


class LlmJudge(Metric):
    """The judge's grade, scaled to 0..1; passes at ``pass_score`` when that is set."""

    name: ClassVar[str] = "llm_judge"
    Options = JudgeOptions
    options: JudgeOptions
    binary: ClassVar[bool] = False
    requires_expected: ClassVar[bool] = False

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._backend: Backend | None = None
        self._loop: LoopThread | None = None
        self._usage = MetricUsage()
        self._rng = random.Random(0)  # retry jitter only
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

    def _request(self, backend: Backend, sample: DatasetSample, result: RunResult) -> Request:
        text = self.render(sample, result)
        return Request(
            sample=DatasetSample(
                id=f"judge:{sample.id}", input=text, messages=[Message(role="user", content=text)]
            ),
            repeat=result.repeat,
            mode=backend.mode,
            params=self.options.judge.params.to_request(),
        )

    async def _complete_all(
        self, backend: Backend, pairs: Sequence[tuple[DatasetSample, RunResult]]
    ) -> list[Completion]:
        limit = asyncio.Semaphore(min(self.options.judge.concurrency, backend.max_concurrency or 4096))

        async def one(sample: DatasetSample, result: RunResult) -> Completion:
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

    def preflight(self) -> None:
        """The judge's backend is usable (key, extra, function) before any model is called."""
        config = self.options.judge
        cls = backend_class_for(config)
        cls.check(config, BackendContext(base_dir=self.context.base_dir, seed=self.context.seed))

    def _start(self) -> Backend:
        config = self.options.judge
        backend = get_backend(config, self.context.base_dir, self.context.seed)
        self._loop = LoopThread()
        self._loop.run(backend.start())
        self._backend = backend
        return backend

    async def _complete(self, backend: Backend, request: Request) -> Completion:
        """One grade through the runner's call path: same deadline, retries and Retry-After."""
        config = self.options.judge
        timeout = None if backend.enforces_timeout else config.timeout_s
        policy = CallPolicy(max_retries=config.max_retries, timeout_s=timeout)
        outcome = await call_model(backend, request, policy, self._rng)
        if outcome.completion is None:
            last = outcome.error
            # The server's message may quote the judge's key back: never print it.
            cause = Redactor(environment_secrets([config.api_key_env])).text(f"{type(last).__name__}: {last}")
            raise PluginError(
                f"llm_judge: grading sample {request.sample.id.removeprefix('judge:')!r} "
                f"(repeat {request.repeat}): the judge ({config.backend} {config.model or ''}) "
                f"failed after {outcome.attempts} attempts: {cause}"
            )
        return outcome.completion

    def _count(self, completion: Completion) -> None:
        assert self._backend is not None
        usage = completion.usage
        self._usage.calls += 1
        if usage is not None:
            self._usage.prompt_tokens += usage.prompt_tokens
            self._usage.completion_tokens += usage.completion_tokens
        # The runner's one cost function: judge.pricing, else free for local, else the table.
        cost = cost_for(self.options.judge, usage, self._backend, model=completion.model)
        self._usage.cost_usd = add_cost(self._usage.cost_usd, cost)

    def close(self) -> None:
        if self._loop is not None:
            if self._backend is not None:
                self._loop.run(self._backend.aclose())
            self._loop.close()
        self._backend = self._loop = None
