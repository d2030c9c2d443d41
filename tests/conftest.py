"""Shared fixtures: the loopback OpenAI-compatible server and helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from fake_openai.fixtures import fake_openai  # noqa: F401  (re-exported fixture)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "example" / "pipeline" / "pipeline.yaml"
SEED = REPO / "example" / "seed" / "pipeline.yaml"


def run_cli(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    module: str = "lm_eval_so",
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <module> args`` in a subprocess, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LM_EVAL_SO_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli
