"""The reporter contract: write one report file from a finished evaluation.

A run can hold 100,000 results, so a reporter gets its rows as :class:`SampleRows`: a
re-iterable that may read them from disk again on every pass, not a list. Reporters iterate
it (as often as they need), ask ``len()``, and use :meth:`SampleRows.failing` /
:meth:`SampleRows.failing_first`; they never index it, and write their file as they go.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ...common.records import DatasetSample, RunResult, ScoreRecord, Summary


@dataclass
class SampleRow:
    sample: DatasetSample
    result: RunResult
    scores: dict[str, ScoreRecord]

    @property
    def failed(self) -> bool:
        return self.result.error is not None or any(s.passed is False for s in self.scores.values())


class SampleRows(ABC):
    """The rows of a report, in run order; every iteration starts afresh.

    Implementations may stream from disk, so each ``for row in rows`` can cost a read of the
    run: iterate as few times as the report needs, and keep per-row objects only as long as
    the row is being written.
    """

    @abstractmethod
    def __iter__(self) -> Iterator[SampleRow]:
        """Every row, in run order."""

    @abstractmethod
    def __len__(self) -> int:
        """How many rows there are, without reading them."""

    def failing(self) -> Iterator[SampleRow]:
        """The failing rows, in run order."""
        return (row for row in self if row.failed)

    def passing(self) -> Iterator[SampleRow]:
        """The rows that did not fail, in run order."""
        return (row for row in self if not row.failed)

    def failing_first(self) -> Iterator[SampleRow]:
        """Failing rows, then the others, each group in run order (two passes)."""
        yield from self.failing()
        yield from self.passing()


class RowList(SampleRows):
    """Rows already in memory: for tests, small runs and plugins building a report by hand."""

    def __init__(self, rows: Iterable[SampleRow] = ()) -> None:
        self._rows = list(rows)

    def __iter__(self) -> Iterator[SampleRow]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass
class ReportData:
    summary: Summary
    rows: SampleRows
    manifest: dict[str, Any]

    def __post_init__(self) -> None:
        # Code written for the old contract passes a list; it keeps working, wrapped.
        if not isinstance(self.rows, SampleRows):
            self.rows = RowList(self.rows)


class Reporter(ABC):
    """Subclass, set ``format`` and ``suffix``; register under ``lm_eval_so.reporters``."""

    format: ClassVar[str]
    suffix: ClassVar[str]

    @abstractmethod
    def write(self, data: ReportData, path: Path) -> None:
        """Write the report to ``path`` (atomically), streaming ``data.rows`` as it goes."""


# --------------------------------------------------------------------------- text for reports

# UTF-16 surrogates cannot be written as UTF-8: a lone one (from a plugin's row, say) would
# make a report fail to write, or a JSON file that strict parsers refuse.
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls other than tab, newline and carriage return, and DEL: invisible or rejected by
# HTML and Markdown; shown as their Unicode "control pictures" (NUL as ␀).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PICTURES = {code: 0x2400 + code for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))}
_PICTURES[0x7F] = 0x2421


def utf8_safe(text: str) -> str:
    """``text`` with every unpaired surrogate replaced by U+FFFD (a valid pair becomes its
    character), as any UTF-8 decoder would show it; unchanged, and not copied, otherwise."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def printable(text: str) -> str:
    """Text for a page a person reads: UTF-8-safe, control characters shown as pictures."""
    text = utf8_safe(text)
    return text.translate(_PICTURES) if _CONTROL.search(text) else text
