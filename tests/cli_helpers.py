"""Run the CLI as a user would: a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
    """``python -m <module> args``; OPENAI_* and LM_EVAL_SO_* variables are not inherited."""
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
