"""What one pass over ``results.jsonl`` keeps: totals and compact per-metric score arrays.

No record objects survive the pass: scores and latencies are C doubles (``array('d')``,
8 bytes each), and whether each result failed is one byte, for the reports' "failing first".
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..common.records import RunResult, ScoreRecord
from ..models.tally import CallTally


@dataclass
class RunTally:
    scores: dict[str, array[float]] = field(default_factory=dict)
    failed: bytearray = field(default_factory=bytearray)  # one flag per result, in run order
    calls: CallTally = field(default_factory=CallTally)  # tokens, cost, replays: the one tally
    latencies: array[float] = field(default_factory=lambda: array("d"))  # successful calls only
    max_repeat: int = 0
    first_model: str | None = None
    #: The first failed call, as a gate's reason names it: "sample 's3' (repeat 0): Type: message".
    first_error: str | None = None

    @classmethod
    def for_metrics(cls, keys: Iterable[str]) -> RunTally:
        return cls(scores={key: array("d") for key in keys})

    @property
    def n_results(self) -> int:
        return len(self.failed)

    @property
    def n_errors(self) -> int:
        return self.calls.n_errors

    def add(self, result: RunResult, records: Iterable[ScoreRecord]) -> None:
        """Count one result and its score records (one per metric)."""
        self.calls.add(result)
        if result.error is None:
            self.latencies.append(result.latency_ms)
        self.max_repeat = max(self.max_repeat, result.repeat)
        self.first_model = self.first_model or result.model
        failed = result.error is not None
        if result.error is not None and self.first_error is None:
            error = result.error
            text = " ".join(error.message.split())  # one line, whatever the server sent
            message = text if len(text) <= 200 else text[:200] + "…"
            where = f"sample {result.sample_id!r} (repeat {result.repeat})"
            self.first_error = f"{where}: {error.type}: {message}"
        for record in records:
            self.scores[record.metric].append(record.score)
            failed = failed or record.passed is False
        self.failed.append(failed)


class SeenAttempts:
    """Which (sample, repeat) pairs were scored, to reject a result that appears twice.

    A bit per sample for repeats 0-7 (one byte per sample, not a set of 100,000 tuples);
    larger repeat indices, rare, go to a set.
    """

    def __init__(self, n_samples: int) -> None:
        self._bits = bytearray(n_samples)
        self._more: set[tuple[int, int]] = set()

    def add(self, ordinal: int, repeat: int) -> bool:
        """Record the pair; False when it was recorded before."""
        if repeat >= 8:
            if (ordinal, repeat) in self._more:
                return False
            self._more.add((ordinal, repeat))
            return True
        bit = 1 << repeat
        if self._bits[ordinal] & bit:
            return False
        self._bits[ordinal] |= bit
        return True
