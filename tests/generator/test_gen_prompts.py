"""Prompt rendering: placeholders from any column, literal and JSON braces, friendly errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gen_support import build_error, make_config, write

from lm_eval_so._internal.common.config import PromptConfig
from lm_eval_so._internal.common.errors import DatasetError
from lm_eval_so._internal.generator import build_dataset
from lm_eval_so._internal.generator.prompts import PromptRenderer, Template

CSV = "qid,question,answer,topic\nq1,What is 2+2?,4,math\n"


def render(template: str, values: dict[str, Any]) -> str:
    return Template(template, "generator.prompt.template").render(values, "raw.csv:2")


def test_any_column_is_a_placeholder(tmp_path: Path) -> None:
    config = make_config(
        write(tmp_path, "raw.csv", CSV),
        fields={"id": "qid", "input": "question", "expected": "answer"},
        prompt={"system": "Topic: {topic}", "template": "[{id}] {question} -> {input}"},
    )
    (sample,) = build_dataset(config).samples
    assert [(m.role, m.content) for m in sample.messages] == [
        ("system", "Topic: math"),
        ("user", "[q1] What is 2+2? -> What is 2+2?"),
    ]


def test_no_system_message_unless_configured(tmp_path: Path) -> None:
    config = make_config(write(tmp_path, "raw.csv", CSV), fields={"input": "question"})
    (sample,) = build_dataset(config).samples
    assert [(m.role, m.content) for m in sample.messages] == [("user", "What is 2+2?")]


def test_doubled_braces_are_literal() -> None:
    assert render("{{input}} is {input}; {{ and }}", {"input": "x"}) == "{input} is x; { and }"


def test_json_braces_are_left_alone() -> None:
    template = 'Reply as JSON: {"answer": "...", "q": "{input}"} and {not an identifier}'
    assert render(template, {"input": "hi"}) == (
        'Reply as JSON: {"answer": "...", "q": "hi"} and {not an identifier}'
    )


def test_non_string_values_render_as_json() -> None:
    values = {"n": 3, "ok": True, "tags": ["a", "b"], "none": None}
    assert render("{n} {ok} {tags} [{none}]", values) == '3 true ["a", "b"] []'


def test_mapped_fields_win_over_same_named_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "input,question\nraw column,the question\n")
    config = make_config(path, fields={"input": "question"}, prompt={"template": "{input}"})
    (sample,) = build_dataset(config).samples
    assert sample.messages[0].content == "the question"
    assert sample.metadata == {"input": "raw column"}


def test_unknown_placeholder_names_field_columns_and_suggestion() -> None:
    prompt = PromptConfig(template="Q: {questoin}")
    with pytest.raises(DatasetError) as info:
        PromptRenderer(prompt, ["qid", "question", "answer"], "raw.csv", "pipeline.yaml")
    assert str(info.value) == (
        "pipeline.yaml: generator.prompt.template: unknown placeholder {questoin} "
        "(did you mean {question}?); available: {id}, {input}, {expected} and the columns of "
        "raw.csv: qid, question, answer (write {{ and }} for literal braces)"
    )


def test_unknown_placeholder_in_system_names_system_field(tmp_path: Path) -> None:
    config = make_config(
        write(tmp_path, "raw.csv", CSV),
        fields={"input": "question"},
        prompt={"system": "About {Topic}"},
    )
    message = build_error(config)
    assert "generator.prompt.system: unknown placeholder {Topic}" in message
    assert "did you mean {topic}?" in message


def test_placeholders_checked_once_even_without_matching_rows(tmp_path: Path) -> None:
    # A bad placeholder fails before any row is rendered: here every row would also fail.
    path = write(tmp_path, "raw.csv", "input\na\nb\n")
    message = build_error(make_config(path, prompt={"template": "{nope}"}))
    assert message.startswith("generator.prompt.template: unknown placeholder {nope}")


def test_row_without_a_placeholder_column_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", '{"input": "a", "hint": "h"}\n{"input": "b"}\n')
    message = build_error(make_config(path, prompt={"template": "{input} ({hint})"}))
    assert message == "data.jsonl:2: generator.prompt.template: no column 'hint' in this row"
