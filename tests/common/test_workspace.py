"""The workspace never overwrites a run and writes whole files atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.common.records import RunResult, Usage
from lm_eval_so._internal.common.redact import Redactor
from lm_eval_so._internal.common.workspace import (
    JsonlWriter,
    Workspace,
    atomic_write_json,
    iter_jsonl,
)


def test_new_runs_never_collide(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    runs = [ws.new_run("demo", "abcdef0123456789") for _ in range(3)]
    assert len({r.path for r in runs}) == 3
    assert all(r.path.parent == ws.runs_dir for r in runs)
    assert runs[0].run_id.endswith("-demo-abcdef01")
    assert runs[1].run_id == runs[0].run_id + "-2" or runs[1].run_id[:16] != runs[0].run_id[:16]


def test_existing_run_is_left_untouched(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    first = ws.new_run("demo", "0" * 16)
    (first.results).write_text("keep me\n")
    second = ws.new_run("demo", "0" * 16)
    assert second.path != first.path
    assert first.results.read_text() == "keep me\n"


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "summary.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]


def test_jsonl_roundtrip_and_line_numbered_errors(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(RunResult(sample_id="a", output="x", usage=Usage(total_tokens=3)))
        writer.write(RunResult(sample_id="b", output="y"))
    assert [r.sample_id for r in iter_jsonl(path, RunResult)] == ["a", "b"]
    with path.open("a") as handle:
        handle.write('{"not": "a result"}\n')
    with pytest.raises(ArtifactError, match=r"results.jsonl:3: not a valid RunResult \(sample_id"):
        list(iter_jsonl(path, RunResult))


def test_run_lookup_by_id_or_path(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    run = ws.new_run("demo", "1" * 16)
    assert ws.run(run.run_id).path == run.path
    assert ws.run(run.path).path == run.path
    with pytest.raises(ArtifactError, match="no such run directory"):
        ws.run("missing")


def test_redactor_replaces_secrets_everywhere() -> None:
    redactor = Redactor(["sk-secret-123456", "abc"])  # too-short values are ignored
    data = {
        "url": "http://h/?key=sk-secret-123456",
        "list": ["sk-secret-123456"],
        "n": 3,
        "w": "abc",
    }
    assert redactor.obj(data) == {"url": "http://h/?key=***", "list": ["***"], "n": 3, "w": "abc"}


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    import os

    target = tmp_path / "report.html"
    atomic_write_json(target, {})
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    assert os.stat(target).st_mode & 0o777 == os.stat(plain).st_mode & 0o777


def test_atomic_jsonl_replaces_whole_file_with_normal_permissions(tmp_path: Path) -> None:
    import os

    from lm_eval_so._internal.common.workspace import atomic_jsonl

    target = tmp_path / "scores.jsonl"
    target.write_text("old line\n")
    with pytest.raises(RuntimeError), atomic_jsonl(target) as writer:
        writer.write(RunResult(sample_id="x"))
        raise RuntimeError("scoring failed halfway")
    assert target.read_text() == "old line\n"  # a failed re-score leaves the old file
    with atomic_jsonl(target) as writer:
        writer.write(RunResult(sample_id="a"))
    assert [r.sample_id for r in iter_jsonl(target, RunResult)] == ["a"]
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    assert os.stat(target).st_mode & 0o777 == os.stat(plain).st_mode & 0o777
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
