"""A hand-written dataset.jsonl is held to what the generator writes, when it is read.

A blank reference (``"expected": " "``, or a blank answer in a list) would be "contained" in
every output; a blank id or input, or no message, is no sample. Each is an error naming the
file and line when the dataset is read -- by the runner, the evaluator or ``load_dataset`` --
not only when a metric happens to score it. Samples built in code are not refused by the
model (every metric refuses a blank reference it reads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.common.records import DatasetSample, Message
from lm_eval_so._internal.common.workspace import iter_jsonl
from lm_eval_so._internal.generator import load_dataset

MESSAGES = [{"role": "user", "content": "q"}]


def sample_line(**fields: Any) -> str:
    return json.dumps({"id": "s", "input": "q", "messages": MESSAGES, **fields}, ensure_ascii=False)


def write_dataset(folder: Path, *lines: str) -> Path:
    path = folder / "dataset.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


BLANK_REFERENCE = (
    "a reference needs visible text, and `contains` would find a blank one in any output; write "
    "the answer, or null for no reference)"
)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"expected": "   "}, f"expected: the reference is blank ('   '): {BLANK_REFERENCE}"),
        ({"expected": ""}, "expected: the reference is blank ('')"),
        ({"expected": "\u200b"}, "expected: the reference is blank ('\\u200b')"),
        ({"expected": ["red", "\t"]}, "expected: answer 2 of 2 is blank ('\\t')"),
        ({"id": " "}, "id: is blank (' '); it needs visible text)"),
        ({"input": ""}, "input: is blank (''); it needs visible text)"),
        ({"messages": []}, "messages: is empty; a sample needs at least one message)"),
    ],
)
def test_a_hand_written_dataset_line_that_is_no_sample_is_refused_with_its_line(
    tmp_path: Path, fields: dict[str, Any], problem: str
) -> None:
    path = write_dataset(tmp_path, sample_line(id="ok", expected="blue"), "", sample_line(**fields))
    with pytest.raises(ArtifactError) as info:
        list(iter_jsonl(path, DatasetSample))
    assert str(info.value).startswith(f"{path}:3: not a valid DatasetSample ({problem}")
    with pytest.raises(ArtifactError, match=r"dataset\.jsonl:3: not a valid DatasetSample \("):
        load_dataset(tmp_path)


@pytest.mark.parametrize("expected", [None, [], "blue", ["blue", "navy"], " blue "])
def test_absent_and_visible_references_are_read(tmp_path: Path, expected: Any) -> None:
    path = write_dataset(tmp_path, sample_line(expected=expected))
    [sample] = load_dataset(path)
    assert sample.expected == expected


def test_samples_built_in_code_are_not_refused_by_the_model() -> None:
    # Metrics refuse a blank reference they read (evaluator/metrics/base.py); a test or a plugin
    # may still build one to check exactly that.
    sample = DatasetSample(id="s", input="q", expected=" ", messages=[Message(role="user", content="q")])
    assert sample.expected == " "
