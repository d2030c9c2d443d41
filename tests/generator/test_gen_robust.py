"""Source files that crashed the generator (exit 3) are one DatasetError naming file and line.

JSON nested 100,000 deep (RecursionError), integers over 4,300 digits (ValueError), lone
``\\ud800`` escapes (UnicodeEncodeError when writing dataset.jsonl), ``NaN``; CSV with NUL
characters or very long fields; a source that is a folder; a workspace that cannot be written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gen_support import build_error, make_config, write

from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.common.workspace import Workspace
from lm_eval_so._internal.generator import build_dataset, generate_dataset
from lm_eval_so._internal.generator.sources import MAX_JSON_DEPTH

DEEP = "[" * 100_000 + "]" * 100_000
TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "1", "input": ' + DEEP + "}", f"data.jsonl:2: {TOO_DEEP}"),
        ('{"id": "1", "input": "a", "m": ' + "[" * 300 + "]" * 300 + "}", f"data.jsonl:2: {TOO_DEEP}"),
        ('{"id": "1", "input": ' + "9" * 5000 + "}",
         "data.jsonl:2: an integer of 5,000 digits is longer than Python reads (4,300); "
         "write it as a string"),
        ('{"id": "1", "input": -' + "1" * 4301 + "}", "data.jsonl:2: an integer of 4,301 digits"),
        ('{"id": "1", "input": "a\\ud800b"}',
         "data.jsonl:2: the string 'a\\ud800b' holds an unpaired surrogate (\\ud800), which is not text; "
         "a surrogate escape must come in a pair (\\ud83d\\ude00)"),
        ('{"id": "1", "input": "a", "k\\udc00": 1}',
         "data.jsonl:2: the string 'k\\udc00' holds an unpaired"),
        ('{"id": "1", "input": "a", "x": NaN}',
         "data.jsonl:2: NaN is not a JSON number; write null, a number or a string"),
        ('{"id": "1", "input": -Infinity}', "data.jsonl:2: -Infinity is not a JSON number"),
    ],
)  # fmt: skip
def test_jsonl_values_no_sample_can_hold_are_located(tmp_path: Path, line: str, message: str) -> None:
    source = write(tmp_path, "data.jsonl", '{"id": "0", "input": "fine"}\n' + line + "\n")
    assert build_error(make_config(source)).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEEP, f"data.json:1: {TOO_DEEP}"),
        ('[\n{"id": "1", "input": "a"},\n' + DEEP + "\n]", f"data.json:3: {TOO_DEEP}"),
        ('[\n{"id": "1", "input": "a", "m": ' + "[" * 150 + "]" * 150 + "}]", f"data.json:2: {TOO_DEEP}"),
        ('[\n\n{"id": "1", "input": ' + "7" * 4400 + "}]", "data.json:3: an integer of 4,400 digits"),
        ('[{"id": "1",\n "input": "\\udfff"}]', "data.json:2: the string '\\udfff' holds an unpaired"),
        ('[{"id": "1", "input": "a", "x": Infinity}]', "data.json: Infinity is not a JSON number"),
    ],
)  # fmt: skip
def test_json_values_no_sample_can_hold_are_located(tmp_path: Path, text: str, message: str) -> None:
    source = write(tmp_path, "data.json", text)
    assert build_error(make_config(source)).startswith(message)


def test_json_nested_up_to_the_limit_is_data(tmp_path: Path) -> None:
    depth = MAX_JSON_DEPTH - 2  # the row and the column are two levels
    source = write(
        tmp_path, "data.jsonl", '{"id": "1", "input": "a", "m": ' + "[" * depth + "]" * depth + "}\n"
    )
    with build_dataset(make_config(source)) as built:
        nested = built.samples[0].metadata["m"]
    for _ in range(depth - 1):
        nested = nested[0]
    assert nested == []


def test_a_surrogate_pair_escape_is_one_character(tmp_path: Path) -> None:
    source = write(tmp_path, "data.jsonl", '{"id": "1", "input": "smile \\ud83d\\ude00"}\n')
    with build_dataset(make_config(source)) as built:
        assert built.samples[0].input == "smile \U0001f600"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,input\n1,a\x00b\n",
         "data.csv:2: a NUL character (\\0) in the data: is this a binary or UTF-16 file? "
         "save it as UTF-8 text"),
        ("id,in\x00put\n1,a\n", "data.csv:1: a NUL character"),
        ("id,input\n1,a\n2,\"b\n\x00\"\n", "data.csv:3: a NUL character"),
    ],
)  # fmt: skip
def test_nul_characters_in_a_csv_are_refused_at_their_record(tmp_path: Path, text: str, message: str) -> None:
    assert build_error(make_config(write(tmp_path, "data.csv", text))).startswith(message)


def test_a_utf16_csv_is_named_as_such(tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_bytes("id,input\n1,a\n".encode("utf-16"))
    assert build_error(make_config(source)) == (
        "data.csv:1: not valid UTF-8 (byte 0xff); the file is UTF-16 (it starts with a UTF-16 "
        "byte-order mark): save it as UTF-8"
    )


def test_a_csv_field_longer_than_the_csv_modules_default_limit_is_data(tmp_path: Path) -> None:
    long_text = "word " * 100_000  # 500 KB in one cell: a long document is real data
    source = write(tmp_path, "data.csv", f'id,input\n1,"{long_text}"\n')
    with build_dataset(make_config(source)) as built:
        assert built.samples[0].input == long_text


def test_a_source_that_is_a_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "data.csv").mkdir()
    assert build_error(make_config(tmp_path / "data.csv")) == (
        f"{tmp_path / 'data.csv'}: is a directory, not a source file (generator.source)"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_source_that_is_not_a_regular_file_is_named(tmp_path: Path) -> None:
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)  # read twice, or never ending (/dev/zero): not a source
    assert build_error(make_config(fifo)) == f"{fifo}: is not a regular file (generator.source)"


def test_a_workspace_that_cannot_be_written_is_an_artifact_error_before_any_run(tmp_path: Path) -> None:
    source = write(tmp_path, "data.csv", "id,input\n1,a\n")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "datasets").write_text("a file where the datasets folder goes")
    with pytest.raises(ArtifactError) as info:
        generate_dataset(make_config(source), Workspace(tmp_path / "ws"))
    assert str(info.value) == (
        f"{tmp_path / 'ws' / 'datasets' / 'data'}: cannot write the dataset into the workspace "
        f"{tmp_path / 'ws'}: Not a directory"
    )
    assert not (tmp_path / "ws" / "runs").exists()
