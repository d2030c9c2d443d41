"""The one way to call a model: deadline, retries with backoff or ``Retry-After``, timing.

The runner (every sample) and the judge (every grade) call through here, so both get the same
retries, timeouts and attempt counts. What is retried is decided in retry.py: HTTP 408/409/429
and 5xx, timeouts and connection errors; the wait is the server's ``retry-after-ms`` /
``Retry-After`` when it gives one, else exponential backoff with full jitter.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..common.errors import APITimeoutError
from .base import Backend, Completion, Request, check_answer
from .retry import backoff_delay, is_retryable, retry_after

T = TypeVar("T")


class CallTimeout(APITimeoutError):
    """A call outlived ``timeout_s`` (for backends that do not enforce it themselves)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g}s (runner.timeout_s)")


@dataclass(frozen=True)
class CallPolicy:
    """How one call is made: ``1 + max_retries`` attempts, each within ``timeout_s`` seconds.

    ``timeout_s`` None: the backend enforces its own per-attempt timeout (an HTTP client).
    """

    max_retries: int
    timeout_s: float | None


@dataclass
class CallOutcome:
    """A completion, or the last error; with the attempts it took and the wall time in ms."""

    completion: Completion | None
    error: Exception | None
    attempts: int
    latency_ms: float


async def call_model(
    backend: Backend,
    request: Request,
    policy: CallPolicy,
    rng: random.Random,
    before_attempt: Callable[[], Awaitable[None]] | None = None,
) -> CallOutcome:
    """Call ``backend`` until it answers or the retries run out; never raises for a failed call.

    ``before_attempt`` runs before every attempt (the runner's rate limiter). A completion is
    checked (:func:`check_answer`) before it counts as an answer.
    """
    started = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        if before_attempt is not None:
            await before_attempt()
        try:
            completion = check_answer(await _once(backend, request, policy.timeout_s))
        except Exception as exc:  # every failure is an outcome; the caller goes on
            if attempt > policy.max_retries or not is_retryable(exc):
                return CallOutcome(None, exc, max(attempt, _reported_attempts(exc)), _ms(started))
            wait = retry_after(exc)
            await asyncio.sleep(backoff_delay(attempt - 1, rng) if wait is None else wait)
            continue
        completion.attempts = attempt
        return CallOutcome(completion, None, attempt, _ms(started))


async def _once(backend: Backend, request: Request, timeout_s: float | None) -> Completion:
    if timeout_s is None:
        return await backend.complete(request)
    return await with_deadline(backend.complete(request), timeout_s)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _reported_attempts(exc: Exception) -> int:
    # A backend whose client retried may say so on the exception (see Backend.complete).
    attempts = getattr(exc, "attempts", 1)
    return attempts if isinstance(attempts, int) and attempts > 0 else 1


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
