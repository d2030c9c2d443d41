"""A metric over a pipeline's runs, as numbers an inline SVG draws (no script, no library).

One point per scored run, oldest on the left, evenly spaced (runs come in bursts; a time axis
would pile them up): the mean, its 95% interval as a bar and a shaded band, the line through
the means. Each point is coloured by that run's own gate on the metric (passed, failed,
inconclusive, or none) and links to the run's page; the bounds of the newest run's gate are
drawn as dashed lines. Geometry is computed here; the template only lays it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..common.catalog import RunInfo

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 30


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    y_low: float
    y_high: float
    run_id: str
    when: str
    mean: str
    ci: str
    gate: str  # passed, failed, inconclusive or none
    label: str  # the tooltip


@dataclass(frozen=True)
class GateLine:
    y: float
    label: str


@dataclass
class Chart:
    metric: str
    points: list[Point]
    gates: list[GateLine] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str, str]] = field(default_factory=list)  # x, text, text-anchor
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def line(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)

    @property
    def band(self) -> str:
        upper = [f"{p.x},{p.y_high}" for p in self.points]
        lower = [f"{p.x},{p.y_low}" for p in reversed(self.points)]
        return " ".join(upper + lower)

    @property
    def failed(self) -> int:
        return sum(p.gate == "failed" for p in self.points)


def _fmt(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "nan"


def _tick(value: float) -> str:
    return f"{value:.3g}"


def metric_names(runs: Sequence[RunInfo]) -> list[str]:
    """Every metric of these runs, in the order they first appear (oldest run first)."""
    names: dict[str, None] = {}
    for run in runs:
        for name in run.summary.metrics if run.summary else {}:
            names.setdefault(name, None)
    return list(names)


def chart(metric: str, runs: Sequence[RunInfo], when: Sequence[str]) -> Chart:
    """The chart of ``metric`` over ``runs`` (scored, oldest first); ``when`` labels each run."""
    rows = []
    for run, label in zip(runs, when, strict=True):
        found = run.summary.metrics.get(metric) if run.summary else None
        if (
            found is None
            or not found.n
            or not all(map(math.isfinite, (found.mean, found.ci_low, found.ci_high)))
        ):
            continue
        gates = (
            [o for o in run.summary.thresholds if o.kind == "metric" and o.target == metric]
            if run.summary
            else []
        )
        status = "none"
        if gates:
            states = {o.status for o in gates}
            status = (
                "failed" if "failed" in states else "inconclusive" if "inconclusive" in states else "passed"
            )
        rows.append((run, label, found.mean, found.ci_low, found.ci_high, status, gates))
    result = Chart(metric, [])
    if not rows:
        return result
    bounds = [b for row in rows[-1:] for o in row[6] for b in (o.min, o.max) if b is not None]
    values = [v for row in rows for v in row[2:5]] + bounds
    low, high = min(values), max(values)
    if low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    elif high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    else:
        pad = (high - low) * 0.06
        low, high = low - pad, high + pad

    def y(value: float) -> float:
        return round(result.bottom - (value - low) / (high - low) * (result.bottom - result.top), 2)

    span = result.right - result.left
    step = span / len(rows)
    for index, (run, label, mean, ci_low, ci_high, status, _) in enumerate(rows):
        x = round(result.left + step * (index + 0.5), 2)
        interval = f"[{_fmt(ci_low)}, {_fmt(ci_high)}]"
        tip = f"{run.run_id} · {label} · {metric} {_fmt(mean)} {interval} · gate {status}"
        point = Point(x, y(mean), y(ci_low), y(ci_high), run.run_id, label, _fmt(mean), interval, status, tip)
        result.points.append(point)
    newest = rows[-1][6]
    for outcome in newest:
        if outcome.min is not None:
            result.gates.append(GateLine(y(outcome.min), f"gate ≥ {_tick(outcome.min)}"))
        if outcome.max is not None:
            result.gates.append(GateLine(y(outcome.max), f"gate ≤ {_tick(outcome.max)}"))
    result.y_ticks = [(y(low + (high - low) * i / 4), _tick(low + (high - low) * i / 4)) for i in range(5)]
    first, last = result.points[0], result.points[-1]
    result.x_labels = [(first.x, first.when, "start")]
    if len(result.points) > 1:
        result.x_labels.append((last.x, last.when, "end"))
    return result
