"""The documentation site builds with ``mkdocs build --strict``, as CI builds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "-f",
        str(REPO / "mkdocs.yml"),
        "-d",
        str(site),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # The generated reference pages and the included plugin code are really there.
    assert "runner.params" in (site / "reference" / "pipeline" / "index.html").read_text()
    assert "exact_match" in (site / "reference" / "plugins" / "index.html").read_text()
    assert "lm-eval-so plugins" in (site / "reference" / "cli" / "index.html").read_text()
    assert "ReverseBackend" in (site / "plugins" / "index.html").read_text()
    assert "check_metric" in (site / "reference" / "api" / "index.html").read_text()
