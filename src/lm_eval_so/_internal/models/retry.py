"""Which failures are worth another attempt, and how long to wait before it.

Retries live in the engine, not in each client, so every backend gets the same policy and the
attempts are counted in one place (the openai backend turns the SDK's own retries off, or they
would multiply). Retried: HTTP 408/409/429/5xx, timeouts and connection errors. Not retried:
any other 4xx and every other exception (a bug or a bad request does not heal by waiting).

The wait is exponential backoff with full jitter (uniform in [0, min(cap, base·2^n)]), unless
the server says how long: ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from ..common.errors import APIConnectionError

BASE_DELAY_S = 0.5
MAX_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 120.0  # a server asking for more is capped: the run must make progress
RETRY_STATUSES = frozenset({408, 409, 429})
_TRANSIENT_NAMES = frozenset(
    {
        "APITimeoutError",
        "APIConnectionError",
        "ConnectionError",
        "ClientConnectionError",
        "ServerDisconnectedError",
        "ClientOSError",
        "ReadTimeout",
        "ConnectTimeout",
        "RemoteProtocolError",
    }
)


def is_retryable(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in RETRY_STATUSES or status >= 500
    if isinstance(exc, (TimeoutError, ConnectionError, APIConnectionError)):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def backoff_delay(retry: int, rng: random.Random) -> float:
    """Full jitter: spreads a burst of failed clients evenly instead of in synchronised waves."""
    return rng.uniform(0.0, min(MAX_DELAY_S, BASE_DELAY_S * (2**retry)))


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait, from the exception's response headers."""
    explicit = getattr(exc, "retry_after", None)
    if isinstance(explicit, (int, float)):
        return _capped(float(explicit))
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return parse_retry_after(headers) if headers is not None else None


def parse_retry_after(headers: Mapping[str, Any]) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return _capped(float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return _capped(float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return _capped(when.timestamp() - time.time())


def _capped(seconds: float) -> float | None:
    if seconds != seconds or seconds < 0:  # NaN or in the past: fall back to backoff
        return None if seconds != seconds else 0.0
    return min(seconds, MAX_RETRY_AFTER_S)
