"""The end-of-session table: one row per gate, printed once by the controller.

The same rows go to the terminal and to pytest-html's summary, with the metric's 95%
interval next to its value. In HTML each outcome carries a class (``lm-eval-pass``,
``lm-eval-fail``, ``lm-eval-inconclusive``, ``lm-eval-skip``) and an inline colour, so it reads
the same with pytest-html's own stylesheet and in a self-contained report; every text that
comes from a pipeline is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..common.text import usd
from .keys import PREFIX

#: Outcome word -> (HTML class, colour).
OUTCOME_STYLES = {
    "PASS": ("lm-eval-pass", "#1b7f2a"),
    "FAIL": ("lm-eval-fail", "#c62828"),
    "INCONCLUSIVE": ("lm-eval-inconclusive", "#b35c00"),
    "SKIP": ("lm-eval-skip", "#6b6b6b"),
}


SUMMARY_CSS = (
    ".lm-eval-so-summary { border-collapse: collapse; margin-bottom: 1em }"
    " .lm-eval-so-summary th, .lm-eval-so-summary td { padding: 2px 12px 2px 0; text-align: left }"
)


def outcome_word(report_outcome: str, status: Any = None) -> str:
    """``PASS``, ``FAIL``, ``SKIP``, or ``INCONCLUSIVE (PASS|FAIL)`` for an undecided confidence gate."""
    word = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[report_outcome]
    # A confidence gate that could not decide: say so, and which way it was counted.
    return f"INCONCLUSIVE ({word})" if status == "inconclusive" else word


def _style(word: str) -> tuple[str, str]:
    # Chosen by the first word: "INCONCLUSIVE (FAIL)" is inconclusive before it is a failure.
    return OUTCOME_STYLES.get(word.split(" ", 1)[0], ("lm-eval-other", "inherit"))


def outcome_html(word: str) -> str:
    """``word`` as a span with its class and colour."""
    css, colour = _style(word)
    return (
        f'<span class="lm-eval-outcome {css}" style="color: {colour}; font-weight: bold">'
        f"{html.escape(word)}</span>"
    )


def interval_text(low: Any, high: Any) -> str:
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return "-"
    return f"[{low:.4g}, {high:.4g}]"


def metric_interval(props: dict[str, Any]) -> tuple[Any, Any]:
    """The 95% interval among an item's properties (a metric gate carries its metric's only)."""
    for key, low in props.items():
        if key.startswith(f"{PREFIX}.") and key.endswith(".ci_low"):
            return low, props.get(key[: -len("ci_low")] + "ci_high")
    return None, None


@dataclass
class Row:
    pipeline: str
    gate: str
    value: Any
    outcome: str
    cost: Any
    cached: Any = None  # results replayed from the cache
    results: Any = None  # results in the run
    ci_low: Any = None  # the gated metric's 95% interval, when the gate is on a metric
    ci_high: Any = None


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
        outcome = outcome_word(report.outcome, props.get(f"{PREFIX}.status"))
        gate = props.get(f"{PREFIX}.gate", report.nodeid.rsplit("::", 1)[-1])
        ci_low, ci_high = metric_interval(props)
        self.rows.append(
            Row(
                pipeline,
                gate,
                props.get(f"{PREFIX}.value"),
                outcome,
                props.get(f"{PREFIX}.cost_usd"),
                props.get(f"{PREFIX}.n_cached"),
                props.get(f"{PREFIX}.n_results"),
                ci_low,
                ci_high,
            )
        )

    def _sorted(self) -> list[Row]:
        return sorted(self.rows, key=lambda r: (r.pipeline, r.gate))

    def render(self) -> list[str]:
        if not self.rows:
            return []
        rows = self._sorted()
        cells = [("pipeline", "gate", "value", "95% CI", "result", "cost", "from cache")]
        cells += [
            (
                r.pipeline,
                r.gate,
                _num(r.value),
                interval_text(r.ci_low, r.ci_high),
                r.outcome,
                _cost(r.cost),
                _cached(r),
            )
            for r in rows
        ]
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
        esc = html.escape
        body = "".join(
            f'<tr class="{_style(r.outcome)[0]}">'
            f"<td>{esc(str(r.pipeline))}</td><td>{esc(str(r.gate))}</td>"
            f"<td>{esc(_num(r.value))}</td><td>{esc(interval_text(r.ci_low, r.ci_high))}</td>"
            f"<td>{outcome_html(r.outcome)}</td><td>{esc(_cost(r.cost))}</td>"
            f"<td>{esc(_cached(r))}</td></tr>"
            for r in self._sorted()
        )
        return (
            f"<style>{SUMMARY_CSS}</style>"
            '<h2>lm-eval-so</h2><table class="lm-eval-so-summary"><tr><th>pipeline</th>'
            "<th>gate</th><th>value</th><th>95% CI</th><th>result</th><th>cost</th>"
            f"<th>from cache</th></tr>{body}</table>"
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
    return usd(float(value))


def _counted(row: Row) -> bool:
    return isinstance(row.cached, int) and isinstance(row.results, int)


def _cached(row: Row) -> str:
    return f"{row.cached}/{row.results}" if _counted(row) else "-"
