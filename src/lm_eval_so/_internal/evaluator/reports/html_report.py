"""``report.html``: one self-contained page (inline CSS, SVG and script; no fonts or network).

Numbers are formatted here and the template only lays them out. Jinja2 autoescapes every
value, so model output such as ``<script>`` is shown as text, never run. Belt and braces: a
Content-Security-Policy allows exactly one script, ours, by its SHA-256, so even markup that
slipped through could not execute.

The page stays usable whatever the run's size:

* Every text (id, input, expected, output, error) is clipped on the page, to
  :func:`clip_length` characters (2,000 for up to 4,000 results, falling to 200 at 40,000),
  and ends with a marker saying how long it was; ``report.json`` keeps every text in full.
* The sample table shows :data:`PAGE_ROWS` rows at a time. All rows (failing first) are
  embedded once, as a JSON *data island* (``<script type="application/json">``, where
  ``<``, ``>`` and ``&`` are written as ``\u003c``… so no text can close the element or open
  a comment); the table script (``templates/report.js``) searches, filters, sorts and pages
  them, building cells with ``textContent`` only. The first page is also rendered here, so
  the failing rows show without the script.
* The island holds at most :data:`DATA_BUDGET` (32 MiB) of rows; rows beyond it (passing
  rows go last) are counted on the page and left to ``report.json``. So the page weighs at
  most :data:`PAGE_BOUND` (40 MiB) whatever N is, and about 100 bytes a result plus the
  clipped texts below that (100,000 short results: 9 MB).

Rows arrive streamed (:class:`SampleRows`) and are written one at a time: memory stays flat.
"""

from __future__ import annotations

import base64
import hashlib
import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib.resources import files
from itertools import chain, islice
from pathlib import Path
from typing import Any, ClassVar

from ...common.records import MetricSummary, Summary, ThresholdOutcome
from ...common.text import usd
from ...common.workspace import atomic_writer
from .base import ReportData, Reporter, SampleRow, SampleRows, printable
from .charts import Histogram, histogram
from .json_report import finite
from .wording import cost_phrase

PAGE_ROWS = 100  # rows per page of the sample table, and rows rendered without the script
MAX_CLIP, MIN_CLIP, ID_CLIP = 2_000, 200, 200  # characters of one text shown on the page
TEXT_BUDGET = 24_000_000  # characters of text for all rows together: clip = this / (3 N)
DATA_BUDGET = 32 * 1024 * 1024  # bytes of the rows' data island (UTF-8)
# What the page can weigh beyond the island: the first page rendered as HTML (100 rows, three
# clipped texts each, every character escaped at worst), the charts and tables of the summary.
PAGE_BOUND = DATA_BUDGET + 8 * 1024 * 1024
CLIP_MARKER = "… [clipped: {n} characters in all; full text in report.json]"
MORE_MARKER = "… and {n} more (all in report.json)"

TEMPLATE = "report.html.j2"


class HtmlReporter(Reporter):
    format: ClassVar[str] = "html"
    suffix: ClassVar[str] = "html"

    def write(self, data: ReportData, path: Path) -> None:
        with atomic_writer(path) as handle:
            handle.writelines(chunks(data))


def render(data: ReportData) -> str:
    """The whole page as one string (small runs, tests); :func:`chunks` streams it."""
    return "".join(chunks(data))


def chunks(data: ReportData) -> Iterator[str]:
    """The page piece by piece, as jinja2 renders it: the sample rows are never all held."""
    # Imported here: only runs that ask for an HTML report pay for jinja2.
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__ or "lm_eval_so._internal.evaluator.reports", "templates"),
        autoescape=True,  # every value is escaped, whatever the template's file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    script = table_script()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return env.get_template(TEMPLATE).generate(**view(data), script=script, script_hash=digest)


@cache
def table_script() -> str:
    return (
        files(__package__ or "lm_eval_so._internal.evaluator.reports") / "templates" / "report.js"
    ).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- view model


def clip_length(n_rows: int) -> int:
    """How many characters of each text the page shows, for a run of ``n_rows`` results."""
    return max(MIN_CLIP, min(MAX_CLIP, TEXT_BUDGET // max(1, 3 * n_rows)))


def view(data: ReportData) -> dict[str, Any]:
    """Everything the template shows, as display-ready strings; the rows come lazily."""
    summary, run = data.summary, data.manifest
    metric_names = list(summary.metrics)
    scan = _scan(data.rows, metric_names)
    n_rows = len(data.rows)
    clip = clip_length(n_rows)
    # Failing samples first, each group in run order: the first page is rendered as HTML too.
    ordered = (_cells(row, metric_names, clip) for row in data.rows.failing_first())
    first_page = list(islice(ordered, PAGE_ROWS))
    island = Island(chain(first_page, ordered))
    return {
        "summary": summary,
        "backend": run.get("backend") or "-",
        "model": run.get("model") or "-",
        "dataset": _dataset_label(run.get("dataset")),
        "version": (run.get("versions") or {}).get("lm-eval-so"),
        "metrics": [_metric_row(m, summary.thresholds) for m in summary.metrics.values()],
        "charts": _charts(summary, scan),
        "stats": _run_stats(summary),
        "cache_note": _cache_note(summary),
        "gates": [_gate_row(o) for o in summary.thresholds],
        "metric_names": metric_names,
        "show_repeat": scan.any_repeat,
        "n_rows": n_rows,
        "n_failing": scan.n_failing,
        "clip": clip,
        "page_rows": PAGE_ROWS,
        "clip_marker": CLIP_MARKER,
        "more_marker": MORE_MARKER,
        "data_budget": _size(DATA_BUDGET),
        "rows": [_display(cells) for cells in first_page],
        "island": island,
    }


class Island:
    """The rows' data island, streamed: one JSON array per row, HTML-safe, within the budget.

    Iterate it once (the template does); afterwards ``embedded`` and ``omitted`` (and
    ``omitted_failing``) say how many rows it holds and how many did not fit.
    """

    def __init__(self, rows: Iterator[list[Any]]) -> None:
        self._rows = rows
        self.embedded = self.omitted = self.omitted_failing = 0

    def __iter__(self) -> Iterator[str]:
        size, separator = 1, "["
        for cells in self._rows:
            if self.omitted:  # the budget is spent: count what is left, in order
                self.omitted += 1
                self.omitted_failing += cells[2] & 1
                continue
            text = separator + script_safe(json.dumps(cells, ensure_ascii=False, separators=(",", ":")))
            size += len(text.encode("utf-8"))
            if size + 1 > DATA_BUDGET:
                self.omitted, self.omitted_failing = 1, cells[2] & 1
                continue
            self.embedded += 1
            separator = ","
            yield text
        yield "[]" if separator == "[" else "]"


def script_safe(json_text: str) -> str:
    """JSON text that can sit inside ``<script type="application/json">``: ``<``, ``>`` and
    ``&`` (which JSON only has inside strings) as ``\\u`` escapes, so no text can end the
    element (``</script``) or open a comment (``<!--``), and U+2028/U+2029 escaped too."""
    return (
        json_text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# One row of the island: [id, repeat, flags (1 failed, 2 cached), input, expected, output, error,
# latency_ms, cost_usd, scores]. A text is a string, or [clipped text, full length]; expected is a
# list of texts, ending with a number n when n more did not fit; a score is null (no score) or
# [score, passed (1, 0 or null)]. Numbers that are not finite are null. report.js reads these.


def _cells(row: SampleRow, metric_names: list[str], clip: int) -> list[Any]:
    result, error = row.result, row.result.error
    scores: list[Any] = []
    for name in metric_names:
        score = row.scores.get(name)
        passed = None if score is None or score.passed is None else int(score.passed)
        scores.append(None if score is None else [finite(score.score), passed])
    return [
        _clip(row.sample.id, ID_CLIP),
        result.repeat,
        int(row.failed) | (2 if result.cached else 0),
        _clip(row.sample.input, clip),
        _clip_all(row.sample.expected_list(), clip),
        None if error is not None else _clip(result.output or "", clip),
        None if error is None else _clip(f"{error.type}: {error.message}", clip),
        finite(result.latency_ms),
        finite(result.cost_usd),
        scores,
    ]


def _clip(text: str, limit: int) -> str | list[Any]:
    if len(text) <= limit:
        return printable(text)
    return [printable(text[:limit]), len(text)]


def _clip_all(texts: list[str], limit: int) -> list[Any]:
    """Texts sharing ``limit`` characters; a trailing count says how many were left out."""
    out: list[Any] = []
    for index, text in enumerate(texts):
        if limit <= 0:
            out.append(len(texts) - index)
            break
        out.append(_clip(text, limit))
        limit -= len(text)
    return out


def _display(cells: list[Any]) -> dict[str, Any]:
    """A row of the first page, as the template shows it (report.js shows the same)."""
    latency, cost = cells[7], cells[8]
    return {
        "id": _text(cells[0]),
        "repeat": cells[1],
        "failed": bool(cells[2] & 1),
        "cached": bool(cells[2] & 2),
        "input": _text(cells[3]),
        "expected": [{"more": item} if isinstance(item, int) else _text(item) for item in cells[4]],
        "output": None if cells[5] is None else _text(cells[5]),
        "error": None if cells[6] is None else _text(cells[6]),
        "latency": "-" if latency is None else f"{fixed(latency, 0)} ms",
        "latency_ms": -1.0 if latency is None else latency,
        "cost": "-" if cost is None else usd(cost),
        "cost_usd": -1.0 if cost is None else cost,
        "scores": [_score_cell(score) for score in cells[9]],
    }


def _text(cell: str | list[Any]) -> dict[str, Any]:
    if isinstance(cell, str):
        return {"text": cell, "clipped": ""}
    return {"text": cell[0], "clipped": CLIP_MARKER.format(n=f"{cell[1]:,}")}


def _score_cell(score: list[Any] | None) -> dict[str, Any]:
    if score is None:
        return {"text": "-", "css": "neutral", "value": -1.0}
    value, passed = score
    if value is None:
        value = float("nan")
    number = "nan" if value != value else fixed(value, 3, trim=True)
    if passed is None:
        return {"text": number, "css": "neutral", "value": value}
    return {
        "text": f"{'✓' if passed else '✗'} {number}",
        "css": "pass" if passed else "fail",
        "value": value,
    }


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:g} MiB" if n_bytes >= 2**20 else f"{n_bytes / 1024:g} KiB"


def fixed(value: float, places: int, *, trim: bool = False) -> str:
    """``value`` with ``places`` decimals and thousands commas, rounded as JavaScript's
    ``toFixed`` does (half away from zero, on the exact binary value), so the first page reads
    the same whether this module or report.js drew it."""
    if abs(value) >= 1e15:  # beyond any latency, cost or score; and beyond Decimal's precision
        return f"{value:,.{places}f}"
    exact = Decimal(value or 0.0)  # -0.0 reads "0", as in JavaScript
    text = f"{exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,f}"
    return text.rstrip("0").rstrip(".") if trim and "." in text else text


@dataclass
class _Scan:
    """What the page needs before its first sample row: one pass, numbers only."""

    scores: dict[str, array[float]]
    latencies: array[float] = field(default_factory=lambda: array("d"))
    n_failing: int = 0
    any_repeat: bool = False


def _scan(rows: SampleRows, metric_names: list[str]) -> _Scan:
    scan = _Scan(scores={name: array("d") for name in metric_names})
    for row in rows:
        for name, record in row.scores.items():
            if name in scan.scores:
                scan.scores[name].append(record.score)
        if row.result.error is None:
            scan.latencies.append(row.result.latency_ms)
        scan.n_failing += row.failed
        scan.any_repeat = scan.any_repeat or bool(row.result.repeat)
    return scan


def _dataset_label(dataset: Any) -> str:
    if not isinstance(dataset, dict):
        return "-"
    label = str(dataset.get("id") or "-")
    digest = dataset.get("content_hash")
    return f"{label} @ {str(digest)[:12]}" if digest else label


def _metric_row(metric: MetricSummary, outcomes: list[ThresholdOutcome]) -> dict[str, Any]:
    gates = [o for o in outcomes if o.kind == "metric" and o.target == metric.name]
    return {
        "name": metric.name,
        "type": metric.type,
        "mean": _num(metric.mean) if metric.n else "-",
        "ci": f"{_num(metric.ci_low)} – {_num(metric.ci_high)}" if metric.n else "-",
        "ci_method": metric.ci_method,
        "n": metric.n,
        "gates": [{"name": o.name, "passed": o.passed, "status": o.status} for o in gates],
        "std": _num(metric.std) if metric.n else "-",
        "pass_at_k": ", ".join(f"pass@{k} {_num(v)}" for k, v in (metric.pass_at_k or {}).items()),
        "variance": "" if metric.within_sample_variance is None else _num(metric.within_sample_variance),
    }


def _charts(summary: Summary, scan: _Scan) -> list[tuple[str, Histogram]]:
    """One histogram per metric (score distribution) and one of call latency."""
    charts = []
    for name, metric in summary.metrics.items():
        charts.append((name, histogram(scan.scores[name], binary=metric.ci_method == "wilson")))
    charts.append(("latency", histogram(scan.latencies, binary=False, unit=" ms")))
    return charts


def _cache_note(summary: Summary) -> str:
    """The header's badge: how many results were replayed from the cache ("" when none)."""
    if not summary.n_cached:
        return ""
    return f"{summary.n_cached} of {summary.n_results} from cache"


def _run_stats(summary: Summary) -> list[tuple[str, str]]:
    usage, latency = summary.usage, summary.latency_ms
    cost = cost_phrase(summary)
    tokens = (
        f"{usage.total_tokens:,} ({usage.prompt_tokens:,} prompt, {usage.completion_tokens:,} completion)"
    )
    if summary.n_usage_unknown:
        tokens += f"; usage unknown for {summary.n_usage_unknown:,} results"
    stats = [
        ("samples", f"{summary.n_samples}"),
        ("results", f"{summary.n_results} ({summary.n_cached:,} from cache)"),
        ("errors", f"{summary.n_errors} ({summary.error_rate:.1%})"),
        ("tokens", tokens),
        ("cost", cost),
        ("latency p50 / p95", f"{latency.p50:,.0f} ms / {latency.p95:,.0f} ms"),
        ("latency mean / max", f"{latency.mean:,.0f} ms / {latency.max:,.0f} ms"),
    ]
    if summary.judge_calls:
        judge = usd(summary.judge_cost_usd, "unknown (set judge.pricing)")
        stats.append(("judge calls / cost", f"{summary.judge_calls:,} / {judge}"))
    return stats


def _gate_row(outcome: ThresholdOutcome) -> dict[str, Any]:
    return {
        "name": outcome.name,
        "kind": outcome.kind,
        "value": "-" if outcome.value is None else _num(outcome.value),
        "passed": outcome.passed,
        "status": outcome.status,
        "reason": outcome.reason or "",
    }


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "nan"
