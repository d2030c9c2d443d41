"""Installs examples/plugins/lm-eval-so-example into the test environment, once.

The point of the example is that a plugin *installed beside* lm-eval-so works, so it goes in
with pip, as a user would install it, rather than by putting its source on ``sys.path``.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from filelock import FileLock

from lm_eval_so._internal.common.registry import registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugins" / "lm-eval-so-example"
DIST = "lm-eval-so-example"


def _installed_here() -> bool:
    try:
        dist = md.distribution(DIST)
    except md.PackageNotFoundError:
        return False
    # An editable install of *this* checkout, not some other copy.
    direct_url = dist.read_text("direct_url.json") or ""
    return EXAMPLE.as_uri() in direct_url


def ensure_example_installed() -> None:
    purelib = Path(sysconfig.get_paths()["purelib"])
    # xdist workers share the environment: one installs, the others wait and find it there.
    with FileLock(str(purelib / ".lm-eval-so-example-install.lock")):
        importlib.invalidate_caches()
        if not _installed_here():
            command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
            command += ["--no-build-isolation", "-e", str(EXAMPLE)]
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    # This process started before the install: read the new .pth and forget stale listings.
    site.addsitedir(str(purelib))
    importlib.invalidate_caches()
    registry.refresh()


@pytest.fixture(scope="session")
def example_plugin() -> Path:
    """The example plugin's directory, with the plugin installed and registered."""
    try:
        ensure_example_installed()
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"installing {EXAMPLE} failed:\n{exc.stdout}\n{exc.stderr}")
    return EXAMPLE
