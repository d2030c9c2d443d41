"""``python -m lm_eval_so._internal.generator.cli``: path on stdout, status on stderr, clean errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_so._internal.common.records import DatasetSample
from lm_eval_so._internal.common.workspace import iter_jsonl
from lm_eval_so._internal.generator import cli

# The generator needs no reporter: `formats: []` keeps this independent of the report layer.
PIPELINE = """\
name: gen_cli
generator:
  source: data/raw.csv
  dataset_id: support
  fields: {input: question, expected: answer}
evaluator:
  metrics:
    - type: exact_match
  report:
    formats: []
"""


def gen_dataset(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so._internal.generator.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("id,question,answer\na,Hi?,Hello\nb,Bye?,Ciao\n")
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE)
    return path


def test_prints_only_the_dataset_path(pipeline: Path) -> None:
    first = gen_dataset(pipeline)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip())
    assert first.stdout == f"{path}\n"
    assert path.parent.parent == pipeline.parent / "workspace" / "datasets" / "support"
    assert [s.input for s in iter_jsonl(path, DatasetSample)] == ["Hi?", "Bye?"]
    assert "dataset support: 2 samples" in first.stderr and "(created)" in first.stderr

    second = gen_dataset(pipeline)
    assert second.stdout == first.stdout
    assert "(reused)" in second.stderr


def test_workspace_dir_option(pipeline: Path, tmp_path: Path) -> None:
    result = gen_dataset(pipeline, "--workspace-dir", tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(tmp_path / "elsewhere" / "datasets")


def test_malformed_csv_is_a_clean_error(pipeline: Path) -> None:
    raw = pipeline.parent / "data" / "raw.csv"
    raw.write_text("id,question,answer\na,Hi?,Hello\nb,Bye?,Ciao,extra\n")
    result = gen_dataset(pipeline)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "lm-eval-so: error: raw.csv:3: row has 4 fields, the header (line 1) has 3"
    )


def test_main_in_process(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(pipeline)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("dataset.jsonl\n") and Path(out.strip()).is_file()
    assert cli.main([str(pipeline.parent / "missing.yaml")]) == 2
    assert "missing.yaml: file not found" in capsys.readouterr().err
