"""Source readers: CSV, JSONL, JSON, format resolution and the plugin base class."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from gen_support import make_config, write

from lm_eval_so._internal.common.errors import DatasetError
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.generator import Source, SourceRow, build_dataset
from lm_eval_so._internal.generator.sources import CsvSource, JsonlSource, JsonSource, resolve_source


def rows(source: Source, path: Path) -> list[tuple[str, dict[str, object]]]:
    return [(row.location, row.values) for row in source.read(path)]


def error(source: Source, path: Path) -> str:
    with pytest.raises(DatasetError) as info:
        list(source.read(path))
    return str(info.value)


# --------------------------------------------------------------------------- CSV


def test_csv_rows_carry_physical_line_numbers(tmp_path: Path) -> None:
    # A quoted field spanning two lines and a blank line both shift the next row's line.
    path = write(tmp_path, "raw.csv", 'id,input\n1,"two\nlines"\n\n2,b\n')
    assert rows(CsvSource(), path) == [
        ("raw.csv:2", {"id": "1", "input": "two\nlines"}),
        ("raw.csv:5", {"id": "2", "input": "b"}),
    ]


def test_csv_drops_utf8_bom_and_keeps_unicode(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "\ufeffid,input\nx,Größe 質問\n")
    assert rows(CsvSource(), path) == [("raw.csv:2", {"id": "x", "input": "Größe 質問"})]


def test_csv_extra_field_names_line_and_counts(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "id,input,expected\na,b,c\nd,e,f,g\n")
    assert error(CsvSource(), path) == ("raw.csv:3: row has 4 fields, the header (line 1) has 3")


def test_csv_missing_field_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "id,input,expected\n\na,b\n")
    assert error(CsvSource(), path).startswith("raw.csv:3: row has 2 fields")


def test_csv_bad_quoting_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", 'id,input\na,b\nc,"oops"trailing\n')
    assert error(CsvSource(), path).startswith("raw.csv:3: malformed CSV:")


def test_csv_empty_file_needs_a_header(tmp_path: Path) -> None:
    assert "header row is required" in error(CsvSource(), write(tmp_path, "raw.csv", "\n\n"))


def test_csv_duplicate_header_column(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "id,input,id\n1,2,3\n")
    assert error(CsvSource(), path) == "raw.csv:1: the header names column 'id' twice"


# --------------------------------------------------------------------------- JSONL / JSON


def test_jsonl_rows_skip_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", '{"input": "a", "n": 1}\n\n  \n{"input": "b"}\n')
    assert rows(JsonlSource(), path) == [
        ("data.jsonl:1", {"input": "a", "n": 1}),
        ("data.jsonl:4", {"input": "b"}),
    ]


def test_jsonl_invalid_line_names_line_and_json_error(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", '{"input": "a"}\n{"input": "b",}\n')
    message = error(JsonlSource(), path)
    assert message.startswith("data.jsonl:2: invalid JSON: ")
    assert "column" in message


def test_jsonl_non_object_line(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", '{"input": "a"}\n["b"]\n')
    assert error(JsonlSource(), path) == "data.jsonl:2: expected a JSON object, got a list"


def test_json_top_level_list(tmp_path: Path) -> None:
    path = write(tmp_path, "data.json", '[{"input": "a"}, {"input": "b"}]')
    assert rows(JsonSource(), path) == [
        ("data.json: item 1", {"input": "a"}),
        ("data.json: item 2", {"input": "b"}),
    ]


def test_json_object_with_one_list(tmp_path: Path) -> None:
    path = write(tmp_path, "data.json", '{"version": 2, "data": [{"input": "a"}]}')
    assert rows(JsonSource(), path) == [("data.json: item 1", {"input": "a"})]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"train": [], "test": []}', "several lists (train, test)"),
        ('"just a string"', "got a string"),
        ('[{"input": "a"}, 3]', "data.json: item 2: expected a JSON object, got a number"),
        ('[\n{"input": "a"},\n{oops}\n]', "data.json:3: invalid JSON"),
    ],
)
def test_json_shape_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error(JsonSource(), write(tmp_path, "data.json", text))


# --------------------------------------------------------------------------- files


def test_missing_file_names_path_and_field(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert error(CsvSource(), path) == f"{path}: source file not found (generator.source)"


def test_non_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_bytes("id,input\n1,ok\n2,caf\xe9\n".encode("latin-1"))
    message = error(CsvSource(), path)
    assert message.startswith("raw.csv:3: not valid UTF-8 (byte 0xe9)")


# --------------------------------------------------------------------------- resolution


def test_format_from_suffix_ignores_case(tmp_path: Path) -> None:
    assert isinstance(resolve_source(tmp_path / "A.CSV", None), CsvSource)
    assert isinstance(resolve_source(tmp_path / "a.ndjson", None), JsonlSource)
    assert isinstance(resolve_source(tmp_path / "a.json", None), JsonSource)


def test_explicit_format_wins_over_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, "data.txt", "input\nhello\n")
    built = build_dataset(make_config(path, format="csv"))
    assert [s.input for s in built.samples] == ["hello"]


def test_unknown_suffix_lists_known_formats(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        resolve_source(tmp_path / "data.xlsx", None)
    message = str(info.value)
    assert "'.xlsx'" in message and "generator.format" in message
    assert re.search(r"csv, json, jsonl", message)


class TsvSource(Source):
    """A third-party style plugin: tab-separated, registered through the same registry."""

    format = "tsv"
    suffixes = (".tsv",)

    def read(self, path: Path) -> Iterator[SourceRow]:
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split("\t")
        for number, line in enumerate(lines[1:], start=2):
            yield SourceRow(f"{path.name}:{number}", dict(zip(header, line.split("\t"), strict=True)))


def test_plugin_source_is_found_by_suffix(tmp_path: Path) -> None:
    registry.register("sources", "tsv", TsvSource)
    try:
        path = write(tmp_path, "data.tsv", "input\texpected\nhi\tthere\n")
        built = build_dataset(make_config(path))
    finally:
        registry.unregister("sources", "tsv")
    assert [(s.input, s.expected) for s in built.samples] == [("hi", "there")]
