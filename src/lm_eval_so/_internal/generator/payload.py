"""The exact ``dataset.jsonl`` bytes, built line by line without holding them all in memory.

:class:`Payload` spools the lines to a temporary file (in memory while small) and hashes
them as they are written, so the content hash is the sha256 of exactly the bytes stored.
:func:`select_lines` applies ``shuffle`` and ``limit``: a shuffle needs the whole order, so it
stages the lines in file order and shuffles an array of indices, never a list of objects.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO

# Small datasets (every test fixture) never touch the disk; big ones spill over.
SPOOL_IN_MEMORY = 1 << 20
CHUNK = 1 << 20


class Payload:
    """Append-only JSONL bytes plus their running sha256 and line count."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self._digest = hashlib.sha256()
        self.count = 0

    def append(self, line: bytes) -> None:
        self._file.write(line)
        self._digest.update(line)
        self.count += 1

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def chunks(self) -> Iterator[bytes]:
        """The bytes from the start, in chunks; one reader at a time."""
        self._file.seek(0)
        yield from iter(lambda: self._file.read(CHUNK), b"")

    def lines(self) -> Iterator[bytes]:
        """The lines from the start, each with its newline; one reader at a time."""
        self._file.seek(0)
        yield from self._file

    def copy_to(self, handle: IO[bytes]) -> None:
        for chunk in self.chunks():
            handle.write(chunk)

    def close(self) -> None:
        self._file.close()


def select_lines(lines: Iterable[bytes], *, shuffle_seed: int | None, limit: int | None) -> Payload:
    """The dataset's lines after ``shuffle`` (when a seed is given) and ``limit``.

    Shuffle before the limit, so ``limit`` takes a random subset rather than the file's head.
    Without a shuffle the limit stops reading early.
    """
    payload = Payload()
    if shuffle_seed is None:
        for line in islice(lines, limit):
            payload.append(line)
        return payload
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as staged:
        offsets = array("q", [0])
        for line in lines:
            staged.write(line)
            offsets.append(offsets[-1] + len(line))
        # random.shuffle's permutation depends only on the length, so shuffling indices gives
        # exactly the order that shuffling the list of samples gave (same bytes, same hash).
        order = array("q", range(len(offsets) - 1))
        random.Random(shuffle_seed).shuffle(order)
        for index in islice(order, limit):
            staged.seek(offsets[index])
            payload.append(staged.read(offsets[index + 1] - offsets[index]))
    return payload
