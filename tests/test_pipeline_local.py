"""End to end on the real local model (llama.cpp + Gemma 3 270M): the example pipeline."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from cli_helpers import EXAMPLE, run_cli

pytestmark = pytest.mark.local_model

ARTIFACTS = {
    "pipeline.yaml",
    "manifest.json",
    "results.jsonl",
    "scores.jsonl",
    "summary.json",
    "report.html",
    "report.json",
}


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def scores_of(run_dir: Path) -> list[tuple[str, str, float]]:
    lines = (run_dir / "scores.jsonl").read_text().splitlines()
    return sorted((s["sample_id"], s["metric"], s["score"]) for s in map(json.loads, lines))


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("example")
    shutil.copytree(EXAMPLE.parent, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("workspace"))
    return target / "pipeline.yaml"


def test_run_twice_makes_two_runs_and_keeps_the_first(example_copy: Path) -> None:
    first = run_cli(["run", example_copy])
    assert first.returncode in (0, 1), first.stderr
    first_dir = Path(first.stdout.strip())
    assert {p.name for p in first_dir.iterdir()} >= ARTIFACTS
    before = digest(first_dir)

    second = run_cli(["run", example_copy])
    second_dir = Path(second.stdout.strip())
    assert second_dir != first_dir and second_dir.parent == first_dir.parent
    assert digest(first_dir) == before  # untouched
    # Greedy decoding on the same model: the same answers, the same scores.
    assert scores_of(first_dir) == scores_of(second_dir)

    summary = json.loads((first_dir / "summary.json").read_text())
    em = summary["metrics"]["exact_match"]
    assert em["n"] == 35
    assert 0 < em["mean"] < 1  # a real model: some right, some wrong
    assert em["ci_low"] < em["mean"] < em["ci_high"]
    assert summary["n_errors"] == 0
    assert summary["usage"]["completion_tokens"] > 0
    assert summary["latency_ms"]["p95"] >= summary["latency_ms"]["p50"] > 0
    assert first.returncode == (0 if summary["passed"] else 1)

    # The dataset was built once and reused.
    datasets = list((example_copy.parent / "workspace" / "datasets" / "general_qa").iterdir())
    assert len(datasets) == 1

    manifest = json.loads((first_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["backend"] == "llamacpp"
    assert manifest["config_hash"] and manifest["dataset"]["content_hash"]
    assert "llama-cpp-python" in manifest["versions"]


def test_stage_commands_chain_and_agree_with_run(example_copy: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    gen = run_cli(["gen-dataset", example_copy, "--workspace-dir", ws])
    assert gen.returncode == 0, gen.stderr
    dataset = Path(gen.stdout.strip())
    assert dataset.name == "dataset.jsonl" and dataset.exists()

    # The same stage through `python -m lm_eval_so._internal.runner.cli`.
    runner = run_cli(
        [example_copy, "--dataset", dataset, "--workspace-dir", ws], module="lm_eval_so._internal.runner.cli"
    )
    assert runner.returncode == 0, runner.stderr
    run_dir = Path(runner.stdout.strip())
    assert (run_dir / "results.jsonl").exists() and not (run_dir / "scores.jsonl").exists()

    evaluator = run_cli(["evaluator", run_dir])
    assert evaluator.returncode in (0, 1), evaluator.stderr

    whole = run_cli(["run", example_copy, "--workspace-dir", tmp_path / "ws2"])
    assert scores_of(run_dir) == scores_of(Path(whole.stdout.strip()))
