"""What a call cost, in US dollars, from its token usage.

The built-in table holds OpenAI's list prices (USD per 1M tokens, prompt / completion) at the
time of writing. Prices change: ``runner.pricing`` in pipeline.yaml overrides the table, and a
model the table does not know costs ``None`` ("unknown"), never a made-up number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ..common.config import Pricing, RunnerConfig
from ..common.records import Usage
from .base import Backend

# USD per 1M tokens: (prompt, completion). List prices at the time of writing; `runner.pricing`
# overrides them. Dated snapshots ("gpt-4o-2024-08-06") resolve to their family below, except
# where a snapshot had its own price (listed explicitly).
PRICES: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.5-preview": (75.00, 150.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "chatgpt-4o-latest": (5.00, 15.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4-turbo-preview": (10.00, 30.00),
    "gpt-4-1106-preview": (10.00, 30.00),
    "gpt-4-0125-preview": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-4-32k": (60.00, 120.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-3.5-turbo-instruct": (1.50, 2.00),
    "o1": (15.00, 60.00),
    "o1-preview": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o1-pro": (150.00, 600.00),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o3-pro": (20.00, 80.00),
    "o4-mini": (1.10, 4.40),
    "davinci-002": (2.00, 2.00),
    "babbage-002": (0.40, 0.40),
}

# What may follow a family name for it to still be that model: a dated snapshot
# ("-2024-08-06", "-0613"), optionally "-preview". Anything else ("gpt-4o-realtime-preview",
# "gpt-4o-mini" against "gpt-4o") is a different model with a different price.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})(-preview)?")

_LOCAL_BACKENDS = frozenset({"llamacpp", "python"})


def table_price(
    table: Mapping[str, tuple[float, float]], name: str, suffix: re.Pattern[str]
) -> Pricing | None:
    """``name``'s price in ``table`` (USD per 1M tokens: prompt, completion), else None.

    An exact entry wins; otherwise the longest family that ``name`` starts with, when what
    follows the family matches ``suffix`` in full (a dated snapshot, an alias), so
    ``gpt-4o-mini-2024-07-18`` is never priced as ``gpt-4o``. Every provider's table is read here.
    """
    found = table.get(name)
    if found is None:
        for family in sorted(table, key=len, reverse=True):
            if name.startswith(family) and suffix.fullmatch(name[len(family) :]):
                found = table[family]
                break
    if found is None:
        return None
    return Pricing.model_construct(prompt_per_1m=found[0], completion_per_1m=found[1])


@lru_cache(maxsize=256)
def lookup_price(model: str) -> Pricing | None:
    """The OpenAI table's price for ``model`` (exact name or a dated snapshot of it), else None."""
    return table_price(PRICES, model.strip().lower(), _SNAPSHOT)


def price_for(model: str | None) -> Pricing | None:
    return lookup_price(model) if model else None


def cost_for(
    config: RunnerConfig,
    usage: Usage | None,
    backend: str | Backend | type[Backend],
    *,
    model: str | None = None,
) -> float | None:
    """Cost of one call in USD, or None when it cannot be known.

    ``runner.pricing`` wins; otherwise local backends cost nothing; otherwise the table is
    consulted for ``model`` (the name the server reported) and then ``runner.model``. A priced
    call whose server reported no usage (``usage`` None) has an unknown cost, never $0.
    """
    pricing = config.pricing
    if pricing is None:
        if _is_local(backend):
            return 0.0
        pricing = _table_price(backend, model) or _table_price(backend, config.model)
        if pricing is None:
            return None
    return cost_of(usage, pricing)


def _table_price(backend: str | Backend | type[Backend], model: str | None) -> Pricing | None:
    if not model:
        return None
    if isinstance(backend, str):
        return lookup_price(model)
    return backend.price(model)


def cost_of(usage: Usage | None, pricing: Pricing) -> float | None:
    """USD for ``usage`` at ``pricing`` (per 1M tokens): the one cost formula.

    Unknown usage (None) has an unknown cost (None), unless the price is zero either way.
    """
    if usage is None:
        free = pricing.prompt_per_1m == 0 and pricing.completion_per_1m == 0
        return 0.0 if free else None
    return tokens_cost(usage.prompt_tokens, usage.completion_tokens, pricing)


def tokens_cost(prompt_tokens: int, completion_tokens: int, pricing: Pricing) -> float:
    """USD for a number of prompt and completion tokens (estimates too) at ``pricing``."""
    return (prompt_tokens * pricing.prompt_per_1m + completion_tokens * pricing.completion_per_1m) / 1_000_000


def add_cost(total: float | None, cost: float | None) -> float | None:
    """The one "unknown" rule: one call of unknown cost makes the total unknown, not smaller."""
    return None if total is None or cost is None else total + cost


def configured_pricing(config: RunnerConfig, backend: str | Backend | type[Backend]) -> Pricing | None:
    """The price a call of this run will be charged at before any answer names its model."""
    if config.pricing is not None:
        return config.pricing
    if _is_local(backend):
        return Pricing.model_construct(prompt_per_1m=0.0, completion_per_1m=0.0)
    return _table_price(backend, config.model)


def _is_local(backend: str | Backend | type[Backend]) -> bool:
    if isinstance(backend, str):
        return backend in _LOCAL_BACKENDS
    return backend.is_local
