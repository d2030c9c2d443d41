"""``python -m lm_eval_so._internal.evaluator.cli RUN_DIR`` as a user runs it: exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from evalkit import Run, make_run, ok, pipeline_yaml, sample

# The subprocess cannot see the in-process stub backend: use a built-in one. The evaluator
# never calls it; loading pipeline.yaml only checks that it exists.
BACKEND = "openai"


def evaluator_cli(args: Sequence[str | Path]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LM_EVAL_SO_"))}
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so._internal.evaluator.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def threshold_config(minimum: float) -> str:
    block = f"  metrics:\n    - type: exact_match\n      threshold: {minimum}\n"
    return pipeline_yaml(block, backend=BACKEND)


def run_with(tmp_path: Path, minimum: float, **kwargs: bool) -> Run:
    samples = [sample(f"s{i}", expected="yes") for i in range(4)]
    results = [ok("s0", "yes"), ok("s1", "yes"), ok("s2", "yes"), ok("s3", "no")]
    return make_run(tmp_path, samples, results, config_text=threshold_config(minimum), **kwargs)


def test_thresholds_met_exit_0(tmp_path: Path) -> None:
    built = run_with(tmp_path, 0.75)

    proc = evaluator_cli([built.run.path])

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(built.run.path)
    assert "exact_match" in proc.stderr and "PASS  exact_match>=0.75" in proc.stderr
    assert "eval_test: PASSED" in proc.stderr
    summary = json.loads(built.run.summary.read_text())
    assert summary["passed"] is True and summary["metrics"]["exact_match"]["mean"] == 0.75
    assert (built.run.path / "report.html").is_file()


def test_thresholds_missed_exit_1(tmp_path: Path) -> None:
    built = run_with(tmp_path, 0.9)

    proc = evaluator_cli([built.run.path])

    assert proc.returncode == 1, proc.stderr
    assert "FAIL  exact_match>=0.9: mean 0.75 is below the minimum 0.9" in proc.stderr
    assert proc.stdout.strip() == str(built.run.path)


def test_config_option_rescores_with_other_thresholds(tmp_path: Path) -> None:
    built = run_with(tmp_path, 0.9)
    other = tmp_path / "lenient.yaml"
    other.write_text(threshold_config(0.5))

    proc = evaluator_cli([built.run.path, "--config", other])

    assert proc.returncode == 0, proc.stderr


def test_dataset_option_when_the_run_has_no_manifest(tmp_path: Path) -> None:
    built = run_with(tmp_path, 0.5, manifest=False)

    without = evaluator_cli([built.run.path])
    with_dataset = evaluator_cli([built.run.path, "--dataset", built.dataset])

    assert without.returncode == 2
    assert "manifest.json: not found; pass --dataset PATH" in without.stderr
    assert with_dataset.returncode == 0, with_dataset.stderr


def test_missing_run_dir_exit_2_with_one_line(tmp_path: Path) -> None:
    proc = evaluator_cli([tmp_path / "no-such-run"])

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"lm-eval-so: error: {tmp_path / 'no-such-run'}: no such run directory"
    ]


def test_a_broken_run_config_names_file_and_line(tmp_path: Path) -> None:
    built = run_with(tmp_path, 0.5)
    built.run.config.write_text(
        pipeline_yaml("  metrics:\n    - type: exact_match\n      normalise: [lower]\n", BACKEND)
    )

    proc = evaluator_cli([built.run.path])

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "pipeline.yaml:10: evaluator.metrics[0].normalise: unknown key" in proc.stderr
