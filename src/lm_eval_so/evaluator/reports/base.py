"""The reporter contract: write one report file from a finished evaluation.

A run can hold 100,000 results, so a reporter gets its rows as :class:`SampleRows`: a
re-iterable that may read them from disk again on every pass, not a list. Reporters iterate
it (as often as they need), ask ``len()``, and use :meth:`SampleRows.failing` /
:meth:`SampleRows.failing_first`; they never index it, and write their file as they go.
"""

from __future__ import annotations

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
