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


# --------------------------------------------------------------------------- robustness (the CLI end to end)

APP_PIPELINE = """\
name: demo
generator:
  source: data.csv
runner:
  backend: python
  function: cli_errors_app:answer
"""
APP = "def answer(input):\n    open('called', 'a').write(input + '\\n')\n    return '4'\n"


def write_app(tmp_path: Path, yaml_text: str | bytes) -> Path:
    (tmp_path / "data.csv").write_text(GOOD_CSV)
    (tmp_path / "cli_errors_app.py").write_text(APP)
    path = tmp_path / "pipeline.yaml"
    if isinstance(yaml_text, bytes):
        path.write_bytes(yaml_text)
    else:
        path.write_text(yaml_text)
    return path


def assert_refused_before_any_run(proc, tmp_path: Path, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert_clean_error(proc, *fragments)
    assert proc.stderr.count("lm-eval-so: error:") == 1
    assert not (tmp_path / "ws" / "runs").exists()
    assert not (tmp_path / "called").exists()  # no model call was made


@pytest.mark.parametrize(
    ("yaml_text", "fragments"),
    [
        pytest.param(
            APP_PIPELINE.encode() + b"description: a\x00b\n",
            ["pipeline.yaml:7: invalid YAML: character U+0000 (NUL) is not allowed in YAML"],
            id="nul-byte",
        ),
        pytest.param(
            APP_PIPELINE + "description: &a [*a]\n",
            [
                "pipeline.yaml:7: invalid YAML: the alias *a is inside the node &a it names "
                "(a recursive alias)"
            ],
            id="recursive-alias",
        ),
        pytest.param(
            APP_PIPELINE + "description: " + "[" * 5000 + "]" * 5000 + "\n",
            ["pipeline.yaml:7: invalid YAML: nested more than 100 levels deep"],
            id="deep-nesting",
        ),
        pytest.param(
            APP_PIPELINE.replace("data.csv", "data.csv\n  limit: 1.0e+30"),
            ["pipeline.yaml:4: generator.limit: is far too large (got 1e+30)"],
            id="limit-1e30",
        ),
        pytest.param(
            APP_PIPELINE + "  timeout_s: .inf\n",
            ["pipeline.yaml:7: runner.timeout_s: input should be a finite number"],
            id="timeout-inf",
        ),
        pytest.param(
            APP_PIPELINE + "  model: ${OPENAI_MODEL:gpt-4o}\n",
            ["pipeline.yaml:7: runner.model: malformed variable reference '${OPENAI_MODEL:gpt-4o}'"],
            id="malformed-interpolation",
        ),
        pytest.param(
            APP_PIPELINE + "workspace: ws\n",
            ["pipeline.yaml:7: workspace: ", "ws is a file, not a directory"],
            id="workspace-is-a-file",
        ),
        pytest.param(
            APP_PIPELINE
            + "evaluator:\n  metrics:\n    - type: python\n      function: cli_errors_app:scroe\n",
            ["pipeline.yaml:10: evaluator.metrics[0].function: cannot import 'cli_errors_app:scroe'"],
            id="python-metric-typo",
        ),
    ],
)
def test_bad_input_is_refused_before_any_run(
    tmp_path: Path, yaml_text: str | bytes, fragments: list[str]
) -> None:
    path = write_app(tmp_path, yaml_text)
    if "workspace: ws" in str(yaml_text):
        (tmp_path / "ws").write_text("a file, not a folder")
        proc = run_cli(["run", path], cwd=tmp_path)
    else:
        proc = run_cli(["run", path, "--workspace-dir", tmp_path / "ws"], cwd=tmp_path)
    assert_refused_before_any_run(proc, tmp_path, *fragments)


def test_a_json_source_nested_100k_deep_is_a_located_error(tmp_path: Path) -> None:
    path = write_app(tmp_path, APP_PIPELINE.replace("data.csv", "data.jsonl"))
    (tmp_path / "data.jsonl").write_text('{"id": "1", "input": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    proc = run_cli(["run", path, "--workspace-dir", tmp_path / "ws"], cwd=tmp_path)
    assert_refused_before_any_run(proc, tmp_path, "data.jsonl:1: nested more than 100 levels deep")


def test_an_override_is_checked_like_the_file(tmp_path: Path) -> None:
    path = write_app(tmp_path, APP_PIPELINE)
    proc = run_cli(
        ["run", path, "--workspace-dir", tmp_path / "ws", "--set", "evaluator.metrics.0.threshold=80"],
        cwd=tmp_path,
    )
    assert_refused_before_any_run(
        proc,
        tmp_path,
        "override evaluator.metrics.0.threshold=80: evaluator.metrics[0].threshold.min: "
        "must be within the score range of exact_match, 0 to 1 (got 80); scores are fractions: "
        "did you mean 0.8?",
    )


def test_a_merge_key_with_an_override_runs(tmp_path: Path) -> None:
    path = write_app(
        tmp_path,
        APP_PIPELINE + "evaluator:\n  metrics:\n    - &base_em\n      type: exact_match\n"
        "      normalize: [strip, lower]\n"
        "    - <<: *base_em\n      name: em_strict\n      normalize: [strip]\n",
    )
    proc = run_cli(["run", path, "--workspace-dir", tmp_path / "ws"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "em_strict" in proc.stderr and "exact_match" in proc.stderr


def test_a_reader_that_goes_away_is_no_internal_error() -> None:
    # `lm-eval-so plugins | head -1`: our stdout's reader closed before we wrote.
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "lm_eval_so", "plugins"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_a_broken_pipe_mid_command_ends_it_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    from lm_eval_so._internal.common.cli_support import EXIT_BROKEN_PIPE, guarded

    def writes_to_a_closed_pipe() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert guarded(writes_to_a_closed_pipe) == EXIT_BROKEN_PIPE == 141
    assert capsys.readouterr().err == ""
