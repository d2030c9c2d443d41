"""The async engine: every (sample, repeat) through one backend, results streamed to disk.

A fixed pool of ``concurrency`` worker tasks pulls jobs from one shared iterator, so memory
stays flat however many samples there are. A failed call becomes a result with an ``error``;
it never stops the run. This path is benchmarked against the bare SDK client: keep per-call
work to the minimum (records are built with ``model_construct``, usage is summed as ints).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..common.config import PipelineConfig
from ..common.records import DatasetSample, ErrorInfo, RunResult, Usage
from ..common.redact import Redactor
from ..common.workspace import JsonlWriter
from .backends.base import Backend, Completion, Request
from .factory import create_backend
from .pricing import cost_for

OnResult = Callable[[RunResult], None]
YIELD_EVERY = 16  # calls per worker between forced trips through the event loop
T = TypeVar("T")


class CallTimeout(TimeoutError):
    """A call outlived ``runner.timeout_s`` (for backends that do not enforce it themselves)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g}s (runner.timeout_s)")


if sys.version_info >= (3, 11):

    async def with_deadline(call: Awaitable[T], seconds: float) -> T:
        # asyncio.timeout costs no extra task per call, unlike wait_for before 3.12.
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await call
        except TimeoutError:
            if deadline.expired():
                raise CallTimeout(seconds) from None
            raise

else:  # pragma: no cover - Python 3.10

    async def with_deadline(call: Awaitable[T], seconds: float) -> T:
        try:
            return await asyncio.wait_for(call, seconds)
        except asyncio.TimeoutError:
            raise CallTimeout(seconds) from None


@dataclass
class RunnerStats:
    """Totals of one runner stage."""

    n_requests: int = 0
    n_errors: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None as soon as one call's cost is unknown
    wall_seconds: float = 0.0
    backend: dict[str, Any] = field(default_factory=dict)


async def run_samples(
    config: PipelineConfig,
    samples: Iterable[DatasetSample],
    results_path: Path,
    *,
    redactor: Redactor | None = None,
    on_result: OnResult | None = None,
) -> RunnerStats:
    """Run every sample ``runner.repeats`` times; append each result to ``results_path``."""
    started = time.perf_counter()
    backend = create_backend(config)
    try:
        await backend.start()
        caller = _Caller(backend, config, redactor or Redactor())
        with JsonlWriter(results_path) as writer:
            tally = _Tally(writer, on_result)
            await _run_pool(_jobs(samples, config.runner.repeats), caller, tally, _workers(config, backend))
        stats = tally.stats()
        stats.backend = backend.describe()
    finally:
        await backend.aclose()
    stats.wall_seconds = time.perf_counter() - started
    return stats


def _jobs(samples: Iterable[DatasetSample], repeats: int) -> Iterator[tuple[DatasetSample, int]]:
    for sample in samples:
        for repeat in range(repeats):
            yield sample, repeat


def _workers(config: PipelineConfig, backend: Backend) -> int:
    limit = backend.max_concurrency
    return config.runner.concurrency if limit is None else max(1, min(config.runner.concurrency, limit))


async def _run_pool(
    jobs: Iterator[tuple[DatasetSample, int]], caller: _Caller, tally: _Tally, n_workers: int
) -> None:
    """``n_workers`` tasks drain ``jobs``; the first unexpected exception cancels the rest."""

    async def worker() -> None:
        # Each next() hands one job to exactly one worker: the event loop runs one at a time.
        for done, (sample, repeat) in enumerate(jobs, start=1):
            tally.add(await caller.call(sample, repeat))
            if done % YIELD_EVERY == 0:
                # A call that never suspends (a cache hit, a trivial async function) would
                # otherwise keep this worker running alone, starving the loop and the others.
                await asyncio.sleep(0)

    tasks = [asyncio.ensure_future(worker()) for _ in range(n_workers)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()  # re-raise, e.g. a corrupt dataset line or a failing on_result


class _Caller:
    """One call: timing, deadline, error capture, cost. Everything here runs per request."""

    def __init__(self, backend: Backend, config: PipelineConfig, redactor: Redactor) -> None:
        self.backend = backend
        self.runner = config.runner
        self.mode = backend.mode
        self.params = config.runner.params.to_request()
        self.timeout = None if backend.enforces_timeout else config.runner.timeout_s
        self.redactor = redactor

    async def call(self, sample: DatasetSample, repeat: int) -> RunResult:
        request = Request(sample, repeat, self.mode, self.params)
        started = time.perf_counter()
        try:
            if self.timeout is None:
                completion = await self.backend.complete(request)
            else:
                completion = await with_deadline(self.backend.complete(request), self.timeout)
        except Exception as exc:  # every failure is a result; the run goes on
            latency_ms = (time.perf_counter() - started) * 1000
            return self._failure(sample, repeat, exc, latency_ms)
        latency_ms = (time.perf_counter() - started) * 1000
        return self._success(sample, repeat, completion, latency_ms)

    def _success(
        self, sample: DatasetSample, repeat: int, completion: Completion, latency_ms: float
    ) -> RunResult:
        usage = completion.usage or Usage.model_construct(
            prompt_tokens=0, completion_tokens=0, total_tokens=0
        )
        text = self.redactor.text(completion.text) if self.redactor else completion.text
        return RunResult.model_construct(
            sample_id=sample.id,
            repeat=repeat,
            output=text,
            error=None,
            latency_ms=round(latency_ms, 3),
            usage=usage,
            cost_usd=cost_for(self.runner, usage, self.backend, model=completion.model),
            cached=False,
            attempts=completion.attempts,
            model=completion.model or self.backend.model_name,
            finish_reason=completion.finish_reason,
        )

    def _failure(self, sample: DatasetSample, repeat: int, exc: Exception, latency_ms: float) -> RunResult:
        usage = Usage.model_construct(prompt_tokens=0, completion_tokens=0, total_tokens=0)
        return RunResult.model_construct(
            sample_id=sample.id,
            repeat=repeat,
            output=None,
            error=self._error_info(exc),
            latency_ms=round(latency_ms, 3),
            usage=usage,
            cost_usd=cost_for(self.runner, usage, self.backend),
            cached=False,
            attempts=_attempts(exc),
            model=self.backend.model_name,
            finish_reason=None,
        )

    def _error_info(self, exc: Exception) -> ErrorInfo:
        kind = "Timeout" if isinstance(exc, CallTimeout) else type(exc).__name__
        message = str(exc) or repr(exc)
        status = getattr(exc, "status_code", None)
        return ErrorInfo.model_construct(
            type=kind,
            # An API error may echo the key back; nothing secret may reach results.jsonl.
            message=self.redactor.text(message),
            status_code=status if isinstance(status, int) else None,
        )


def _attempts(exc: Exception) -> int:
    # A backend whose client retried may say so on the exception (see Backend.complete).
    attempts = getattr(exc, "attempts", 1)
    return attempts if isinstance(attempts, int) and attempts > 0 else 1


class _Tally:
    """Writes each result as it arrives and keeps the running totals."""

    def __init__(self, writer: JsonlWriter, on_result: OnResult | None) -> None:
        self.writer, self.on_result = writer, on_result
        self.n_requests = self.n_errors = 0
        self.prompt_tokens = self.completion_tokens = self.total_tokens = 0
        self.cost: float | None = 0.0

    def add(self, result: RunResult) -> None:
        self.writer.write(result)
        self.n_requests += 1
        self.n_errors += result.error is not None
        usage = result.usage
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens
        if self.cost is not None:
            self.cost = None if result.cost_usd is None else self.cost + result.cost_usd
        if self.on_result is not None:
            self.on_result(result)

    def stats(self) -> RunnerStats:
        usage = Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
        )
        return RunnerStats(self.n_requests, self.n_errors, usage, self.cost)
