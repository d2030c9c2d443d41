"""The one running tally of what calls cost: results, errors, tokens, cost, replays.

The runner keeps one while it runs (progress, the runner's summary line) and the evaluator
keeps one while it scores (summary.json); both count a result the same way, here. Plain ints,
no models: adding 100,000 ``Usage`` objects would validate 100,000 new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.records import RunResult, Usage
from .pricing import add_cost


@dataclass
class CallTally:
    n_results: int = 0
    n_errors: int = 0
    n_cached: int = 0  # replayed from the response cache
    n_usage_unknown: int = 0  # the server reported no usage: tokens unknown, cost maybe too
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = 0.0  # None once one result's cost is unknown
    cost_spent_usd: float | None = 0.0  # calls made by this run
    cost_replayed_usd: float | None = 0.0  # answers replayed from the cache

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
        self.cost_usd = add_cost(self.cost_usd, result.cost_usd)
        if result.cached:
            self.n_cached += 1
            self.cost_replayed_usd = add_cost(self.cost_replayed_usd, result.cost_usd)
        else:
            self.cost_spent_usd = add_cost(self.cost_spent_usd, result.cost_usd)

    @property
    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
        )
