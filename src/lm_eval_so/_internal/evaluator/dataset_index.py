"""Samples of a ``dataset.jsonl`` by id, read from disk on demand.

Scoring 100,000 results must not hold 100,000 parsed samples, nor even their ids as objects:
the index keeps an :class:`IdTable` (id hash -> position) and an array of byte offsets, and
parses a sample again each time it is asked for (a seek and one line; the OS page cache makes
repeated reads cheap). Parsing also confirms the id, so a hash collision cannot mislead it.

Two things keep small runs from paying for that: a dataset of at most :data:`KEEP_PARSED`
samples keeps each sample once parsed (scoring and the report then parse it once), and the
table of the last dataset indexed is reused while the file is unchanged (the preflight before
the run indexes the same file that scoring indexes after it).
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import IO

from ..common.errors import ArtifactError
from ..common.idtable import IdTable
from ..common.records import DatasetSample
from ..common.workspace import iter_jsonl_offsets, parse_jsonl_line

#: Datasets up to this many samples keep each parsed sample (bounded: ~this many objects).
KEEP_PARSED = 2048

_Identity = tuple[str, int, int, int, int]
_Table = tuple[IdTable, "array[int]", int, "str | None"]

# The last table built, with the identity of the file it was built from (see the docstring).
_last_table: tuple[_Identity, _Table] | None = None


class DatasetIndex:
    """``id -> offset`` of every sample, checked once; use as a context manager to close it."""

    def __init__(self, path: Path) -> None:
        global _last_table
        self.path = path
        self._ordinals = IdTable()  # id -> position in the file
        self._offsets = array("q")  # position -> byte offset of its line
        self._handle: IO[bytes] | None = None
        self._closed = False
        self._parsed: dict[int, DatasetSample] | None = None  # see KEEP_PARSED
        #: Samples without an expected answer: how many, and the first one's id.
        self.n_missing_expected = 0
        self.first_missing_expected: str | None = None
        identity, last = _identity(path), _last_table  # one read: another thread may replace it
        if last is not None and identity is not None and last[0] == identity:
            # Never changed once built, so indexes of one file can share it.
            table = last[1]
            self._ordinals, self._offsets, self.n_missing_expected, self.first_missing_expected = table
        else:
            for offset, sample in iter_jsonl_offsets(path, DatasetSample):
                self._add(offset, sample)
            if identity is not None:
                table = (self._ordinals, self._offsets, self.n_missing_expected, self.first_missing_expected)
                _last_table = (identity, table)
        if len(self._offsets) <= KEEP_PARSED:
            self._parsed = {}

    def _add(self, offset: int, sample: DatasetSample) -> None:
        if self.ordinal(sample.id) is not None:
            raise ArtifactError(f"{self.path}: sample id {sample.id!r} appears twice")
        self._ordinals.add(sample.id, len(self._offsets))
        self._offsets.append(offset)
        if not sample.expected_list():
            self.n_missing_expected += 1
            self.first_missing_expected = self.first_missing_expected or sample.id

    def __len__(self) -> int:
        return len(self._offsets)

    def __contains__(self, sample_id: object) -> bool:
        return isinstance(sample_id, str) and self.ordinal(sample_id) is not None

    def ordinal(self, sample_id: str) -> int | None:
        """The sample's position in the file (0-based); None when there is no such id."""
        found = self.find(sample_id)
        return None if found is None else found[0]

    def get(self, sample_id: str) -> DatasetSample | None:
        """The sample with this id, parsed afresh; None when the dataset has no such id."""
        found = self.find(sample_id)
        return None if found is None else found[1]

    def find(self, sample_id: str) -> tuple[int, DatasetSample] | None:
        """The sample's position and the sample, parsed afresh; None when there is no such id."""
        for ordinal in self._ordinals.candidates(sample_id):
            sample = self._read(ordinal)
            if sample.id == sample_id:
                return ordinal, sample
        return None

    def _read(self, ordinal: int) -> DatasetSample:
        if self._parsed is not None:
            kept = self._parsed.get(ordinal)
            if kept is None:
                kept = self._parsed[ordinal] = self._read_line(ordinal)
            return kept
        return self._read_line(ordinal)

    def _read_line(self, ordinal: int) -> DatasetSample:
        if self._closed:  # still usable after close (rows kept by a caller), a file per read
            with self.path.open("rb") as handle:
                return self._parse_at(handle, ordinal)
        if self._handle is None:
            self._handle = self.path.open("rb")
        return self._parse_at(self._handle, ordinal)

    def _parse_at(self, handle: IO[bytes], ordinal: int) -> DatasetSample:
        handle.seek(self._offsets[ordinal])
        return parse_jsonl_line(handle.readline(), DatasetSample, self.path)

    def close(self) -> None:
        self._closed = True
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> DatasetIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(path: Path) -> _Identity | None:
    """What changes when the file does: path, inode, size, and the modification and change
    times (ns). ``ctime`` too because ``mtime`` can be set back (``cp -p``, ``os.utime``)."""
    try:
        stat = path.stat()
    except OSError:
        return None  # the first read raises the error that says what is wrong
    return str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns
