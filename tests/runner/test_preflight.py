"""What can fail without a model call fails before any run directory exists or any call is made."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from runner_pipelines import cli, write_pipeline

from lm_eval_so import run_pipeline


def python_pipeline(
    folder: Path, extra_evaluator: str = "", data: str = "id,input,expected\na,one,ONE\n"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(
        "import pathlib\n\ndef answer(input):\n"
        "    pathlib.Path(__file__).with_name('CALLED').write_text('yes')\n    return input.upper()\n"
    )
    (folder / "data.csv").write_text(data)
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: pre\nworkspace: ws\ngenerator: {source: data.csv}\n"
        "runner: {backend: python, function: 'app:answer'}\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n" + extra_evaluator
    )
    return path


def test_a_judge_without_its_key_fails_before_any_call(tmp_path: Path) -> None:
    judge = (
        "    - type: llm_judge\n      rubric: right\n"
        "      judge: {backend: openai, model: gpt-4o-mini, api_key_env: NO_SUCH_JUDGE_KEY}\n"
    )
    path = python_pipeline(tmp_path, judge)
    proc = cli("run", path, cwd=tmp_path)
    assert proc.returncode == 2 and "NO_SUCH_JUDGE_KEY" in proc.stderr, proc.stderr
    assert not (tmp_path / "CALLED").exists() and not (tmp_path / "ws" / "runs").exists()


def test_a_metric_needing_references_the_data_lacks_fails_before_any_call(tmp_path: Path) -> None:
    path = python_pipeline(tmp_path, data="id,input\na,one\n")
    path.write_text(
        path.read_text().replace(
            "generator: {source: data.csv}", "generator: {source: data.csv, fields: {expected: null}}"
        )
    )
    proc = cli("run", path, cwd=tmp_path)
    assert proc.returncode == 2 and "needs an expected answer" in proc.stderr, proc.stderr
    assert not (tmp_path / "CALLED").exists() and not (tmp_path / "ws" / "runs").exists()


def test_an_unimportable_function_is_located_and_writes_nothing(tmp_path: Path) -> None:
    path = python_pipeline(tmp_path)
    path.write_text(path.read_text().replace("'app:answer'", "'nope:answer'"))
    proc = cli("run", path, cwd=tmp_path)
    assert proc.returncode == 2 and "pipeline.yaml:4: runner.function: cannot import 'nope'" in proc.stderr
    assert not (tmp_path / "ws").exists()


def test_a_bad_line_of_a_hand_written_dataset_fails_before_the_run(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, "backend: python\nfunction: 'app:answer'", n=2)
    (tmp_path / "app.py").write_text("def answer(input):\n    return input\n")
    dataset = tmp_path / "hand" / "dataset.jsonl"
    dataset.parent.mkdir()
    good = {"id": "a", "input": "q", "expected": "x", "messages": [{"role": "user", "content": "q"}]}
    dataset.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "expected": "  "}) + "\n")
    proc = cli("runner", pipeline, "--dataset", dataset, cwd=tmp_path)
    assert proc.returncode == 2 and f"{dataset}:2:" in proc.stderr and "blank" in proc.stderr, proc.stderr
    assert not (tmp_path / "ws" / "runs").exists()


def test_each_pipeline_gets_its_own_app_module_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "app", raising=False)  # restored (or removed) afterwards
    # Folders other tests' pipelines appended would answer `import app` first: start clean.
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if "pytest-of-" not in entry])
    first = python_pipeline(tmp_path / "a")
    second = python_pipeline(tmp_path / "b")
    (tmp_path / "b" / "app.py").write_text("def answer(input):\n    return 'b answers differently'\n")

    def outputs(path: Path) -> set[str | None]:
        result = run_pipeline(path, workspace_dir=tmp_path / "ws")
        return {s.result.output for s in result.samples()}

    assert outputs(first) == {"ONE"}
    assert outputs(second) == {"b answers differently"}  # not a's app, silently
    assert outputs(first) == {"ONE"}  # and a's again for a


def test_a_module_named_like_an_installed_package_is_not_shadowed(tmp_path: Path) -> None:
    path = python_pipeline(tmp_path)
    (tmp_path / "yaml.py").write_text("def answer(input):\n    return input\n")
    path.write_text(path.read_text().replace("'app:answer'", "'yaml:answer'"))
    # The console script, as users run it (`python -m` would put the cwd, and its yaml.py, first).
    script = Path(sys.executable).with_name("lm-eval-so")
    proc = subprocess.run([str(script), "run", str(path)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and "runner.function: cannot import 'yaml'" in proc.stderr, proc.stderr
    assert "site-packages" in proc.stderr and "next to pipeline.yaml" in proc.stderr
