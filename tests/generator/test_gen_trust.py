"""The generator keeps references honest: no blank ones, and numbers exactly as written.

Each source format (CSV, JSONL, JSON) is checked, since each reaches the same mapping through
its own reader.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from gen_support import build_error, make_config, write

from lm_eval_so._internal.generator import build_dataset

# --------------------------------------------------------------------------- blank references


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("raw.jsonl", '{"input": "a", "expected": "yes"}\n{"input": "b", "expected": " "}\n', "raw.jsonl:2"),
        ("raw.jsonl", '{"input": "a", "expected": "   "}\n', "raw.jsonl:1"),
        (
            "raw.json",
            '[{"input": "a", "expected": "ok"}, {"input": "b", "expected": "\\t"}]',
            "raw.json: item 2",
        ),
        ("raw.csv", "input,expected\na,yes\nb,  \n", "raw.csv:3"),
        # A zero-width space is as invisible as a blank.
        ("raw.jsonl", '{"input": "a", "expected": "\\u200b"}\n', "raw.jsonl:1"),
    ],
)
def test_a_blank_reference_is_an_error_naming_file_row_and_field(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    message = build_error(make_config(write(tmp_path, name, text)))
    assert message.startswith(f"{where}: column 'expected' (generator.fields.expected) is blank (")
    assert "leave the cell empty for no reference" in message


@pytest.mark.parametrize(
    ("name", "text", "where", "item"),
    [
        ("raw.jsonl", '{"input": "a", "expected": ["", "red"]}\n', "raw.jsonl:1",
         "answer 1 of 2 is blank ('')"),
        ("raw.json", '{"data": [{"input": "a", "expected": ["red", "  "]}]}', "raw.json: item 1",
         "answer 2 of 2 is blank ('  ')"),
    ],
)  # fmt: skip
def test_a_blank_answer_in_a_list_is_an_error(
    tmp_path: Path, name: str, text: str, where: str, item: str
) -> None:
    message = build_error(make_config(write(tmp_path, name, text)))
    assert message.startswith(f"{where}: column 'expected' (generator.fields.expected): {item}")


def test_an_absent_reference_still_means_no_reference(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "raw.jsonl",
        '{"input": "a", "expected": ""}\n{"input": "b", "expected": null}\n{"input": "c", "expected": []}\n'
        '{"input": "d"}\n{"input": "e", "expected": " x "}\n',
    )
    assert [s.expected for s in build_dataset(make_config(path)).samples] == [None, None, None, None, " x "]


def test_the_cli_reports_a_blank_reference_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, "raw.jsonl", '{"input": "Colour of the sky?", "expected": ["", "blue"]}\n')
    (tmp_path / "pipeline.yaml").write_text(
        "name: blank\ngenerator: {source: raw.jsonl}\nevaluator: {report: {formats: []}}\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "lm_eval_so._internal.generator.cli", str(tmp_path / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        "lm-eval-so: error: raw.jsonl:1: column 'expected' (generator.fields.expected): answer 1 of 2 "
        "is blank (''); every acceptable answer needs visible text, or `contains` finds it in any output"
    )


# --------------------------------------------------------------------------- written form


@pytest.mark.parametrize("name", ["raw.jsonl", "raw.json"])
def test_json_numbers_keep_their_written_text_everywhere_they_become_text(tmp_path: Path, name: str) -> None:
    rows = [
        '{"id": 1e2, "input": 2.50, "expected": 1.10, "unit": 1E3, "tags": [0.10, -0], "n": 7}',
        '{"id": 10.0, "input": "b", "expected": [1e3, "1.0", 3.14159265358979323846], "unit": 0.5e-3,'
        ' "tags": {"w": 2.0}}',
    ]
    text = "\n".join(rows) + "\n" if name.endswith("l") else "[" + ",".join(rows) + "]"
    config = make_config(
        write(tmp_path, name, text),
        prompt={"system": "Units: {unit}; tags {tags}", "template": "{input} -> {expected}"},
    )
    first, second = build_dataset(config).samples
    assert (first.id, first.input, first.expected) == ("1e2", "2.50", "1.10")
    assert (second.id, second.expected) == ("10.0", ["1e3", "1.0", "3.14159265358979323846"])
    assert [m.content for m in first.messages] == ["Units: 1E3; tags [0.10, -0]", "2.50 -> 1.10"]
    assert second.messages[0].content == 'Units: 0.5e-3; tags {"w": 2.0}'
    # Metadata stays JSON data (numbers are numbers), with the same values.
    assert first.metadata == {"unit": 1000.0, "tags": [0.1, 0], "n": 7}


def test_csv_values_are_kept_verbatim(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "id,input,expected,unit\n007,2.50,1.10,1E3\n")
    config = make_config(path, prompt={"template": "{input} in {unit}"})
    only = build_dataset(config).samples[0]
    assert (only.id, only.input, only.expected, only.messages[0].content) == (
        "007",
        "2.50",
        "1.10",
        "2.50 in 1E3",
    )
