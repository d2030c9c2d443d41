"""``python -m lm_eval_so._internal.runner.cli`` as a user runs it: a subprocess, chained by its stdout."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from runner_helpers import KEY, run_module, samples, write_dataset

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.records import RunResult

MODULE = "lm_eval_so._internal.runner.cli"


def pipeline(tmp_path: Path, runner: str) -> Path:
    (tmp_path / "data.csv").write_text("id,input,expected\n1,a,b\n")
    path = tmp_path / "pipeline.yaml"
    text = f"name: cli_demo\ngenerator:\n  source: data.csv\nrunner:\n{textwrap.indent(runner, '  ')}"
    path.write_text(text)
    return path


def test_prints_only_the_run_directory(fake_openai: ServerThread, tmp_path: Path) -> None:
    config = pipeline(tmp_path, f"backend: openai\nmodel: gpt-4o-mini\nbase_url: {fake_openai.base_url}\n")
    dataset = write_dataset(tmp_path, samples(3))

    proc = run_module(
        MODULE,
        [config, "--dataset", dataset, "--workspace-dir", tmp_path / "ws"],
        env={"OPENAI_API_KEY": KEY},
        cwd=tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip())
    assert proc.stdout == f"{run_dir}\n"
    assert run_dir.parent == tmp_path / "ws" / "runs"
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(RunResult.model_validate_json(line).ok for line in lines)
    # gpt-4o-mini prices 15 tokens at a few millionths of a dollar: shown as such, not as $0.
    assert "3 results (0 from cache), 0 errors" in proc.stderr
    assert re.search(r"cost \$0\.0000\d*[1-9]", proc.stderr), proc.stderr
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 3


def test_failed_calls_are_results_not_a_failed_command(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=100)
    runner = f"backend: openai\nmodel: gpt-4o-mini\nbase_url: {fake_openai.base_url}\nmax_retries: 0\n"
    dataset = write_dataset(tmp_path, samples(2))

    proc = run_module(
        MODULE,
        [pipeline(tmp_path, runner), "--dataset", dataset],
        env={"OPENAI_API_KEY": KEY},
        cwd=tmp_path,
    )

    assert proc.returncode == 0, proc.stderr
    assert "2 results (0 from cache), 2 errors" in proc.stderr
    manifest = json.loads((Path(proc.stdout.strip()) / "manifest.json").read_text())
    assert manifest["status"] == "unscored"  # every result is in; the evaluator has not run


def test_a_missing_key_is_one_clean_line_and_exit_2(tmp_path: Path) -> None:
    config = pipeline(tmp_path, "backend: openai\nmodel: gpt-4o-mini\n")
    dataset = write_dataset(tmp_path, samples(1))

    proc = run_module(MODULE, [config, "--dataset", dataset], env={}, cwd=tmp_path)

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    [error] = [line for line in proc.stderr.splitlines() if line.startswith("lm-eval-so: error:")]
    assert "OPENAI_API_KEY" in error and "runner.api_key_env" in error
    assert not (tmp_path / "workspace" / "runs").exists()


def test_a_python_function_next_to_the_pipeline(tmp_path: Path) -> None:
    (tmp_path / "my_app.py").write_text("def answer(input):\n    return input[::-1]\n")
    config = pipeline(tmp_path, "backend: python\nfunction: my_app:answer\n")
    dataset = write_dataset(tmp_path, samples(2))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    proc = run_module(MODULE, [config, "--dataset", dataset], env={}, cwd=elsewhere)

    assert proc.returncode == 0, proc.stderr
    results = [
        RunResult.model_validate_json(line)
        for line in (Path(proc.stdout.strip()) / "results.jsonl").read_text().splitlines()
    ]
    assert sorted(r.output or "" for r in results) == ["0 noitseuq", "1 noitseuq"]
    assert "cost $0.0000" in proc.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = run_module(MODULE, [], env={}, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
