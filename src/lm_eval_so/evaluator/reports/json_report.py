"""``report.json``: the summary plus one row per result, for scripts and dashboards.

The summary is indented for people; each sample row is one compact line, which keeps the
file diff-friendly and lets the C JSON encoder do the work (``indent`` forces the
pure-Python one, several times slower on 100,000 rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ...common.workspace import atomic_writer
from .base import ReportData, Reporter, SampleRow


def row_to_dict(row: SampleRow) -> dict[str, Any]:
    result = row.result
    return {
        "id": row.sample.id,
        "repeat": result.repeat,
        "input": row.sample.input,
        "expected": row.sample.expected,
        "output": result.output,
        "error": result.error.model_dump(mode="json") if result.error else None,
        "latency_ms": result.latency_ms,
        "cost_usd": result.cost_usd,
        "cached": result.cached,
        "scores": {
            name: {"score": score.score, "passed": score.passed} for name, score in row.scores.items()
        },
    }


class JsonReporter(Reporter):
    format: ClassVar[str] = "json"
    suffix: ClassVar[str] = "json"

    def write(self, data: ReportData, path: Path) -> None:
        with atomic_writer(path) as handle:
            handle.writelines(chunks(data))


def render(data: ReportData) -> str:
    """The whole report as one string (small runs, tests); :func:`chunks` streams it."""
    return "".join(chunks(data))


def chunks(data: ReportData) -> Iterator[str]:
    """The report piece by piece: one sample row at a time, never the whole list."""
    summary = _nested(data.summary.model_dump(mode="json"))
    run = _nested(data.manifest)
    yield f'{{\n  "summary": {summary},\n  "run": {run},\n  "samples": '
    separator = "[\n"
    for row in data.rows:
        yield separator + "    " + json.dumps(row_to_dict(row), ensure_ascii=False)
        separator = ",\n"
    yield "[]" if separator == "[\n" else "\n  ]"
    yield "\n}\n"


def _nested(value: Any) -> str:
    # JSON strings never hold a raw newline, so re-indenting line by line is safe.
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).replace("\n", "\n  ")
