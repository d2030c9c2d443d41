"""Bad input gets one clear message naming file, line and field — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import run_cli

GOOD_CSV = "id,input,expected\n1,What is 2+2?,4\n2,Capital of France?,Paris\n"


def write(tmp_path: Path, yaml_text: str, csv_text: str = GOOD_CSV) -> Path:
    (tmp_path / "data.csv").write_text(csv_text)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml_text)
    return path


BASE = """\
name: demo
generator:
  source: data.csv
runner:
  backend: openai
  model: gpt-4o-mini
"""


def assert_clean_error(proc, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("yaml_text", "fragments"),
    [
        pytest.param(
            BASE + "  params:\n    temperature: [1\n",
            ["lm-eval-so: error: pipeline.yaml:", "invalid YAML"],
            id="bad-yaml",
        ),
        pytest.param(
            BASE + "  concurency: 4\n",
            ["pipeline.yaml:7: runner.concurency: unknown key 'concurency' (did you mean 'concurrency'?)"],
            id="unknown-key",
        ),
        pytest.param(
            BASE + "  params:\n    temperature: hot\n",
            [
                "pipeline.yaml:8: runner.params.temperature: input should be a valid number",
                "(got 'hot')",
            ],
            id="wrong-type",
        ),
        pytest.param(
            BASE + "  params:\n    temperature: 7\n",
            ["pipeline.yaml:8: runner.params.temperature: must be <= 2.0 (got 7)"],
            id="out-of-range",
        ),
    ],
)
def test_config_errors(tmp_path: Path, yaml_text: str, fragments: list[str]) -> None:
    proc = run_cli(["run", write(tmp_path, yaml_text)])
    assert_clean_error(proc, *fragments)


def test_missing_source_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("data.csv", "missing.csv"))
    proc = run_cli(["run", path, "--dry-run"])
    assert_clean_error(proc, "missing.csv", "not found")


def test_malformed_csv_names_file_line(tmp_path: Path) -> None:
    bad = "id,input,expected\n1,ok,4\n2,too,many,fields\n"
    proc = run_cli(["run", write(tmp_path, BASE, bad), "--dry-run"])
    assert_clean_error(proc, "data.csv:3")


def test_missing_column_names_field(tmp_path: Path) -> None:
    text = BASE.replace("  source: data.csv\n", "  source: data.csv\n  fields: {input: question}\n")
    proc = run_cli(["run", write(tmp_path, text), "--dry-run"])
    assert_clean_error(proc, "question", "generator.fields.input")


def test_missing_api_key_stops_before_any_run(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    proc = run_cli(["run", path, "--workspace-dir", tmp_path / "ws"])
    assert_clean_error(proc, "OPENAI_API_KEY", "runner.api_key_env")
    assert not (tmp_path / "ws" / "runs").exists() or not any((tmp_path / "ws" / "runs").iterdir())


def test_missing_config_file(tmp_path: Path) -> None:
    proc = run_cli(["run", tmp_path / "nope.yaml"])
    assert_clean_error(proc, "nope.yaml: file not found")


def test_usage_error_exits_2() -> None:
    proc = run_cli(["run"])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_dry_run_plans_without_calling_a_model(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    proc = run_cli(
        ["run", path, "--dry-run", "--workspace-dir", tmp_path / "ws"],
        env={"OPENAI_API_KEY": "sk-x"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 samples" in proc.stdout
    assert "openai, model gpt-4o-mini" in proc.stdout
    assert "2 (2 samples x 1 repeats)" in proc.stdout
    assert "generator -> runner -> evaluator" in proc.stdout
    assert not (tmp_path / "ws").exists()  # a dry run writes nothing
