"""The one running tally of what calls cost: results, errors, tokens, cost, replays.

The runner keeps one while it runs (progress, the runner's summary line) and the evaluator
keeps one while it scores (summary.json); both count a result the same way, here. Plain ints,
no models: adding 100,000 ``Usage`` objects would validate 100,000 new ones.

Costs are summed exactly (:class:`CostTotal`), so a total does not depend on the order the
results arrive in: a run whose calls finish in another order, or a merge of shards, reports the
same cost to the last digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..common.records import RunResult, Usage


class CostTotal:
    """A sum of costs that is the same whatever order the terms are added in.

    Float addition is not associative: adding 100,000 costs in completion order gives a total
    that differs in its last digits from run to run. This keeps the exact sum as a few
    non-overlapping floats (Shewchuk's partials, the method behind :func:`math.fsum`) and
    rounds it once when read. One unknown cost makes the total unknown (None), as
    :func:`~lm_eval_so._internal.models.pricing.add_cost` says.
    """

    __slots__ = ("_partials", "_unknown")

    def __init__(self) -> None:
        self._partials: list[float] = []
        self._unknown = False

    def add(self, cost: float | None) -> None:
        if cost is None:
            self._unknown = True
            return
        x, i, partials = cost, 0, self._partials
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]

    @property
    def value(self) -> float | None:
        return None if self._unknown else math.fsum(self._partials)


@dataclass
class CallTally:
    n_results: int = 0
    n_errors: int = 0
    n_cached: int = 0  # replayed from the response cache
    n_usage_unknown: int = 0  # the server reported no usage: tokens unknown, cost maybe too
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    _cost: CostTotal = field(default_factory=CostTotal, repr=False)
    _spent: CostTotal = field(default_factory=CostTotal, repr=False)
    _replayed: CostTotal = field(default_factory=CostTotal, repr=False)

    @property
    def cost_usd(self) -> float | None:
        """What the results cost; None once one result's cost is unknown."""
        return self._cost.value

    @property
    def cost_spent_usd(self) -> float | None:
        """The part of :attr:`cost_usd` spent by calls made now."""
        return self._spent.value

    @property
    def cost_replayed_usd(self) -> float | None:
        """The part of :attr:`cost_usd` replayed from the response cache."""
        return self._replayed.value

    def add(self, result: RunResult) -> None:
        self.n_results += 1
        self.n_errors += result.error is not None
        usage = result.usage
        if usage is None:
            self.n_usage_unknown += 1
        else:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.total_tokens += usage.total_tokens
        self._cost.add(result.cost_usd)
        if result.cached:
            self.n_cached += 1
            self._replayed.add(result.cost_usd)
        else:
            self._spent.add(result.cost_usd)

    @property
    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
        )
