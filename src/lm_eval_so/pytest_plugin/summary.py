"""The end-of-session table: one row per gate, printed once by the controller."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from .keys import PREFIX


@dataclass
class Row:
    pipeline: str
    gate: str
    value: Any
    outcome: str
    cost: Any
    cached: Any = None  # results replayed from the cache
    results: Any = None  # results in the run


@dataclass
class SessionTable:
    rows: list[Row] = field(default_factory=list)

    def add(self, report: Any) -> None:
        """Record a finished item from its report (built-in types only: works under xdist)."""
        props = dict(report.user_properties)
        pipeline = props.get(f"{PREFIX}.pipeline")
        if pipeline is None or report.when not in ("setup", "call"):
            return
        if report.when == "setup" and report.passed:
            return  # the call phase will report it
        outcome = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[report.outcome]
        if props.get(f"{PREFIX}.status") == "inconclusive":
            # A confidence gate that could not decide: say so, and which way it was counted.
            outcome = f"INCONCLUSIVE ({outcome})"
        gate = props.get(f"{PREFIX}.gate", report.nodeid.rsplit("::", 1)[-1])
        self.rows.append(
            Row(
                pipeline,
                gate,
                props.get(f"{PREFIX}.value"),
                outcome,
                props.get(f"{PREFIX}.cost_usd"),
                props.get(f"{PREFIX}.n_cached"),
                props.get(f"{PREFIX}.n_results"),
            )
        )

    def render(self) -> list[str]:
        if not self.rows:
            return []
        rows = sorted(self.rows, key=lambda r: (r.pipeline, r.gate))
        cells = [("pipeline", "gate", "value", "result", "cost", "from cache")]
        cells += [(r.pipeline, r.gate, _num(r.value), r.outcome, _cost(r.cost), _cached(r)) for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
        pipelines = {r.pipeline for r in rows}
        failed = sum("FAIL" in r.outcome for r in rows)
        line = f"{len(pipelines)} pipelines, {len(rows)} gates, {failed} failed"
        inconclusive = sum(r.outcome.startswith("INCONCLUSIVE") for r in rows)
        if inconclusive:
            line += f", {inconclusive} inconclusive"
        line += self._cache_total()
        lines.append(line)
        return lines

    def _cache_total(self) -> str:
        # One figure per pipeline run, however many gates report it.
        runs = {r.pipeline: (int(r.cached), int(r.results)) for r in self.rows if _counted(r)}
        if not runs:
            return ""
        cached, results = sum(c for c, _ in runs.values()), sum(n for _, n in runs.values())
        return f"; {cached} of {results} results from cache"

    def render_html(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(r.pipeline)}</td><td>{html.escape(r.gate)}</td>"
            f"<td>{_num(r.value)}</td><td>{r.outcome}</td><td>{_cost(r.cost)}</td>"
            f"<td>{_cached(r)}</td></tr>"
            for r in sorted(self.rows, key=lambda r: (r.pipeline, r.gate))
        )
        return (
            "<h2>lm-eval-so</h2><table><tr><th>pipeline</th><th>gate</th><th>value</th>"
            f"<th>result</th><th>cost</th><th>from cache</th></tr>{body}</table>"
        )


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _cost(value: Any) -> str:
    if value is None:
        return "-"
    if value == "unknown":
        return "unknown"
    return f"${float(value):.4f}"


def _counted(row: Row) -> bool:
    return isinstance(row.cached, int) and isinstance(row.results, int)


def _cached(row: Row) -> str:
    return f"{row.cached}/{row.results}" if _counted(row) else "-"
