"""``report.md``: the run's summary as Markdown, for a CI step summary or a PR comment.

Every text that is not ours (model output, sample input and expected, ids, error messages,
metric and gate names, reasons) goes through :func:`cell`: one line, clipped, and inert where
GitHub renders it. Plain words are shown as they are, with ``<``, ``>`` and ``&`` written as
entities and pipes escaped; anything else (a ``[``, ``!``, ``@``, ``#``, ``:``, backtick,
backslash, ``www.``, something shaped like a commit hash…) is put in a code span, where
neither Markdown (links, images, autolinks, raw HTML, comments) nor GitHub's later passes
(bare URLs, @mentions, #123 references, commit links) apply. A hostile answer can therefore
not make the page showing the report fetch an image, link anywhere or ping anyone.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import ClassVar

from ...common.records import MetricSummary, Summary, ThresholdOutcome
from ...common.text import usd
from ...common.workspace import atomic_write_text
from .base import ReportData, Reporter, SampleRow, SampleRows, printable
from .wording import cache_phrase, cost_phrase, tokens_phrase

FAILING_SHOWN = 10
_STATUS = {"passed": "✅ pass", "failed": "❌ fail", "inconclusive": "⚠️ inconclusive"}


class MarkdownReporter(Reporter):
    format: ClassVar[str] = "markdown"
    suffix: ClassVar[str] = "md"

    def write(self, data: ReportData, path: Path) -> None:
        atomic_write_text(path, render(data))


# Characters that mean nothing to GFM or GitHub in a table cell, once <, > and & are entities.
_PLAIN = re.compile(r"[\w \-.,;=+'\"?()/%<>&|…‘’“”–—«»·]*")
# Plain characters that still can: "www." autolinks, hex words that GitHub links as commits,
# GH-123 issue references, and an underscore that is not inside a word (emphasis).
_MARKUP = re.compile(r"www\.|(?<!\w)[0-9a-f]{7,40}(?!\w)|(?<!\w)gh-\d|(?<!\w)_|_(?!\w)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def cell(text: object, width: int = 80, *, table: bool = True) -> str:
    """``text`` as one inert line of Markdown, at most ``width`` characters; ``table``: for a
    table cell (a pipe is escaped, as GFM needs even inside a code span)."""
    value = " ".join(printable(str(text)).split())
    value = value if len(value) <= width else value[: width - 1] + "…"
    if _PLAIN.fullmatch(value) and not _MARKUP.search(value):
        value = html.escape(value, quote=False)
        return value.replace("|", "\\|") if table else value
    return code(value, table=table)


def code(value: str, *, table: bool = True) -> str:
    """``value`` (one line) as a code span that no backtick or pipe inside it can end."""
    if table:
        value = value.replace("|", "\\|")  # GFM splits table cells before it reads code spans
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(value)), default=0))
    pad = " " if value[:1] in ("`", " ") or value[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def render(data: ReportData) -> str:
    s = data.summary
    verdict = "✅ passed" if s.passed else "❌ failed"
    lines = [
        f"## {cell(s.pipeline, table=False)}: {verdict}",
        "",
        f"Run {code(printable(s.run_id), table=False)}",
        "",
    ]
    lines += ["| metric | mean | 95% CI | n | std | pass@k |", "|---|---|---|---|---|---|"]
    lines += [_metric_line(m) for m in s.metrics.values()]
    if s.thresholds:
        lines += ["", "| gate | value | result | detail |", "|---|---|---|---|"]
        lines += [_gate_line(o) for o in s.thresholds]
    lines += ["", _run_line(s)]
    shown, n_failing = _failing(data.rows)
    if n_failing:
        lines += ["", f"### Failing samples: {n_failing} of {len(data.rows)}", ""]
        lines += ["| sample | expected | got |", "|---|---|---|"]
        lines += shown
        if n_failing > FAILING_SHOWN:
            lines.append(f"\n… and {n_failing - FAILING_SHOWN} more in report.html / report.json.")
    return "\n".join(lines) + "\n"


def _failing(rows: SampleRows) -> tuple[list[str], int]:
    """The table lines of the first failing rows, and how many rows fail; one pass, no list."""
    shown: list[str] = []
    count = 0
    for row in rows.failing():
        if count < FAILING_SHOWN:
            shown.append(_sample_line(row))
        count += 1
    return shown, count


def _metric_line(m: MetricSummary) -> str:
    if not m.n:
        return f"| {cell(m.name)} | - | - | 0 | - | - |"
    passk = ", ".join(f"@{k} {v:.3f}" for k, v in (m.pass_at_k or {}).items()) or "-"
    ci = f"[{m.ci_low:.3f}, {m.ci_high:.3f}] {m.ci_method}"
    return f"| {cell(m.name)} | {m.mean:.3f} | {ci} | {m.n} | {m.std:.3f} | {passk} |"


def _gate_line(o: ThresholdOutcome) -> str:
    value = "-" if o.value is None else f"{o.value:.4g}"
    # Not in a code span: there, the escaped "&gt;" of "exact_match>=0.8" would show literally.
    return f"| {cell(o.name)} | {value} | {_STATUS[o.status]} | {cell(o.reason or '', 160)} |"


def _run_line(s: Summary) -> str:
    text = (
        f"{s.n_results} results ({cache_phrase(s)}), {s.n_errors} errors, {tokens_phrase(s)}, "
        f"cost {cost_phrase(s)}, latency p50 {s.latency_ms.p50:,.0f} ms / p95 {s.latency_ms.p95:,.0f} ms"
    )
    if s.judge_calls:
        text += f"; judge: {s.judge_calls} calls, cost {usd(s.judge_cost_usd)}"
    if s.stopped:
        text += f". STOPPED EARLY: {s.stopped}"
    return text + "."


def _sample_line(row: SampleRow) -> str:
    result = row.result
    got = f"error {result.error.type}" if result.error else (result.output or "")
    sample_id = row.sample.id + (f" #{result.repeat}" if result.repeat else "")
    sample_id += " (cached)" if result.cached else ""
    return f"| {cell(sample_id)} | {cell(' / '.join(row.sample.expected_list()), 40)} | {cell(got, 60)} |"
