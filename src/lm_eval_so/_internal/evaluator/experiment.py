"""An experiment's cells compared with its baseline, corrected for multiple comparisons.

Every cell is a scored run of the same dataset. Each is compared with the baseline cell on
paired samples, per metric, exactly as ``lm-eval-so compare`` compares two runs (McNemar's exact
test for pass/fail metrics, the sign test with a paired bootstrap interval for continuous ones).
With several candidates the chance that one of them differs "significantly" by luck grows with
their number, so the p-values of one metric across cells are adjusted with Holm's step-down
procedure (Holm, S. 1979, "A simple sequentially rejective multiple test procedure",
Scandinavian Journal of Statistics 6(2): 65-70), which controls the family-wise error rate at
``alpha`` without assuming independence. A difference is marked only when its adjusted p-value
is below ``alpha`` (and, for continuous metrics, the interval agrees on the direction).

The "best cell" on the primary metric is named only when it is significantly better than every
other cell, with all pairwise comparisons Holm-corrected together; otherwise the report says
the data cannot separate them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .compare import ALPHA, LoadedRun, MetricDelta, compare_loaded, load_run

METHOD = "Holm–Bonferroni (Holm 1979) across cells, per metric"


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values, in the input's order; None stays None (not tested).

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))`` with ``m`` the
    number of tests. Rejecting where the adjusted value is below ``alpha`` controls the
    family-wise error rate at ``alpha``.
    """
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class CellDelta:
    """One cell against the baseline on one metric."""

    cell: str
    metric: str
    delta: MetricDelta
    p_adjusted: float | None
    verdict: str  # "better", "worse" or "no significant difference" (after correction)


@dataclass
class ExperimentComparison:
    baseline: str
    cells: list[str]  # in the experiment's order, baseline included
    metrics: list[str]
    means: dict[tuple[str, str], float]  # (cell, metric) -> mean score
    deltas: dict[tuple[str, str], CellDelta]  # (cell, metric) -> vs baseline; baseline absent
    primary: str | None
    best: str | None
    best_reason: str
    alpha: float = ALPHA
    method: str = METHOD
    worse: list[str] = field(default_factory=list)  # cells significantly worse on some metric

    def verdict(self, cell: str, metric: str) -> str:
        found = self.deltas.get((cell, metric))
        return "baseline" if found is None else found.verdict


def compare_cells(
    runs: Mapping[str, str | Path],
    baseline: str,
    *,
    alpha: float = ALPHA,
    primary: str | None = None,
    seed: int = 0,
) -> ExperimentComparison:
    """Compare every cell of ``runs`` (name -> scored run directory) with ``baseline``.

    ``primary`` is the metric a "best cell" is judged on (default: the first shared metric).
    Raises ``ArtifactError`` (from :func:`compare_loaded`) when two cells share no sample.
    """
    if baseline not in runs:
        raise KeyError(f"baseline cell {baseline!r} is not one of {', '.join(runs)}")
    loaded = {name: load_run(path) for name, path in runs.items()}
    candidates = [name for name in runs if name != baseline]
    raw = {
        name: compare_loaded(loaded[baseline], loaded[name], alpha=alpha, seed=seed) for name in candidates
    }
    metrics = _shared_metrics(loaded)
    deltas: dict[tuple[str, str], CellDelta] = {}
    for metric in metrics:
        found = [(name, _delta(raw[name].metrics, metric)) for name in candidates]
        adjusted = holm_adjust([d.p_value if d else None for _, d in found])
        for (name, delta), p_adj in zip(found, adjusted, strict=True):
            if delta is not None:
                deltas[(name, metric)] = CellDelta(
                    name, metric, delta, p_adj, _corrected(delta, p_adj, alpha)
                )
    means = {
        (name, metric): run.summary.metrics[metric].mean
        for name, run in loaded.items()
        for metric in metrics
        if metric in run.summary.metrics
    }
    chosen = primary or (metrics[0] if metrics else None)
    best, reason = _best_cell(loaded, chosen, alpha, seed)
    worse = sorted({d.cell for d in deltas.values() if d.verdict == "worse"}, key=list(runs).index)
    return ExperimentComparison(
        baseline, list(runs), metrics, means, deltas, chosen, best, reason, alpha, METHOD, worse
    )


def _shared_metrics(loaded: Mapping[str, LoadedRun]) -> list[str]:
    runs = list(loaded.values())
    first = list(runs[0].scores) if runs else []
    return [m for m in first if all(m in run.scores for run in runs)]


def _delta(deltas: Sequence[MetricDelta], metric: str) -> MetricDelta | None:
    return next((d for d in deltas if d.name == metric), None)


def _corrected(delta: MetricDelta, p_adjusted: float | None, alpha: float) -> str:
    if p_adjusted is None or p_adjusted >= alpha:
        return "no significant difference"
    # compare_loaded's own verdict already requires p < alpha and (continuous) the interval.
    return {"regressed": "worse", "improved": "better"}.get(delta.verdict, "no significant difference")


def _best_cell(
    loaded: Mapping[str, LoadedRun], metric: str | None, alpha: float, seed: int
) -> tuple[str | None, str]:
    """The cell significantly better than every other on ``metric`` (pairwise, Holm), if any."""
    names = list(loaded)
    if metric is None or len(names) < 2:
        return None, "nothing to separate: fewer than two cells"
    pairs = list(itertools.combinations(names, 2))
    found = [
        _delta(compare_loaded(loaded[a], loaded[b], alpha=alpha, seed=seed).metrics, metric) for a, b in pairs
    ]
    adjusted = holm_adjust([d.p_value if d else None for d in found])
    beats: dict[str, set[str]] = {name: set() for name in names}
    for (a, b), delta, p_adj in zip(pairs, found, adjusted, strict=True):
        if delta is None or p_adj is None or p_adj >= alpha:
            continue
        if delta.verdict == "improved":  # b is better than a
            beats[b].add(a)
        elif delta.verdict == "regressed":
            beats[a].add(b)
    winners = [name for name in names if beats[name] == set(names) - {name}]
    if len(winners) == 1:
        return winners[0], (
            f"{winners[0]} is significantly better than every other cell on {metric} "
            f"({len(pairs)} pairwise comparisons, Holm-corrected, alpha {alpha:g})"
        )
    return None, (
        f"no best cell: the data cannot separate the cells on {metric} "
        f"(no cell is significantly better than every other after Holm correction, alpha {alpha:g})"
    )
