"""Summary statistics for scores and latencies, in pure Python.

Every function accepts an empty input: means and spreads are 0 and intervals ``(0, 0)``, and
the caller reports ``n == 0`` (thresholds on an empty metric fail with "no scores").

No interval here claims a certainty the data cannot give. A bootstrap of one score, or of
scores that are all the same, is a single point: resampling cannot invent a spread it never
saw. Those cases get Hoeffding's interval instead when the score's range is known, and
``ci_method = "none"`` (an interval of no width, which no confidence gate accepts) when not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .bootstrap import MAX_BOOTSTRAP_N, bootstrap_mean_interval

#: The two-sided 95% quantile of the standard normal distribution.
Z95 = 1.959963984540054


def mean(values: Sequence[float]) -> float:
    # fsum keeps k/n exact for 0/1 scores, so "mean == threshold" compares as the user expects.
    return math.fsum(values) / len(values) if values else 0.0


def std(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1 in the denominator); 0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (n - 1))


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; stays inside [0, 1] and behaves at p = 0 or 1."""
    if n <= 0:
        return (0.0, 0.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At p = 0 or 1 the bound is exactly 0 or 1; rounding would otherwise give 0.9999999999999999.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return (low, high)


def normal_interval(
    values: Sequence[float],
    z: float = Z95,
    *,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float, bool]:
    """Normal-approximation interval ``mean ± z·s/√n`` and whether ``bounds`` clamped it.

    For a bounded score the raw interval can cross the bound (mean 0.98, wide spread): the
    clamp keeps it meaningful, and the flag lets the caller say so.
    """
    n = len(values)
    if n == 0:
        return (0.0, 0.0, False)
    centre = mean(values)
    half = z * std(values) / math.sqrt(n)
    low, high = centre - half, centre + half
    if bounds is None:
        return (low, high, False)
    clamped_low, clamped_high = max(bounds[0], low), min(bounds[1], high)
    return (clamped_low, clamped_high, (clamped_low, clamped_high) != (low, high))


def hoeffding_interval(
    values: Sequence[float], bounds: tuple[float, float], confidence: float = 0.95
) -> tuple[float, float]:
    """Distribution-free interval ``mean ± (b - a)·√(ln(2/α) / 2n)`` for scores in ``[a, b]``.

    Hoeffding's inequality (W. Hoeffding, "Probability inequalities for sums of bounded random
    variables", JASA 58, 1963, theorem 2) bounds ``P(|mean - μ| >= t)`` by
    ``2·exp(-2n·t² / (b - a)²)`` for any distribution on ``[a, b]``, so the interval covers
    the true mean with probability at least ``confidence`` at every ``n``: one score in 0..1
    gives the whole range, five give ±0.61. Clamped to ``bounds``.
    """
    n = len(values)
    if n == 0:
        return (0.0, 0.0)
    low, high = bounds
    half = (high - low) * math.sqrt(math.log(2 / (1 - confidence)) / (2 * n))
    centre = mean(values)
    return (max(low, centre - half), min(high, centre + half))


def percentiles(values: Sequence[float], qs: Sequence[float]) -> list[float]:
    """Several percentiles (``q`` in 0..100) with one sort; numpy's default linear method."""
    if not values:
        return [0.0 for _ in qs]
    ordered = sorted(values)
    last = len(ordered) - 1
    out = []
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be between 0 and 100 (got {q})")
        position = last * q / 100
        below = math.floor(position)
        above = min(below + 1, last)
        fraction = position - below
        out.append(ordered[below] + (ordered[above] - ordered[below]) * fraction)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation, like ``numpy.percentile``."""
    return percentiles(values, [q])[0]


@dataclass(frozen=True)
class ScoreStats:
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    # "wilson", "bootstrap", or for very large n "normal" / "normal-clamped" (bounds cut it);
    # "hoeffding" or "none" when the scores show no spread to resample (see the module docstring)
    ci_method: str


def summarize(
    scores: Sequence[float],
    *,
    binary: bool,
    bounds: tuple[float, float] | None = (0.0, 1.0),
    seed: int = 0,
) -> ScoreStats:
    """Mean, spread and 95% interval that fits the metric.

    Pass/fail scores get the Wilson interval (E. B. Wilson, JASA 22, 1927), which has width
    at every n >= 1. Continuous scores get a seeded percentile bootstrap (B. Efron, "Bootstrap
    methods", Annals of Statistics 7, 1979), which respects skew and the score's bounds
    without assuming normality; above ``MAX_BOOTSTRAP_N`` scores the sample mean is normal to
    well within the bootstrap's own resampling noise, so the O(n) normal interval is used and
    says so in ``ci_method``. Continuous scores with no spread (one score, or all equal) get
    :func:`hoeffding_interval` when ``bounds`` are known, else ``"none"``: a point is not an
    interval.
    """
    centre, spread = mean(scores), std(scores)
    if binary:
        low, high = wilson_interval(centre * len(scores), len(scores))
        return ScoreStats(len(scores), centre, spread, low, high, "wilson")
    if scores and max(scores) == min(scores):
        if bounds is None:
            return ScoreStats(len(scores), centre, spread, centre, centre, "none")
        low, high = hoeffding_interval(scores, bounds)
        return ScoreStats(len(scores), centre, spread, low, high, "hoeffding")
    if 0 < len(scores) <= MAX_BOOTSTRAP_N:
        low, high = bootstrap_mean_interval(scores, seed=seed)
        return ScoreStats(len(scores), centre, spread, low, high, "bootstrap")
    low, high, clamped = normal_interval(scores, bounds=bounds)
    method = "normal-clamped" if clamped else "normal"
    return ScoreStats(len(scores), centre, spread, low, high, method)
