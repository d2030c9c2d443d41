"""``report.json``: the summary plus one row per result, for scripts and dashboards.

The summary is indented for people; each sample row is one compact line, which keeps the
file diff-friendly and lets the C JSON encoder do the work (``indent`` forces the
pure-Python one, several times slower on 100,000 rows).

Whatever the texts hold, the file is strict JSON (RFC 8259, and I-JSON's subset): every text
is kept exactly (NUL and other controls escaped, U+2028/U+2029 escaped so the line can be
pasted into JavaScript) except unpaired UTF-16 surrogates, which UTF-8 cannot carry and which
become U+FFFD; a number that is not finite (NaN, infinity) is ``null``, as in ``summary.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ...common.workspace import atomic_writer
from .base import ReportData, Reporter, SampleRow, utf8_safe

_SEPARATORS = re.compile("[\u2028\u2029]")


def row_to_dict(row: SampleRow) -> dict[str, Any]:
    result = row.result
    return {
        "id": row.sample.id,
        "repeat": result.repeat,
        "input": row.sample.input,
        "expected": row.sample.expected,
        "output": result.output,
        "error": result.error.model_dump(mode="json") if result.error else None,
        "latency_ms": finite(result.latency_ms),
        "cost_usd": finite(result.cost_usd),
        "cached": result.cached,
        "scores": {
            name: {"score": finite(score.score), "passed": score.passed} for name, score in row.scores.items()
        },
    }


def finite(value: float | None) -> float | None:
    """``value``, or ``None`` for NaN and infinities (which JSON cannot hold)."""
    return value if value is None or math.isfinite(value) else None


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON text of ``value``: see the module's docstring (reusable by other renderers)."""
    try:
        text = json.dumps(value, ensure_ascii=False, indent=indent, default=str, allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere in a nested value: rare, so walk only then
        text = json.dumps(_no_nan(value), ensure_ascii=False, indent=indent, default=str)
    text = utf8_safe(text)
    return _SEPARATORS.sub(_escape, text) if _SEPARATORS.search(text) else text


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _no_nan(value: Any) -> Any:
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(item) for item in value]
    return value


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
        yield separator + "    " + dumps(row_to_dict(row))
        separator = ",\n"
    yield "[]" if separator == "[\n" else "\n  ]"
    yield "\n}\n"


def _nested(value: Any) -> str:
    # JSON strings never hold a raw newline, so re-indenting line by line is safe.
    return dumps(value, indent=2).replace("\n", "\n  ")
