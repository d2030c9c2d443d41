"""The example plugin package, installed with pip, works by name from YAML, the CLI and pytest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_so import run_pipeline
from lm_eval_so._internal.common.config import load_config

CLI = Path(sys.executable).parent / "lm-eval-so"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def _demo(example_plugin: Path, tmp_path: Path) -> Path:
    demo = tmp_path / "demo"
    shutil.copytree(example_plugin / "demo", demo, ignore=shutil.ignore_patterns("workspace"))
    return demo / "pipeline.yaml"


def test_plugins_command_lists_the_example(example_plugin: Path) -> None:
    done = _cli("plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {(row["kind"], row["name"]): row for row in json.loads(done.stdout)}
    backend, metric = rows[("backend", "reverse")], rows[("metric", "max_words")]
    assert (backend["distribution"], backend["version"]) == ("lm-eval-so-example", "0.1.0")
    assert backend["import path"] == "lm_eval_so_example.backend:ReverseBackend"
    assert metric["import path"] == "lm_eval_so_example.metric:MaxWords"
    assert rows[("backend", "openai")]["distribution"] == "lm-eval-so"


def test_cli_runs_a_pipeline_that_names_the_plugin(example_plugin: Path, tmp_path: Path) -> None:
    done = _cli("run", str(_demo(example_plugin, tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "PASS  exact_match>=1" in done.stderr and "PASS  max_words>=0.75" in done.stderr
    manifest = json.loads((Path(done.stdout.strip()) / "manifest.json").read_text())
    assert manifest["plugins"]["backend:reverse"] == "lm-eval-so-example 0.1.0"
    assert manifest["plugins"]["metric:max_words"] == "lm-eval-so-example 0.1.0"
    assert manifest["plugins"]["metric:exact_match"].startswith("lm-eval-so ")


def test_python_api_uses_the_plugin_and_validates_its_options(example_plugin: Path, tmp_path: Path) -> None:
    pipeline = _demo(example_plugin, tmp_path)
    result = run_pipeline(pipeline)
    assert result.passed and result.metric("max_words").mean == 0.75
    # The plugin's options model is checked at load time, with the line of the mistake.
    bad = pipeline.read_text().replace("options: {upper: false}", "options: {uper: false}")
    pipeline.write_text(bad)
    with pytest.raises(Exception, match=r"pipeline.yaml:\d+: runner.options.uper: unknown key 'uper'"):
        load_config(pipeline)


def test_pytest_collects_and_gates_a_pipeline_using_the_plugin(
    example_plugin: Path, pytester: pytest.Pytester
) -> None:
    shutil.copytree(example_plugin / "demo" / "data", pytester.path / "data")
    demo = (example_plugin / "demo" / "pipeline.yaml").read_text()
    pytester.makefile(".yaml", pipeline=demo)
    strict = demo.replace("name: example_plugin_demo", "name: too_strict").replace(
        "threshold: 0.75", "threshold: 1.0"
    )
    (pytester.path / "strict.pipeline.yaml").write_text(strict)
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*pipeline.yaml::example_plugin_demo::max_words>=0.75 PASSED*",
            "*strict.pipeline.yaml::too_strict::max_words>=1 FAILED*",
        ]
    )


def test_the_example_plugins_own_tests_pass(example_plugin: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example_plugin / "tests")]
    # Not the outer session's PYTEST_ADDOPTS: CI puts --junitxml there, which this run would overwrite.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
