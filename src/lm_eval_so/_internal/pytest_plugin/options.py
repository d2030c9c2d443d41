"""Options that name paths; kept free of heavy imports (the plugin module imports it)."""

from __future__ import annotations

from pathlib import Path

import pytest


def option_path(config: pytest.Config, name: str) -> Path | None:
    """A path option: from the command line relative to the current directory, as a shell
    reads it; from the ini file relative to that file, wherever pytest runs from."""
    value = config.getoption(f"--lm-eval-{name}")
    if value not in (None, ""):
        return Path(value).expanduser().resolve()
    value = config.getini(f"lm_eval_{name}")
    if not value:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return (base / Path(str(value)).expanduser()).resolve()
