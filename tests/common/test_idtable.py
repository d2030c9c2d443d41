"""IdTable: sample ids as hashes in flat arrays; lookups give candidates the caller confirms."""

from __future__ import annotations

from array import array

import pytest

from lm_eval_so._internal.common import idtable
from lm_eval_so._internal.common.idtable import IdTable, id_hash


def test_finds_every_id_it_was_given_after_growing() -> None:
    table = IdTable()
    for i in range(5000):
        table.add(f"id-{i}", i * 3)
    assert len(table) == 5000
    assert all(list(table.candidates(f"id-{i}")) == [i * 3] for i in range(5000))
    assert list(table.candidates("absent")) == []
    # Flat arrays of machine ints, not objects per id.
    assert isinstance(table._keys, array) and isinstance(table._values, array)


def test_hash_is_stable_across_processes() -> None:
    # Pinned: Python's own hash() is salted per process, this one must not be.
    assert id_hash("s1") == 6064584127301525897
    assert id_hash("s1") != id_hash("s2")


def test_a_collision_gives_both_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idtable, "id_hash", lambda sample_id: 42)
    table = IdTable()
    table.add("a", 1)
    table.add("b", 2)
    assert sorted(table.candidates("a")) == [1, 2]
