"""A scored run's report rows, re-read from ``results.jsonl`` + ``scores.jsonl`` on each pass.

The evaluator writes, for every result in ``results.jsonl`` order, one score line per metric
in config order; so the two files zip together, ``len(metrics)`` score lines per result. The
samples come from the :class:`DatasetIndex`. Which results failed is known from scoring (one
byte each), so :meth:`RunRows.failing` parses only the failing rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO

from ..common.errors import ArtifactError
from ..common.records import RunResult, ScoreRecord
from ..common.workspace import parse_jsonl_line
from .dataset_index import DatasetIndex
from .reports.base import SampleRow, SampleRows


class RunRows(SampleRows):
    """Rows of a scored run; ``failed[i]`` says whether the i-th result failed."""

    def __init__(
        self,
        results: Path,
        scores: Path,
        index: DatasetIndex,
        metrics: Sequence[str],
        failed: bytearray,
    ) -> None:
        self._results, self._scores, self._index = results, scores, index
        self._n_metrics = len(metrics)
        self._failed = failed

    def __len__(self) -> int:
        return len(self._failed)

    def __iter__(self) -> Iterator[SampleRow]:
        return self._rows(lambda position: True)

    def failing(self) -> Iterator[SampleRow]:
        return self._rows(lambda position: bool(self._failed[position]))

    def passing(self) -> Iterator[SampleRow]:
        return self._rows(lambda position: not self._failed[position])

    def _rows(self, wanted: Callable[[int], bool]) -> Iterator[SampleRow]:
        with self._results.open("rb") as results, self._scores.open("rb") as scores:
            score_lines = _records(scores)
            for position, line in enumerate(_records(results)):
                group = list(islice(score_lines, self._n_metrics))
                if wanted(position):
                    yield self._row(line, group)

    def _row(self, line: bytes, score_lines: list[bytes]) -> SampleRow:
        result = parse_jsonl_line(line, RunResult, self._results)
        sample = self._index.get(result.sample_id)
        if sample is None:  # scoring checked every id, so the files changed since
            raise ArtifactError(f"{self._results}: sample {result.sample_id!r} is not in the dataset")
        records = [parse_jsonl_line(s, ScoreRecord, self._scores) for s in score_lines]
        return SampleRow(sample, result, {record.metric: record for record in records})


def _records(handle: IO[bytes]) -> Iterator[bytes]:
    # Blank lines are skipped, as iter_jsonl skips them when scoring.
    return (line for line in handle if line.strip())
