"""Helpers for runner tests that drive whole pipelines: files on disk, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from lm_eval_so._internal.common.records import RunResult

KEY = "sk-test-runner-0123456789abcdef"


def write_pipeline(
    folder: Path, runner: str, *, n: int = 10, name: str = "scale_demo", prefix: str = "question"
) -> Path:
    """data.csv with ``n`` rows (ids s0..) and a pipeline.yaml whose runner block is ``runner``."""
    rows = "".join(f"s{i},{prefix} {i},echo: {prefix} {i}\n" for i in range(n))
    (folder / "data.csv").write_text("id,input,expected\n" + rows)
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: {name}\nworkspace: ws\ngenerator:\n  source: data.csv\n"
        f"runner:\n{textwrap.indent(runner.strip(), '  ')}\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n"
    )
    return path


def fake_runner(base_url: str, **extra: Any) -> str:
    lines = ["backend: openai", "model: gpt-4o-mini", f"base_url: {base_url}"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines)


def cli_env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LM_EVAL_SO_"))}
    return {**clean, "OPENAI_API_KEY": KEY, **extra}


def cli_command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "lm_eval_so", *map(str, args)]


def cli(*args: str | os.PathLike[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, env=cli_env(), cwd=cwd, timeout=timeout
    )


def results_of(run_dir: Path) -> list[RunResult]:
    text = (run_dir / "results.jsonl").read_text()
    return [RunResult.model_validate_json(line) for line in text.splitlines() if line.strip()]


def run_dir_of(proc: subprocess.CompletedProcess[str]) -> Path:
    """The run directory a finished ``run`` printed last on stdout (exit 0 or 1 only)."""
    assert proc.returncode in (0, 1), proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def summary_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def manifest_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text())
    return data


def pairs(results: list[RunResult]) -> list[tuple[str, int]]:
    return sorted((r.sample_id, r.repeat) for r in results)
