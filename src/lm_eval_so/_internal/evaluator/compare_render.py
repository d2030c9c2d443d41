"""A :class:`Comparison` as JSON, Markdown (CI step summary, PR comment) or self-contained HTML."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from ..common.text import usd, usd_delta
from .compare import Comparison, Flip, MetricDelta
from .reports.base import printable
from .reports.html_report import CLIP_MARKER
from .reports.json_report import dumps
from .reports.markdown_report import cell, code

FLIPS_SHOWN = 20  # flips listed per direction in Markdown (a PR comment)
FLIPS_SHOWN_HTML = 500  # in HTML; the rest are counted, and all are in the JSON
CLIP_HTML = 2_000  # characters of one output shown in HTML


def to_dict(comparison: Comparison) -> dict[str, Any]:
    data = dataclasses.asdict(comparison)
    data["regressed"] = comparison.regressed
    data["cost_delta_usd"] = comparison.cost_delta_usd
    return data


def to_json(comparison: Comparison) -> str:
    # Strict JSON whatever the model wrote: lone surrogates, NaN, U+2028 (see json_report.dumps).
    return dumps(to_dict(comparison), indent=2) + "\n"


# --------------------------------------------------------------------------- markdown


def _md(text: object) -> str:
    """Our own wording, table-safe: no pipes, newlines or raw HTML."""
    value = str(text).replace("\n", " ").replace("|", "\\|")
    return html.escape(value, quote=False)


def _clip(text: str | None, width: int = 80) -> str:
    """Model text as one inert Markdown cell: it can link, embed or mention nothing."""
    return "-" if text is None else cell(text, width)


_METHODS = "pass/fail metrics: McNemar exact test; continuous: sign test and paired bootstrap 95% CI"


def _delta_row(m: MetricDelta, name: str | None = None) -> list[str]:
    p = "-" if m.p_value is None else f"{m.p_value:.3g}"
    flips = f"{m.regressions} / {m.fixes}" if m.binary else "-"
    mark = {"regressed": "🔴 regressed", "improved": "🟢 improved"}.get(m.verdict, "⚪ no significant change")
    return [
        m.name if name is None else name, f"{m.mean_a:.4g}", f"{m.mean_b:.4g}", f"{m.delta:+.4g}",
        f"[{m.ci_low:+.4g}, {m.ci_high:+.4g}]", p, flips, str(m.n_pairs), mark,
    ]  # fmt: skip


def _run_rows(c: Comparison) -> list[list[str]]:
    delta = c.cost_delta_usd
    return [
        ["run", c.a.run_id, c.b.run_id, ""],
        ["model", c.a.model or "-", c.b.model or "-", ""],
        ["errors", f"{c.a.n_errors}/{c.a.n_results}", f"{c.b.n_errors}/{c.b.n_results}", ""],
        ["cost", usd(c.a.cost_usd), usd(c.b.cost_usd), usd_delta(delta)],
        ["latency p50 (ms)", f"{c.a.latency_p50_ms:,.0f}", f"{c.b.latency_p50_ms:,.0f}",
         f"{c.b.latency_p50_ms - c.a.latency_p50_ms:+,.0f}"],
        ["latency p95 (ms)", f"{c.a.latency_p95_ms:,.0f}", f"{c.b.latency_p95_ms:,.0f}",
         f"{c.b.latency_p95_ms - c.a.latency_p95_ms:+,.0f}"],
    ]  # fmt: skip


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of already-inert Markdown cells (see :func:`_clip` and ``cell``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _ours(row: list[str]) -> list[str]:
    return [_md(value) for value in row]


def to_markdown(c: Comparison) -> str:
    verdict = "**regressed**" if c.regressed else "no significant regression"
    lines = [
        f"## lm-eval-so compare: {cell(c.a.pipeline, 120, table=False)}",
        "",
        f"Baseline **A** {code(printable(c.a.run_id), table=False)} vs candidate **B** "
        f"{code(printable(c.b.run_id), table=False)}: {verdict} (α = {c.alpha:g}; {_METHODS}).",
        "",
    ]
    header = ["metric", "A", "B", "Δ", "95% CI of Δ", "p", "pass→fail / fail→pass", "pairs", "verdict"]
    lines += _table(header, [[cell(m.name), *_ours(_delta_row(m)[1:])] for m in c.metrics])
    lines += ["", *_table(["", "A", "B", "Δ"], [_run_row_md(row) for row in _run_rows(c)])]
    lines += [f"\n{cell(note, 400, table=False)}" for note in c.notes()]
    for title, flips in (("Regressions (pass → fail)", c.regressions), ("Fixes (fail → pass)", c.fixes)):
        lines += ["", f"### {title}: {len(flips)}"]
        if flips:
            lines += ["", *_table(["metric", "sample", "repeat", "A output", "B output"], _flip_rows(flips))]
            if len(flips) > FLIPS_SHOWN:
                lines.append(f"\n… and {len(flips) - FLIPS_SHOWN} more (see the JSON output).")
    return "\n".join(lines) + "\n"


def _flip_rows(flips: list[Flip]) -> list[list[str]]:
    return [
        [cell(f.metric), cell(f.sample_id), str(f.repeat), _clip(f.output_a), _clip(f.output_b)]
        for f in flips[:FLIPS_SHOWN]
    ]


def _run_row_md(row: list[str]) -> list[str]:
    # Run ids and model names come from the runs (a server names its model): keep them inert.
    label, a, b, delta = row
    if label in ("run", "model"):
        return [_md(label), cell(a), cell(b), _md(delta)]
    return _ours(row)


# --------------------------------------------------------------------------- html

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}.regressed{background:#fde2e2}
.improved{background:#e2f5e6}td.out{font-family:monospace;white-space:pre-wrap;max-width:40rem}
"""


def to_html(c: Comparison) -> str:
    """One self-contained page; every value is escaped, there is no script at all."""
    e = html.escape
    metric_rows = "".join(
        f'<tr class="{e(m.verdict.split()[0])}">'
        + "".join(f"<td>{e(cell)}</td>" for cell in _delta_row(m))
        + "</tr>"
        for m in c.metrics
    )
    header = ["metric", "A", "B", "Δ", "95% CI of Δ", "p (exact)", "pass→fail / fail→pass", "pairs"]
    header.append("verdict")
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    run_rows = "".join("<tr>" + "".join(f"<td>{e(x)}</td>" for x in row) + "</tr>" for row in _run_rows(c))
    sections = []
    for title, flips in (("Regressions (pass → fail)", c.regressions), ("Fixes (fail → pass)", c.fixes)):
        body = "".join(
            f"<tr><td>{e(printable(f.metric))}</td><td>{e(printable(f.sample_id))}</td><td>{f.repeat}</td>"
            f'<td class="out">{e(_clip_html(f.output_a))}</td>'
            f'<td class="out">{e(_clip_html(f.output_b))}</td></tr>'
            for f in flips[:FLIPS_SHOWN_HTML]
        )
        more = len(flips) - FLIPS_SHOWN_HTML
        tail = f"<p>… and {more} more (see the JSON output).</p>" if more > 0 else ""
        sections.append(
            f"<h2>{e(title)}: {len(flips)}</h2><table><tr><th>metric</th><th>sample</th><th>repeat</th>"
            f"<th>A output</th><th>B output</th></tr>{body}</table>{tail}"
        )
    verdict = "REGRESSED" if c.regressed else "no significant regression"
    notes = "".join(f"<p>{e(note)}</p>" for note in c.notes())
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>compare {e(c.a.pipeline)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{e(c.a.pipeline)}: {e(verdict)}</h1>"
        f"<p>A (baseline) <code>{e(c.a.run_id)}</code> vs B (candidate) <code>{e(c.b.run_id)}</code>, "
        f"α = {c.alpha:g}; {e(_METHODS)}</p><table><tr>{head}</tr>{metric_rows}</table>{notes}"
        f"<table><tr><th></th><th>A</th><th>B</th><th>Δ</th></tr>{run_rows}</table>{''.join(sections)}"
        "</body></html>\n"
    )


def _clip_html(text: str | None) -> str:
    """The page stays small whatever the outputs: long ones are clipped, in full in the JSON."""
    value = printable(text or "")
    if len(value) <= CLIP_HTML:
        return value
    return value[:CLIP_HTML] + CLIP_MARKER.format(n=f"{len(value):,}").replace(
        "report.json", "the JSON output"
    )


RENDERERS = {"json": to_json, "md": to_markdown, "markdown": to_markdown, "html": to_html}
