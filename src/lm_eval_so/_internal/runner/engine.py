"""The async engine: every (sample, repeat) through one backend, results streamed to disk.

A fixed pool of ``concurrency`` worker tasks pulls jobs from one shared iterator, so memory
stays flat however many samples there are. A failed call becomes a result with an ``error``;
it never stops the run. This path is benchmarked against the bare SDK client: keep per-call
work to the minimum (records are built with ``model_construct``, usage is summed as ints).

Per call, in order: the response cache (a hit never touches the network; a strict-replay miss
stops the run), the budget (reserve the estimated cost, or stop starting calls), the rate
limiter, then up to ``1 + max_retries`` attempts (see retry.py). Everything optional costs
nothing when it is not configured.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..common.cli_support import long_lived_frozen
from ..common.config import PipelineConfig
from ..common.errors import CacheMiss, UnusableAnswer
from ..common.records import DatasetSample, ErrorInfo, RunResult, Usage
from ..common.redact import Redactor
from ..common.shard import Shard
from ..common.workspace import JsonlWriter, iter_jsonl
from ..models.base import Backend, Completion, Request, storable
from ..models.call import CallPolicy, CallTimeout, call_model
from ..models.lookup import create_backend
from ..models.pricing import configured_pricing, cost_for
from ..models.tally import CallTally
from .cache import KeyMaker, ResponseCache, cache_mode
from .limits import Budget, RateLimiter, budget_pricing, completion_budget, estimate_prompt_tokens
from .resume import repair_tail

OnResult = Callable[[RunResult], None]
YIELD_EVERY = 16  # calls per worker between forced trips through the event loop
T = TypeVar("T")


@dataclass
class RunnerStats:
    """Totals of one runner stage."""

    n_requests: int = 0
    n_errors: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None as soon as one call's cost is unknown
    wall_seconds: float = 0.0
    backend: dict[str, Any] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    resumed: int = 0  # results already on disk when a resumed run started
    n_cached: int = 0  # results replayed from the response cache (resumed ones included)
    n_usage_unknown: int = 0  # successful results whose server reported no token usage
    #: Why the run ended early, e.g. "budget_exhausted"; None when every job ran.
    stopped: str | None = None


async def run_samples(
    config: PipelineConfig,
    samples: Iterable[DatasetSample],
    results_path: Path,
    *,
    redactor: Redactor | None = None,
    on_result: OnResult | None = None,
    cache_dir: Path | None = None,
    resume: bool = False,
    shard: Shard | None = None,
) -> RunnerStats:
    """Run every sample ``runner.repeats`` times; append each result to ``results_path``.

    ``cache_dir`` enables the response cache (per ``runner.cache``). ``resume`` keeps the
    results already in ``results_path`` (after repairing a torn last line) and runs only the
    (sample, repeat) pairs that are missing. ``shard`` runs only the pairs it owns.
    """
    started = time.perf_counter()
    backend = create_backend(config)
    budget = _budget(config, backend)
    done: set[tuple[str, int]] = set()
    cache = _open_cache(config, backend, cache_dir)
    try:
        await backend.start()
        caller = _Caller(backend, config, redactor or Redactor(), cache, budget)
        writer_cm = JsonlWriter(results_path) if not resume else _resumed_writer(results_path)
        # Frozen after start(): the backend's SDK, HTTP client or model is loaded by now.
        with long_lived_frozen(), writer_cm as writer:
            tally = _Tally(writer, on_result)
            if resume:
                done = tally.seed(results_path)
            jobs = _jobs(samples, config.runner.repeats, done, shard)
            await _run_pool(jobs, caller, tally, _workers(config, backend))
        stats = tally.stats()
        stats.backend = backend.describe()
        stats.resumed = len(done)
        stats.stopped = "budget_exhausted" if budget is not None and budget.exhausted else None
        if cache is not None:
            stats.cache_hits, stats.cache_misses = cache.hits, cache.misses
    finally:
        if cache is not None:
            cache.close()
        await backend.aclose()
    stats.wall_seconds = time.perf_counter() - started
    return stats


def _open_cache(config: PipelineConfig, backend: Backend, cache_dir: Path | None) -> ResponseCache | None:
    if cache_dir is None or cache_mode(config.runner, backend) == "off":
        return None
    return ResponseCache.open(cache_dir)


def _budget(config: PipelineConfig, backend: Backend) -> Budget | None:
    limit = config.runner.max_cost_usd
    if limit is None:
        return None
    return Budget(limit, budget_pricing(configured_pricing(config.runner, backend), config.runner.model))


def _resumed_writer(path: Path) -> JsonlWriter:
    repair_tail(path)
    return JsonlWriter(path)


def _jobs(
    samples: Iterable[DatasetSample],
    repeats: int,
    done: Container[tuple[str, int]],
    shard: Shard | None = None,
) -> Iterator[tuple[DatasetSample, int]]:
    for sample in samples:
        for repeat in range(repeats):
            if (sample.id, repeat) not in done and (shard is None or shard.owns(sample.id, repeat)):
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
            result = await caller.call(sample, repeat)
            if result is None:  # the budget is spent: start nothing more
                return
            tally.add(result)
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
    """One call: cache, budget, rate limit, retries, timing, errors, cost. Runs per request."""

    def __init__(
        self,
        backend: Backend,
        config: PipelineConfig,
        redactor: Redactor,
        cache: ResponseCache | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.backend = backend
        self.runner = config.runner
        self.mode = backend.mode
        self.params = config.runner.params.to_request()
        timeout = None if backend.enforces_timeout else config.runner.timeout_s
        self.policy = CallPolicy(max_retries=config.runner.max_retries, timeout_s=timeout)
        self.redactor = redactor
        self.cache = cache
        # The backend's identity (endpoint, weights, code...) is asked for only when it is used.
        self.keys = KeyMaker(backend.identity(), self.mode, self.params) if cache is not None else None
        self.strict = cache_mode(config.runner, backend) == "read_only"
        self.budget = budget
        self.limiter = RateLimiter(config.runner.rate_limit) if config.runner.rate_limit else None
        self.max_tokens = completion_budget(self.params)
        self.rng = random.Random(config.seed)  # jitter only; never affects answers

    async def call(self, sample: DatasetSample, repeat: int) -> RunResult | None:
        """The result, or None when the budget forbids starting this call."""
        request = Request(sample, repeat, self.mode, self.params)
        key = None
        if self.cache is not None and self.keys is not None:
            key = self.keys.key(request)
            hit = self.cache.get(key)
            if hit is not None:
                # A replay reports the figures of the call that produced the answer.
                return self._success(
                    sample, repeat, hit.completion, hit.latency_ms, cached=True, cost_usd=hit.cost_usd
                )
            if self.strict:
                raise CacheMiss(
                    f"sample {sample.id!r} (repeat {repeat}): no cached answer, and runner.cache "
                    "is read_only (strict replay); record it first with cache: read_write"
                )
        reserved = 0.0
        if self.budget is not None:
            reserved = self.budget.estimate(estimate_prompt_tokens(request), self.max_tokens)
            if not self.budget.reserve(reserved):
                return None
        result = await self._attempts(request, key)
        if self.budget is not None:
            self.budget.settle(reserved, result.cost_usd)
        return result

    async def _attempts(self, request: Request, key: str | None) -> RunResult:
        """Call through the one call path; ``key`` (cache on) stores a success."""
        sample, repeat = request.sample, request.repeat
        before = None
        if self.limiter is not None:
            limiter, tokens = self.limiter, estimate_prompt_tokens(request) + self.max_tokens
            before = functools.partial(limiter.acquire, tokens)
        outcome = await call_model(self.backend, request, self.policy, self.rng, before)
        if outcome.completion is None:
            assert outcome.error is not None
            return self._failure(sample, repeat, outcome.error, outcome.latency_ms, outcome.attempts)
        completion = outcome.completion
        result = self._success(sample, repeat, completion, outcome.latency_ms)
        if self.cache is not None and key is not None:
            # The cache lives outside the run directory but must hold no secret either.
            completion.text = self.redactor.text(completion.text)
            self.cache.put(key, completion, result.latency_ms, result.cost_usd)
        return result

    def _success(
        self,
        sample: DatasetSample,
        repeat: int,
        completion: Completion,
        latency_ms: float,
        *,
        cached: bool = False,
        cost_usd: float | None = None,
    ) -> RunResult:
        usage = completion.usage  # None: the server reported none, so tokens and cost are unknown
        if not cached:
            cost_usd = cost_for(self.runner, usage, self.backend, model=completion.model)
        text = self.redactor.text(completion.text) if self.redactor else completion.text
        return RunResult.model_construct(
            sample_id=sample.id,
            repeat=repeat,
            output=text,
            error=None,
            latency_ms=round(latency_ms, 3),
            usage=usage,
            # A cached answer keeps the cost it had when it was fetched, so a replayed run
            # reports like the original; the budget only counts calls actually made.
            cost_usd=cost_usd,
            cached=cached,
            attempts=completion.attempts,
            model=completion.model or self.backend.model_name,
            finish_reason=completion.finish_reason,
        )

    def _failure(
        self, sample: DatasetSample, repeat: int, exc: Exception, latency_ms: float, attempts: int
    ) -> RunResult:
        usage: Usage | None
        if isinstance(exc, UnusableAnswer):
            # The model answered, so the call was billed: its usage, or unknown (None), never 0.
            usage, model = exc.usage, storable(exc.model)
        else:
            # No answer came back (an error status, no reply): 0 tokens and $0 are the figures.
            usage, model = Usage.model_construct(prompt_tokens=0, completion_tokens=0, total_tokens=0), None
        return RunResult.model_construct(
            sample_id=sample.id,
            repeat=repeat,
            output=None,
            error=self._error_info(exc),
            latency_ms=round(latency_ms, 3),
            usage=usage,
            cost_usd=cost_for(self.runner, usage, self.backend, model=model),
            cached=False,
            attempts=attempts,
            model=model or self.backend.model_name,
            finish_reason=_finish_reason(exc),
        )

    def _error_info(self, exc: Exception) -> ErrorInfo:
        kind = "Timeout" if isinstance(exc, CallTimeout) else type(exc).__name__
        message = storable(str(exc) or repr(exc)) or ""
        status = getattr(exc, "status_code", None)
        return ErrorInfo.model_construct(
            type=kind,
            # An API error may echo the key back; nothing secret may reach results.jsonl.
            message=self.redactor.text(message),
            status_code=status if isinstance(status, int) else None,
        )


def _finish_reason(exc: Exception) -> str | None:
    # Server-given (or a plugin's): what UTF-8 cannot hold is escaped, as on a success.
    reason = getattr(exc, "finish_reason", None)
    return storable(reason) if isinstance(reason, str) else None


class _Tally:
    """Writes each result as it arrives and keeps the running totals (the one CallTally)."""

    def __init__(self, writer: JsonlWriter, on_result: OnResult | None) -> None:
        self.writer, self.on_result = writer, on_result
        self.calls = CallTally()

    def seed(self, path: Path) -> set[tuple[str, int]]:
        """Count the results a resumed run already has; returns their (sample, repeat) pairs."""
        done: set[tuple[str, int]] = set()
        for result in iter_jsonl(path, RunResult):
            done.add((result.sample_id, result.repeat))
            self.calls.add(result)
        return done

    def add(self, result: RunResult) -> None:
        self.writer.write(result)
        self.calls.add(result)
        if self.on_result is not None:
            self.on_result(result)

    def stats(self) -> RunnerStats:
        calls = self.calls
        stats = RunnerStats(calls.n_results, calls.n_errors, calls.usage, calls.cost_usd)
        stats.n_cached, stats.n_usage_unknown = calls.n_cached, calls.n_usage_unknown
        return stats
