"""build_dataset: column mapping, value conversion, ids, shuffle/limit and hashing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from gen_support import build_error, make_config, write

from lm_eval_so._internal.generator import build_dataset

QA = "qid,question,answer,topic\nq1,Capital of France?,Paris,geo\nq2,2+2?,4,math\n"


def numbered_csv(tmp_path: Path, n: int) -> Path:
    return write(tmp_path, "raw.csv", "id,input\n" + "".join(f"s{i},q{i}\n" for i in range(n)))


# --------------------------------------------------------------------------- mapping


def test_custom_column_names_and_metadata(tmp_path: Path) -> None:
    config = make_config(
        write(tmp_path, "raw.csv", QA),
        fields={"id": "qid", "input": "question", "expected": "answer"},
    )
    built = build_dataset(config)
    assert [(s.id, s.input, s.expected, s.metadata) for s in built.samples] == [
        ("q1", "Capital of France?", "Paris", {"topic": "geo"}),
        ("q2", "2+2?", "4", {"topic": "math"}),
    ]
    assert built.dataset_id == "raw"


def test_ids_are_row_numbers_without_an_id_column(tmp_path: Path) -> None:
    built = build_dataset(make_config(write(tmp_path, "raw.csv", "input\na\n\nb\n")))
    assert [(s.id, s.input, s.expected) for s in built.samples] == [
        ("1", "a", None),
        ("2", "b", None),
    ]


def test_an_id_column_is_used_when_fields_id_is_unset(tmp_path: Path) -> None:
    built = build_dataset(make_config(write(tmp_path, "raw.csv", "id,input,expected\ns1,a,b\n")))
    assert [(s.id, s.metadata) for s in built.samples] == [("s1", {})]


def test_missing_column_names_file_column_field_and_suggestion(tmp_path: Path) -> None:
    config = make_config(write(tmp_path, "raw.csv", QA), fields={"input": "questoin"})
    assert build_error(config) == (
        "raw.csv: column 'questoin' (generator.fields.input) not found "
        "(did you mean 'question'?); columns: qid, question, answer, topic"
    )


def test_explicit_expected_column_must_exist(tmp_path: Path) -> None:
    config = make_config(write(tmp_path, "raw.csv", "input\na\n"), fields={"expected": "expected"})
    assert "column 'expected' (generator.fields.expected) not found" in build_error(config)


def test_missing_id_column_names_id_field(tmp_path: Path) -> None:
    config = make_config(write(tmp_path, "raw.csv", QA), fields={"id": "QID", "input": "question"})
    assert "column 'QID' (generator.fields.id) not found (did you mean 'qid'?)" in build_error(config)


def test_empty_required_value_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "id,input\na,x\nb,  \n")
    assert build_error(make_config(path)) == ("raw.csv:3: column 'input' (generator.fields.input) is empty")


def test_empty_expected_means_no_reference(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "input,expected\na,yes\nb,\n")
    assert [s.expected for s in build_dataset(make_config(path)).samples] == ["yes", None]


def test_json_scalars_become_strings_and_lists_stay_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data.jsonl",
        '{"id": 7, "input": "2+2?", "expected": 4, "flag": false}\n'
        '{"id": 8, "input": true, "expected": ["four", 4]}\n',
    )
    samples = build_dataset(make_config(path)).samples
    assert [(s.id, s.input, s.expected) for s in samples] == [
        ("7", "2+2?", "4"),
        ("8", "true", ["four", "4"]),
    ]
    # Unmapped values keep their JSON type in metadata.
    assert samples[0].metadata == {"flag": False}


def test_object_as_input_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", '{"input": {"text": "a"}}\n')
    assert build_error(make_config(path)) == (
        "data.jsonl:1: column 'input': expected text or a number, got an object"
    )


def test_duplicate_ids_name_both_locations(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", "id,input\na,1\nb,2\na,3\n")
    assert build_error(make_config(path)) == "raw.csv:4: duplicate id 'a' (first at raw.csv:2)"


def test_source_without_rows_is_an_error(tmp_path: Path) -> None:
    assert "no rows" in build_error(make_config(write(tmp_path, "raw.csv", "id,input\n")))


# --------------------------------------------------------------------------- selection


def ids(config: Any) -> list[str]:
    return [s.id for s in build_dataset(config).samples]


def test_shuffle_is_deterministic_per_seed(tmp_path: Path) -> None:
    path = numbered_csv(tmp_path, 30)
    in_order = [f"s{i}" for i in range(30)]
    first = ids(make_config(path, shuffle=True, seed=1))
    assert first == ids(make_config(path, shuffle=True, seed=1))
    assert first != in_order and sorted(first) == sorted(in_order)
    assert first != ids(make_config(path, shuffle=True, seed=2))


def test_generator_seed_overrides_pipeline_seed(tmp_path: Path) -> None:
    path = numbered_csv(tmp_path, 30)
    by_pipeline = ids(make_config(path, shuffle=True, pipeline_seed=1))
    assert ids(make_config(path, shuffle=True, pipeline_seed=5, seed=1)) == by_pipeline
    assert ids(make_config(path, shuffle=True, pipeline_seed=5)) != by_pipeline


def test_limit_after_shuffle_and_without(tmp_path: Path) -> None:
    path = numbered_csv(tmp_path, 30)
    assert ids(make_config(path, limit=3)) == ["s0", "s1", "s2"]
    shuffled = ids(make_config(path, shuffle=True, seed=3))
    assert ids(make_config(path, shuffle=True, seed=3, limit=3)) == shuffled[:3]


# --------------------------------------------------------------------------- hashing


def test_content_hash_is_sha256_of_the_jsonl_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", QA)
    config = make_config(path, fields={"id": "qid", "input": "question", "expected": "answer"})
    built = build_dataset(config)
    expected_bytes = "".join(s.model_dump_json() + "\n" for s in built.samples).encode()
    assert built.payload == expected_bytes
    assert built.content_hash == hashlib.sha256(expected_bytes).hexdigest()
    assert built.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # Stable across builds; a different prompt is a different dataset.
    assert build_dataset(config).content_hash == built.content_hash
    changed = config.model_copy(deep=True)
    changed.generator.prompt.template = "Q: {input}"
    assert build_dataset(changed).content_hash != built.content_hash


def test_manifest_describes_the_build(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", QA)
    built = build_dataset(make_config(path, fields={"input": "question"}, dataset_id="qa"))
    manifest = built.manifest()
    assert (manifest.dataset_id, manifest.n_samples) == ("qa", 2)
    assert (manifest.content_hash, manifest.source_sha256) == (
        built.content_hash,
        built.source_sha256,
    )
    assert manifest.source == str(path)
    assert manifest.generator["fields"]["input"] == "question"
