"""``report.html``: one self-contained page (inline CSS, SVG and script; no fonts or network).

Numbers are formatted here and the template only lays them out. Jinja2 autoescapes every
value, so model output such as ``<script>`` is shown as text, never run. Belt and braces: a
Content-Security-Policy allows exactly one script, ours, by its SHA-256, so even markup that
slipped through could not execute. The script (``templates/report.js``) sorts and filters the
sample table by moving existing rows; it never writes HTML.
"""

from __future__ import annotations

import base64
import hashlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar

from ...common.records import MetricSummary, ScoreRecord, Summary, ThresholdOutcome
from ...common.workspace import atomic_writer
from .base import ReportData, Reporter, SampleRow, SampleRows
from .charts import Histogram, histogram
from .wording import cost_phrase

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
        loader=jinja2.PackageLoader(__package__ or "lm_eval_so.evaluator.reports", "templates"),
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
    return (files(__package__ or "lm_eval_so.evaluator.reports") / "templates" / "report.js").read_text(
        encoding="utf-8"
    )


# --------------------------------------------------------------------------- view model


def view(data: ReportData) -> dict[str, Any]:
    """Everything the template shows, as display-ready strings; ``rows`` is a lazy iterator."""
    summary, run = data.summary, data.manifest
    metric_names = list(summary.metrics)
    scan = _scan(data.rows, metric_names)
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
        "n_rows": len(data.rows),
        "n_failing": scan.n_failing,
        # Failing samples first, each group in run order; formatted as the template reaches them.
        "rows": (_sample_row(row, metric_names) for row in data.rows.failing_first()),
    }


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
        judge = (
            "unknown (set judge.pricing)"
            if summary.judge_cost_usd is None
            else f"${summary.judge_cost_usd:.4f}"
        )
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


def _sample_row(row: SampleRow, metric_names: list[str]) -> dict[str, Any]:
    result, error = row.result, row.result.error
    return {
        "id": row.sample.id,
        "repeat": result.repeat,
        "failed": row.failed,
        "cached": result.cached,
        "input": row.sample.input,
        "expected": row.sample.expected_list(),
        "output": (result.output or "") if error is None else None,
        "error": f"{error.type}: {error.message}" if error is not None else None,
        "latency": f"{result.latency_ms:,.0f} ms",
        "latency_ms": result.latency_ms,
        "cost": "-" if result.cost_usd is None else f"${result.cost_usd:.5f}",
        "cost_usd": -1.0 if result.cost_usd is None else result.cost_usd,
        "scores": [_score_cell(row.scores.get(name)) for name in metric_names],
    }


def _score_cell(score: ScoreRecord | None) -> dict[str, Any]:
    if score is None:
        return {"text": "-", "css": "neutral", "value": -1.0}
    if score.passed is None:
        return {"text": _num(score.score), "css": "neutral", "value": score.score}
    mark = "✓" if score.passed else "✗"
    return {
        "text": f"{mark} {_num(score.score)}",
        "css": "pass" if score.passed else "fail",
        "value": score.score,
    }


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "nan"
