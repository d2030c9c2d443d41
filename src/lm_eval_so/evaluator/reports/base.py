"""The reporter contract: write one report file from a finished evaluation."""

from __future__ import annotations

from abc import ABC, abstractmethod
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


@dataclass
class ReportData:
    summary: Summary
    rows: list[SampleRow]
    manifest: dict[str, Any]


class Reporter(ABC):
    """Subclass, set ``format`` and ``suffix``; register under ``lm_eval_so.reporters``."""

    format: ClassVar[str]
    suffix: ClassVar[str]

    @abstractmethod
    def write(self, data: ReportData, path: Path) -> None:
        """Write the report to ``path`` (atomically)."""
