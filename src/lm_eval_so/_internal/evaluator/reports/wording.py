"""How run figures read in every text surface (terminal, Markdown, HTML, pytest), worded once.

Unknown is said as "unknown", never as $0; replayed results are always counted aloud.
"""

from __future__ import annotations

from ...common.records import Summary
from ...common.text import usd


def cache_phrase(summary: Summary) -> str:
    """``"none from cache"``, ``"all 35 from cache"``, ``"12 from cache"``."""
    if not summary.n_cached:
        return "none from cache"
    if summary.n_cached == summary.n_results:
        return f"all {summary.n_cached} from cache"
    return f"{summary.n_cached} from cache"


def cost_phrase(summary: Summary) -> str:
    """The run's cost and, when some results were replayed, what was spent now and replayed."""
    text = usd(summary.cost_usd)
    if summary.n_cached:
        text += f" (spent now {usd(summary.cost_spent_usd)}, replayed {usd(summary.cost_replayed_usd)})"
    return text


def tokens_phrase(summary: Summary) -> str:
    """``"2,845 tokens"``, saying for how many results usage was not reported."""
    text = f"{summary.usage.total_tokens:,} tokens"
    if summary.n_usage_unknown:
        text += f" (usage unknown for {summary.n_usage_unknown:,} results)"
    return text
