"""The generator streams: same bytes and hashes as the in-memory build, nothing held per sample."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gen_support import build_error, make_config, write

from lm_eval_so._internal.generator import build_dataset
from lm_eval_so._internal.generator.payload import SPOOL_IN_MEMORY, select_lines

CSV = "id,input,expected,topic\n" + "".join(f"s{i},question {i} é,answer {i},t{i % 3}\n" for i in range(40))
JSONL = (
    '{"id": "a", "q": "caf\\u00e9 \\u2028 x", "exp": ["1", 2], "extra": {"k": [1, null]}}\n\n'
    '{"id": "b", "q": "two", "exp": "", "n": 3.5}\n'
)
BIG = "id,input\n" + "".join(f"s{i},{i} " + "x" * 120 + "\n" for i in range(8000))

# Content hashes the in-memory generator (list of samples, one payload bytes) produced for these
# fixtures. Streaming must not change a single byte: a new hash would orphan every stored dataset.
PINNED: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "plain": ("raw.csv", CSV, {}, "f679c4d3463122ab0858641c594971a88d58a7103e99dff5a97df2f6d048b920"),
    "limit": (
        "raw.csv",
        CSV,
        {"limit": 7},
        "a5465c53b559d526dce91e57487fb65552566ad74c8fbb4bd52b13e83a6914da",
    ),
    "shuffle": (
        "raw.csv",
        CSV,
        {"shuffle": True, "seed": 3},
        "24c85bcb2d25d6caf945a4e3b13c07b77051ccf2fb47e9c98fe94d84c14f4479",
    ),
    "shuffle_limit": (
        "raw.csv",
        CSV,
        {"shuffle": True, "seed": 3, "limit": 5},
        "e4720c76f0ca07859825e4e157bbe3c5806f9b009767833fb9f9234cc69e6d9d",
    ),
    "prompt": (
        "raw.csv",
        CSV,
        {"prompt": {"system": "Be brief.", "template": "Q ({topic}): {input}"}},
        "60e290ca642f2fee8072f444592d600e9061f27f015a77423c0404a165431aeb",
    ),
    "spilled_to_disk": (
        "raw.csv",
        BIG,
        {"shuffle": True, "seed": 7, "limit": 7000},
        "8ef1a44fd77d3ecfdc6b0cf1591fb07a6c0041705a52bc47f8a633729c6fa832",
    ),
    "jsonl": (
        "data.jsonl",
        JSONL,
        {"fields": {"input": "q", "expected": "exp"}},
        "431da75d3d975ee7227e4d520389bb72eb35c1eab7b3028971c121e15bd1946f",
    ),
}


@pytest.mark.parametrize("case", sorted(PINNED))
def test_content_hash_is_unchanged_by_streaming(tmp_path: Path, case: str) -> None:
    name, text, generator, digest = PINNED[case]
    with build_dataset(make_config(write(tmp_path, name, text), **generator)) as built:
        assert built.content_hash == digest
        assert built.n_samples == len(built.samples)


def test_big_payload_spills_to_disk_and_keeps_its_bytes(tmp_path: Path) -> None:
    with build_dataset(make_config(write(tmp_path, "raw.csv", BIG))) as built:
        assert len(built.payload) > SPOOL_IN_MEMORY
        assert built.payload == b"".join(s.model_dump_json().encode() + b"\n" for s in built.samples)


def test_built_dataset_holds_no_list_of_samples(tmp_path: Path) -> None:
    with build_dataset(make_config(write(tmp_path, "raw.csv", CSV))) as built:
        held = [getattr(built, f.name) for f in dataclasses.fields(built)]
        assert not any(isinstance(value, (list, bytes)) for value in held)
        assert next(built.iter_samples()).id == "s0"


def test_shuffling_indices_gives_the_list_shuffle_order() -> None:
    lines = [f"{i}\n".encode() for i in range(500)]
    expected = list(lines)
    random.Random(11).shuffle(expected)
    payload = select_lines(iter(lines), shuffle_seed=11, limit=None)
    assert list(payload.lines()) == expected


def test_limit_without_shuffle_stops_reading_early() -> None:
    taken: list[int] = []

    def lines() -> Iterator[bytes]:
        for i in range(1000):
            taken.append(i)
            yield f"{i}\n".encode()

    payload = select_lines(lines(), shuffle_seed=None, limit=3)
    assert payload.count == 3 and len(taken) == 3


def test_duplicate_far_apart_still_names_the_first_row(tmp_path: Path) -> None:
    rows = "".join(f"s{i},{i}\n" for i in range(300)) + "s17,again\n"
    path = write(tmp_path, "raw.csv", "id,input\n" + rows)
    assert build_error(make_config(path)) == "raw.csv:302: duplicate id 's17' (first at raw.csv:19)"
