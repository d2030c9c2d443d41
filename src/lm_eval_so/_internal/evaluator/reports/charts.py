"""Histograms for the HTML report, as plain numbers the template draws as inline SVG.

No charting library and nothing from the network: a bar is a ``<rect>`` whose geometry is
computed here; the template only lays the bars out (and Jinja escapes every label).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, BINS = 240, 64, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # tooltip: the bin's range and count
    count: int


@dataclass(frozen=True)
class Histogram:
    bars: list[Bar]
    low: str
    high: str
    width: int = WIDTH
    height: int = HEIGHT


def histogram(values: Sequence[float], *, binary: bool, unit: str = "") -> Histogram:
    """Pass/fail scores as two bars (fail, pass); anything else in ``BINS`` equal bins.

    Values that are not finite (a NaN score, an infinite latency) have no place on the axis
    and are left out of the bars."""
    values = [v for v in values if math.isfinite(v)]
    if binary:
        passed = sum(1 for v in values if v >= 0.5)
        return _draw([len(values) - passed, passed], ["fail", "pass"], "fail", "pass")
    if not values:
        return Histogram([], "-", "-")
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    counts = [0] * BINS
    for value in values:
        counts[min(BINS - 1, int((value - low) / span * BINS))] += 1
    edges = [low + span * i / BINS for i in range(BINS + 1)]
    labels = [f"{_fmt(edges[i])}–{_fmt(edges[i + 1])}{unit}" for i in range(BINS)]
    return _draw(counts, labels, f"{_fmt(low)}{unit}", f"{_fmt(high)}{unit}")


def _draw(counts: list[int], labels: list[str], low: str, high: str) -> Histogram:
    tallest = max(counts, default=0) or 1
    slot = WIDTH / max(1, len(counts))
    bars = [
        Bar(
            x=round(i * slot + 1, 2),
            y=round(HEIGHT - HEIGHT * count / tallest, 2),
            width=round(slot - 2, 2),
            height=round(HEIGHT * count / tallest, 2),
            label=f"{label}: {count}",
            count=count,
        )
        for i, (count, label) in enumerate(zip(counts, labels, strict=True))
    ]
    return Histogram(bars, low, high)


def _fmt(value: float) -> str:
    return f"{value:.3g}"
