"""Stash keys shared by the plugin's modules; kept free of heavy imports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .runs import SessionRuns

RUNS_KEY: pytest.StashKey[SessionRuns] = pytest.StashKey()
OVERRIDES_KEY = pytest.StashKey[dict[str, Any]]()
RESULT_KEY = pytest.StashKey[Any]()

#: Prefix of every JUnit property and report key the plugin writes.
PREFIX = "lm_eval"
