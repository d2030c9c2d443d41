"""An experiment as Markdown (PR comment), JSON and one self-contained HTML page (no script).

The grid: cells as rows, metrics as columns; each entry is the cell's mean and, for a
candidate, its delta vs the baseline with the paired 95% interval and the Holm-adjusted p; a
mark (▲ better, ▼ worse) only where the difference is significant after correction. Then cost,
latency and errors per cell, the experiment gate, and the "best cell" statement.
"""

from __future__ import annotations

import html
from typing import Any

from ..common.records import ThresholdOutcome
from ..common.text import usd
from .experiment import CellDelta, ExperimentComparison
from .reports.json_report import dumps
from .reports.markdown_report import cell, code

Facts = dict[str, dict[str, Any]]
_MARK = {"better": "▲", "worse": "▼"}


def _entry(c: ExperimentComparison, name: str, metric: str) -> str:
    mean = c.means.get((name, metric))
    text = "-" if mean is None else f"{mean:.3f}"
    delta = c.deltas.get((name, metric))
    if delta is None:
        return f"{text} (baseline)" if name == c.baseline else text
    d = delta.delta
    p = "-" if delta.p_adjusted is None else f"{delta.p_adjusted:.3g}"
    mark = _MARK.get(delta.verdict, "")
    return f"{text} · Δ {d.delta:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}] p_adj {p} {mark}".rstrip()


def _headline(c: ExperimentComparison, gate: ThresholdOutcome | None, name: Any = str) -> list[str]:
    """The verdicts in words; ``name`` renders a cell or metric name (inert in Markdown)."""
    lines = [
        f"Baseline: {name(c.baseline)}. Differences are marked only when significant after correction "
        f"({c.method}; alpha {c.alpha:g}): ▲ better, ▼ worse than the baseline.",
    ]
    if c.best is not None:
        lines.append(
            f"Best cell: {name(c.best)}, significantly better than every other cell on {name(c.primary)}."
        )
    else:
        lines.append(f"Best cell: none. The data cannot separate the cells on {name(c.primary)}.")
    if c.worse:
        lines.append(f"Significantly worse than the baseline: {', '.join(name(w) for w in c.worse)}.")
    if gate is not None:
        verdict = "passed" if gate.passed else "FAILED"
        lines.append(f"Experiment gate {gate.name}: {verdict}.")
    return lines


def to_markdown(c: ExperimentComparison, gate: ThresholdOutcome | None, facts: Facts) -> str:
    lines = [f"## lm-eval-so experiment: {len(c.cells)} cells", ""]
    lines += [line + "  " for line in _headline(c, gate, lambda text: cell(text, 80, table=False))]
    lines += ["", "| cell | " + " | ".join(cell(m) for m in c.metrics) + " | cost | latency p95 | errors |"]
    lines.append("|" + "---|" * (len(c.metrics) + 4))
    for name in c.cells:
        f = facts.get(name, {})
        entries = " | ".join(_md_entry(c, name, m) for m in c.metrics)
        errors = f"{f.get('n_errors', 0)}/{f.get('n_results', 0)}"
        p95 = f.get("latency_p95_ms")
        latency = "-" if p95 is None else f"{p95:,.0f} ms"
        lines.append(f"| {cell(name)} | {entries} | {usd(f.get('cost_usd'))} | {latency} | {errors} |")
    lines += [
        "",
        "Runs: "
        + ", ".join(
            f"{cell(n, table=False)} {code(str(f.get('run_id')), table=False)}" for n, f in facts.items()
        ),
    ]
    return "\n".join(lines) + "\n"


def _md_entry(c: ExperimentComparison, name: str, metric: str) -> str:
    text = _entry(c, name, metric)
    delta = c.deltas.get((name, metric))
    bold = delta is not None and delta.verdict in _MARK
    return f"**{text}**" if bold else text


def to_dict(c: ExperimentComparison, gate: ThresholdOutcome | None, facts: Facts) -> dict[str, Any]:
    return {
        "baseline": c.baseline,
        "cells": c.cells,
        "metrics": c.metrics,
        "method": c.method,
        "alpha": c.alpha,
        "primary": c.primary,
        "best": c.best,
        "best_reason": c.best_reason,
        "gate_reason": gate.reason if gate else None,
        "worse": c.worse,
        "gate": gate.model_dump(mode="json") if gate else None,
        "grid": {
            name: {metric: _json_entry(c, name, metric) for metric in c.metrics}
            | {"run": facts.get(name, {})}
            for name in c.cells
        },
    }


def _json_entry(c: ExperimentComparison, name: str, metric: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"mean": c.means.get((name, metric))}
    delta: CellDelta | None = c.deltas.get((name, metric))
    if delta is not None:
        d = delta.delta
        entry |= {
            "delta": d.delta,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "p_value": d.p_value,
            "p_adjusted": delta.p_adjusted,
            "verdict": delta.verdict,
            "n_pairs": d.n_pairs,
        }
    return entry


def to_json(c: ExperimentComparison, gate: ThresholdOutcome | None, facts: Facts) -> str:
    return dumps(to_dict(c, gate, facts), indent=2) + "\n"


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.better{background:#e2f5e6}
td.worse{background:#fde2e2}td.base{color:#555}
"""


def to_html(c: ExperimentComparison, gate: ThresholdOutcome | None, facts: Facts) -> str:
    """One page, every value escaped, no script (a CSP forbids any)."""
    e = html.escape
    head = "".join(f"<th>{e(m)}</th>" for m in c.metrics)
    rows = []
    for name in c.cells:
        f = facts.get(name, {})
        tds = []
        for metric in c.metrics:
            delta = c.deltas.get((name, metric))
            css = "base" if delta is None else delta.verdict if delta.verdict in _MARK else ""
            tds.append(f'<td class="{css}">{e(_entry(c, name, metric))}</td>')
        p95 = f.get("latency_p95_ms")
        rows.append(
            f'<tr data-cell="{e(name)}"><th>{e(name)}</th>{"".join(tds)}<td>{e(usd(f.get("cost_usd")))}</td>'
            f"<td>{'-' if p95 is None else f'{p95:,.0f} ms'}</td>"
            f"<td>{f.get('n_errors', 0)}/{f.get('n_results', 0)}</td></tr>"
        )
    headline = "".join(f"<p>{e(line)}</p>" for line in _headline(c, gate))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>experiment: {len(c.cells)} cells</title><style>{_CSS}</style></head><body>"
        f"<h1>Experiment: {len(c.cells)} cells</h1>{headline}"
        f'<table id="grid"><tr><th>cell</th>{head}<th>cost</th><th>latency p95</th><th>errors</th></tr>'
        f"{''.join(rows)}</table></body></html>\n"
    )
