"""Figures that need more than the flat score list: pass@k per sample, judge usage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ..common.records import ScoreRecord, Summary, Usage
from .metrics import MetricUsage
from .passk import ks_for, mean_pass_at_k, mean_within_sample_variance


def repeat_figures(metric: str, records: Iterable[ScoreRecord], *, binary: bool) -> dict[str, Any]:
    """``repeats``, ``pass_at_k`` and ``within_sample_variance`` when samples ran more than once.

    ``records`` are score records (any metric's; others are skipped), e.g. read back from
    ``scores.jsonl``. Empty (all fields stay None) for single-attempt runs, where none of
    them means anything. Scores are grouped by sample, so this holds them all: the evaluator
    calls it only when some sample has a second attempt.
    """
    groups: dict[str, list[float]] = defaultdict(list)
    passes: dict[str, int] = defaultdict(int)
    for record in records:
        if record.metric != metric:
            continue
        groups[record.sample_id].append(record.score)
        passes[record.sample_id] += bool(record.passed)
    attempts = max((len(g) for g in groups.values()), default=0)
    if attempts < 2:
        return {}
    figures: dict[str, Any] = {
        "repeats": attempts,
        "within_sample_variance": mean_within_sample_variance(groups),
    }
    if binary:
        counts = [(len(groups[sid]), passes[sid]) for sid in groups]
        figures["pass_at_k"] = mean_pass_at_k(counts, ks_for(attempts))
    return figures


def with_judge_usage(summary: Summary, usages: Sequence[MetricUsage | None]) -> Summary:
    """Add the calls metrics made (LLM judges) to the summary, apart from the run's own cost."""
    made = [u for u in usages if u is not None and u.calls]
    if not made:
        return summary
    prompt = sum(u.prompt_tokens for u in made)
    completion = sum(u.completion_tokens for u in made)
    costs = [u.cost_usd for u in made]
    return summary.model_copy(
        update={
            "judge_calls": sum(u.calls for u in made),
            "judge_usage": Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            ),
            "judge_cost_usd": None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
        }
    )
