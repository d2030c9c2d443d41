"""Client-side rate limits (token buckets) and the cost budget.

Both work on estimates made before a call: prompt tokens ≈ characters / 4, completion tokens =
``max_tokens`` (or :data:`DEFAULT_COMPLETION_TOKENS` when unset). The budget reserves the
estimate of every call in flight and settles it with the real cost when the call returns, so
concurrent calls can never overshoot it together.
"""

from __future__ import annotations

import asyncio
import time

from ..common.config import Pricing, RateLimit
from ..common.errors import BackendError
from ..models.base import Request
from ..models.pricing import tokens_cost

CHARS_PER_TOKEN = 4
DEFAULT_COMPLETION_TOKENS = 256  # when params.max_tokens is unset


def estimate_prompt_tokens(request: Request) -> int:
    chat = request.mode == "chat"
    chars = sum(len(m.content) for m in request.messages) if chat else len(request.prompt)
    return max(1, chars // CHARS_PER_TOKEN)


def completion_budget(params: dict[str, object]) -> int:
    value = params.get("max_tokens")
    return value if isinstance(value, int) else DEFAULT_COMPLETION_TOKENS


class TokenBucket:
    """``per_minute`` units refilled continuously; holds at most one second's worth (≥ 1 call)."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = time.monotonic()

    def wait_time(self, amount: float) -> float:
        """Take ``amount`` (going into debt if need be); seconds to wait before using it."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now
        # A single call bigger than the bucket may still go, once the bucket is full.
        self.level -= min(amount, self.capacity)
        return 0.0 if self.level >= 0 else -self.level / self.rate


class RateLimiter:
    def __init__(self, limit: RateLimit) -> None:
        self.requests = TokenBucket(limit.rpm) if limit.rpm else None
        self.tokens = TokenBucket(limit.tpm) if limit.tpm else None

    async def acquire(self, estimated_tokens: int) -> None:
        # Both buckets are charged at once (no await between them), then we sleep the longer.
        wait = 0.0
        if self.requests is not None:
            wait = self.requests.wait_time(1)
        if self.tokens is not None:
            wait = max(wait, self.tokens.wait_time(estimated_tokens))
        if wait > 0:
            await asyncio.sleep(wait)


class Budget:
    """Spent + reserved must stay within ``max_cost_usd``."""

    def __init__(self, limit_usd: float, pricing: Pricing) -> None:
        self.limit = limit_usd
        self.pricing = pricing
        self.spent = self.reserved = 0.0
        self.exhausted = False

    def estimate(self, prompt_tokens: int, completion_tokens: int) -> float:
        return tokens_cost(prompt_tokens, completion_tokens, self.pricing)

    def reserve(self, amount: float) -> bool:
        if self.exhausted or self.spent + self.reserved + amount > self.limit:
            self.exhausted = True  # no further call starts; those in flight finish
            return False
        self.reserved += amount
        return True

    def settle(self, reserved: float, actual: float | None) -> None:
        self.reserved -= reserved
        # An unknown actual cost counts as the estimate: never pretend a call was free.
        self.spent += reserved if actual is None else actual


def budget_pricing(pricing: Pricing | None, model: str | None) -> Pricing:
    if pricing is None:
        raise BackendError(
            f"runner.max_cost_usd: no price is known for model {model!r}, so the budget cannot "
            "be enforced; set runner.pricing {prompt_per_1m, completion_per_1m}"
        )
    return pricing
