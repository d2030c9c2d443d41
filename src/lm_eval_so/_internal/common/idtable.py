"""Sample ids -> small ints in flat arrays, for datasets too big to hold their ids as objects.

A ``dict`` of 100,000 ids costs ~10 MB (each id a str object, plus the entry); this table keeps
a 64-bit hash and an int per slot in two ``array('q')`` (open addressing, linear probing), ~32
bytes an id at its load factor. A hash can collide, so lookups return *candidates*: the caller
confirms each against the real id (which it reads anyway: the dataset line, the source row).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator

_EMPTY = 0
_MIN_SLOTS = 64


def id_hash(sample_id: str) -> int:
    """A stable, non-zero 64-bit hash (``hash()`` is salted per process and may be -1)."""
    digest = hashlib.blake2b(sample_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True) or 1


class IdTable:
    """A multimap ``hash(id) -> value``; values are ints such as a row number or file offset."""

    def __init__(self) -> None:
        self._keys = array("q", [_EMPTY]) * _MIN_SLOTS
        self._values = array("q", [0]) * _MIN_SLOTS
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, sample_id: str, value: int) -> None:
        if 2 * (self._size + 1) > len(self._keys):  # keep it at most half full: short probes
            self._grow()
        self._put(id_hash(sample_id), value)
        self._size += 1

    def candidates(self, sample_id: str) -> Iterator[int]:
        """Values added under ids with this id's hash: this id's, or (rarely) a collision's."""
        key, mask = id_hash(sample_id), len(self._keys) - 1
        slot = key & mask
        while self._keys[slot] != _EMPTY:
            if self._keys[slot] == key:
                yield self._values[slot]
            slot = (slot + 1) & mask

    def _put(self, key: int, value: int) -> None:
        mask = len(self._keys) - 1
        slot = key & mask
        while self._keys[slot] != _EMPTY:
            slot = (slot + 1) & mask
        self._keys[slot], self._values[slot] = key, value

    def _grow(self) -> None:
        keys, values = self._keys, self._values
        self._keys = array("q", [_EMPTY]) * (2 * len(keys))
        self._values = array("q", [0]) * (2 * len(keys))
        for key, value in zip(keys, values, strict=True):
            if key != _EMPTY:
                self._put(key, value)
