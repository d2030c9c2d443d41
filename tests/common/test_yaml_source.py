"""Reading pipeline.yaml: what yaml.safe_load reads, with lines, and one located error for the rest.

Control characters, bad encodings, recursive aliases, deep nesting, alias bombs, huge integers
and malformed ``${...}`` references are each one ``ConfigError`` naming file and line (never
an exception from PyYAML or Python escaping as an internal error); merge keys load exactly as
``yaml.safe_load`` loads them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from lm_eval_so._internal.common.errors import ConfigError
from lm_eval_so._internal.common.yaml_source import MAX_ALIAS_NODES, MAX_DEPTH, load_yaml, parse_yaml

NAME = Path("pipeline.yaml")
HEAD = "name: demo\ngenerator:\n  source: data.csv\n"


def error_of(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, NAME, env or {})
    return str(info.value)


def file_error(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_yaml(path, {})
    return str(info.value)


# --------------------------------------------------------------------------- text that is not text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "description: a\x00b\n", "pipeline.yaml:4: invalid YAML: character U+0000 (NUL) is not"),
        (HEAD + "runner:\n  back\x00end: x\n", "pipeline.yaml:5: invalid YAML: character U+0000 (NUL)"),
        (HEAD + "description: \x07\n", "pipeline.yaml:4: invalid YAML: character U+0007 (a control char"),
        ("\x1b[31mname: demo\n", "pipeline.yaml:1: invalid YAML: character U+001B"),
        ("name: a\r\r\rdescription: \x00\n", "pipeline.yaml:4: invalid YAML: character U+0000"),  # CR lines
    ],
)  # fmt: skip
def test_control_characters_are_one_error_at_their_line(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_bytes_that_are_not_utf8_name_the_line(tmp_path: Path) -> None:
    message = file_error(tmp_path, (HEAD + "description: caf\xe9\n").encode("latin-1"))
    assert message == "pipeline.yaml:4: not valid UTF-8 (byte 0xe9); save the file as UTF-8"


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + HEAD.encode(),  # UTF-8 with a BOM
        ("\ufeff" + HEAD).encode("utf-16-le"),  # UTF-16 with a BOM, as PyYAML reads it
        ("\ufeff" + HEAD).encode("utf-16-be"),
        HEAD.replace("\n", "\r\n").encode(),  # CRLF
    ],
)
def test_boms_and_crlf_load(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(data)
    source = load_yaml(path, {})
    assert source.data == {"name": "demo", "generator": {"source": "data.csv"}}
    assert source.lines[("generator", "source")] == 3


@pytest.mark.parametrize(
    ("value", "holds"),
    [
        ('"a\\0b"', "a NUL character"),
        ('"\\ud800"', "an unpaired surrogate (U+D800)"),
        ('"x \\udfff"', "an unpaired surrogate (U+DFFF)"),
        ('"\\ude00\\ud83d"', "an unpaired surrogate (U+DE00)"),  # a pair backwards
    ],
)
def test_escapes_that_are_not_text_are_refused_at_their_line(value: str, holds: str) -> None:
    message = error_of(HEAD + f"description: {value}\n")
    assert message.startswith(f"pipeline.yaml:4: description: the value holds {holds}")


def test_a_surrogate_pair_escape_is_the_character_it_encodes() -> None:
    # PyYAML leaves the two halves apart (no UTF-8 file could hold them); they are joined.
    text = HEAD + 'description: "smile \\ud83d\\ude00 \\U0001F600"\n'
    assert parse_yaml(text, NAME, {}).data["description"] == "smile \U0001f600 \U0001f600"


def test_an_integer_python_cannot_read_is_located() -> None:
    message = error_of(HEAD + "seed: " + "9" * 5000 + "\n")
    assert message.startswith("pipeline.yaml:4: invalid YAML: an integer of 5,000 digits")


def test_a_value_python_cannot_construct_is_located() -> None:
    message = error_of(HEAD + "description: 2024-13-45\n")  # read as a date by YAML 1.1
    assert message.startswith(
        "pipeline.yaml:4: invalid YAML: cannot read '2024-13-45': month must be in 1..12"
    )


# --------------------------------------------------------------------------- recursion


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (HEAD + "description: &a [*a]\n", 4),
        (HEAD + "runner: &r\n  options: *r\n", 5),
        (HEAD + "x: &x\n  - a\n  - [b, *x]\n", 6),
    ],
)
def test_a_recursive_alias_is_refused(text: str, line: int) -> None:
    message = error_of(text)
    assert message.startswith(f"pipeline.yaml:{line}: invalid YAML: the alias *")
    assert "(a recursive alias)" in message


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_refused_not_a_recursion_error(nested: str) -> None:
    message = error_of(HEAD + "description: " + nested + "\n")
    assert message == (
        f"pipeline.yaml:4: invalid YAML: nested more than {MAX_DEPTH} levels deep (aliases expanded); "
        "a pipeline never needs that"
    )


def test_deep_block_nesting_names_the_line_where_it_gets_too_deep() -> None:
    block = "".join("  " * i + "a:\n" for i in range(300)) + "  " * 300 + "1\n"
    message = error_of(HEAD + block)
    # The root mapping is level 1: the value under the 99th nested `a:` is level 101.
    assert message.startswith(f"pipeline.yaml:{3 + MAX_DEPTH}: invalid YAML: nested more than")


def test_nesting_up_to_the_limit_loads() -> None:
    depth = MAX_DEPTH - 2  # the root mapping and the `description` value are two levels
    data = parse_yaml(HEAD + "description: " + "[" * depth + "]" * depth + "\n", NAME, {}).data
    assert isinstance(data["description"], list)


def test_depth_through_aliases_counts() -> None:
    # Each anchor nests the previous one once more: written shallow, expanded deep.
    lines = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, MAX_DEPTH + 5)]
    message = error_of("\n".join(lines) + "\n")
    assert "nested more than 100 levels deep (aliases expanded)" in message
    # l{i} (line i + 1) holds *l{i-1}, i + 1 levels, inside two: too deep from i = 98.
    assert message.startswith(f"pipeline.yaml:{MAX_DEPTH - 1}:")


# --------------------------------------------------------------------------- alias bombs


def billion_laughs(levels: int, width: int = 9) -> str:
    rows = ["a: &a [" + ", ".join(["lol"] * width) + "]"]
    for index in range(1, levels):
        name, previous = chr(ord("a") + index), chr(ord("a") + index - 1)
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]")
    return HEAD + "runner:\n  options:\n" + "".join(f"    {row}\n" for row in rows)


def test_an_alias_bomb_is_refused_quickly_at_the_alias_that_crosses_the_limit() -> None:
    text = billion_laughs(levels=9)  # ~1.2 KB that would expand to 9**9 = 387 million values
    started = time.perf_counter()
    message = error_of(text)
    assert time.perf_counter() - started < 5  # refused while composing, before any expansion
    # The aliases of rows b, c and d add 90, 819 and 7,380 values; the first *d crosses 10,000.
    assert message.startswith("pipeline.yaml:10: invalid YAML: aliases (here *d) expand to more than 10,000")
    assert "(is this an alias bomb?)" in message


def test_aliases_within_the_limit_load_as_safe_load_loads_them() -> None:
    text = billion_laughs(levels=3)  # 9 + 81 + 729 = 819 values through aliases
    assert parse_yaml(text, NAME, {}).data == yaml.safe_load(text)


def test_the_alias_limit_counts_every_alias_of_the_document() -> None:
    block = "x: &x [" + ", ".join(["w"] * 99) + "]\n"  # 100 values
    fine = block + "y: [" + ", ".join(["*x"] * (MAX_ALIAS_NODES // 100)) + "]\n"
    assert len(parse_yaml(fine, NAME, {}).data["y"]) == MAX_ALIAS_NODES // 100
    over = fine + "z: [*x]\n"
    assert error_of(over).startswith("pipeline.yaml:3: invalid YAML: aliases (here *x) expand to more than")


# --------------------------------------------------------------------------- merge keys


MERGES = {
    "override-in-a-list": (
        HEAD + "evaluator:\n  metrics:\n"
        "    - &base_em\n      type: exact_match\n      normalize: [strip, lower]\n"
        "    - <<: *base_em\n      name: em_strict\n      normalize: [strip]\n"
    ),
    "merge-after-keys": "base: &b {a: 1, b: 2}\nx:\n  b: 3\n  <<: *b\n",
    "list-of-merges": "p: &p {a: 1, b: 1}\nq: &q {b: 2, c: 2}\nx:\n  <<: [*p, *q]\n  c: 3\n",
    "nested-merges": "a: &a {x: 1}\nb: &b\n  <<: *a\n  y: 2\nc:\n  <<: *b\n  z: 3\n",
    "inline-merge": "x:\n  <<: {a: 1, b: 1}\n  b: 2\n",
    "two-merge-keys": "p: &p {a: 1}\nq: &q {a: 2}\nx:\n  <<: *p\n  <<: *q\n",
    "merged-twice": "p: &p {a: 1, b: [1, 2]}\nx: {<<: *p, a: 2}\ny: {<<: *p, b: 3}\n",
}  # fmt: skip


@pytest.mark.parametrize("text", list(MERGES.values()), ids=list(MERGES))
def test_merge_keys_load_exactly_as_safe_load_loads_them(text: str) -> None:
    assert parse_yaml(text, NAME, {}).data == yaml.safe_load(text)


def test_merged_and_overridden_keys_keep_the_line_where_their_value_is_written() -> None:
    source = parse_yaml(MERGES["override-in-a-list"], NAME, {})
    assert source.data["evaluator"]["metrics"][1] == {
        "type": "exact_match",
        "normalize": ["strip"],
        "name": "em_strict",
    }
    lines = source.lines
    assert lines[("evaluator", "metrics", 1)] == 9
    assert lines[("evaluator", "metrics", 1, "type")] == 7  # merged from the anchor
    assert lines[("evaluator", "metrics", 1, "name")] == 10
    assert lines[("evaluator", "metrics", 1, "normalize")] == 11  # the override, not line 8
    assert lines[("evaluator", "metrics", 1, "normalize", 0)] == 11
    assert lines[("evaluator", "metrics", 0, "normalize")] == 8


def test_a_key_written_twice_is_still_a_duplicate_with_merges_around() -> None:
    text = "p: &p {a: 1}\nx:\n  <<: *p\n  b: 1\n  b: 2\n"
    assert error_of(text) == "pipeline.yaml:5: x.b: duplicate key (first defined on line 4)"
    inside = "p: &p {a: 1, a: 2}\nx: {<<: *p}\n"
    assert error_of(inside) == "pipeline.yaml:1: p.a: duplicate key (first defined on line 1)"


def test_a_merge_of_something_not_a_mapping_is_located() -> None:
    message = error_of(HEAD + "description: &l [1]\nrunner:\n  <<: *l\n")
    assert message.startswith("pipeline.yaml:") and "for merging" in message


# --------------------------------------------------------------------------- ${...} references


@pytest.mark.parametrize(
    "reference",
    [
        "${OPENAI_MODEL",
        "${1BAD}",
        "${OPENAI_MODEL:gpt-4o}",
        "${}",
        "${ OPENAI_MODEL }",
        "${A:-${B}}",
        "${OPENAI_MODEL-gpt}",
        "${OPENAI_MODEL:?required}",
        "${",
        "${a.b}",
    ],
)
def test_a_malformed_reference_is_an_error_at_its_line(reference: str) -> None:
    env = {"OPENAI_MODEL": "gpt-4o", "A": "a", "B": "b"}
    message = error_of(HEAD + f"runner:\n  model: 'v-{reference}'\n", env)
    shown = reference[: reference.index("}") + 1] if "}" in reference else reference
    assert message == (
        f"pipeline.yaml:5: runner.model: malformed variable reference {shown!r}; write ${{NAME}} or "
        "${NAME:-default} (NAME: letters, digits and _, not starting with a digit), or $${ for a literal ${"
    )


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("${MODEL}", "gpt-4o"),
        ("${UNSET:-fallback}", "fallback"),
        ("${UNSET:-}", ""),
        ("$${MODEL}", "${MODEL}"),
        ("$$${MODEL}", "$${MODEL}"),  # `$${` is the escape; the `$` before it stays
        ("cost $5 and $$ and ${MODEL}", "cost $5 and $$ and gpt-4o"),
        ("{a: ${MODEL}}", "{a: gpt-4o}"),
        ("${MODEL}${MODEL}", "gpt-4ogpt-4o"),
    ],
)
def test_well_formed_references_and_escapes(written: str, loaded: str) -> None:
    data = parse_yaml(HEAD + f"runner:\n  model: '{written}'\n", NAME, {"MODEL": "gpt-4o"}).data
    assert data["runner"]["model"] == loaded


def test_malformed_references_are_found_in_lists_and_nested_values() -> None:
    text = HEAD + "evaluator:\n  metrics:\n    - type: contains_any\n      values: [ok, '${WORD']\n"
    assert error_of(text).startswith("pipeline.yaml:7: evaluator.metrics[0].values[1]: malformed variable")


# --------------------------------------------------------------------------- keys and lines


def test_keys_of_other_types_keep_their_lines() -> None:
    source = parse_yaml(HEAD + "1: one\n~: none\n2.5: x\n", NAME, {})
    assert source.lines[(1,)] == 4 and source.lines[("None",)] == 5 and source.lines[("2.5",)] == 6


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_yaml(tmp_path)
