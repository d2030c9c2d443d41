"""Fixtures for Python tests that want the same machinery as pipeline files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ..common.config import PipelineConfig, load_config
from ..orchestrator import PipelineResult, run_pipeline
from .keys import OVERRIDES_KEY, RUNS_KEY


class LmEval:
    """Call it with a pipeline (path, dict or config) to run it and get a PipelineResult.

    Session options apply (``--lm-eval-model``, ``--lm-eval-limit``, ``--lm-eval-workspace``);
    dict configs without a workspace option run in a temporary workspace.
    """

    def __init__(self, config: pytest.Config, tmp_workspace: Path) -> None:
        self._config = config
        self._tmp_workspace = tmp_workspace

    def load(
        self, pipeline: str | Path | Mapping[str, Any] | PipelineConfig, **overrides: Any
    ) -> PipelineConfig:
        loaded = load_config(pipeline)
        session_overrides: dict[str, Any] = self._config.stash[OVERRIDES_KEY]
        merged = dict(session_overrides)
        merged.update(overrides)
        return loaded.with_overrides(**merged) if merged else loaded

    def __call__(
        self, pipeline: str | Path | Mapping[str, Any] | PipelineConfig, **overrides: Any
    ) -> PipelineResult:
        """Run ``pipeline``; ``overrides`` use dotted names with ``__``: ``runner__model="x"``."""
        config = self.load(pipeline, **{k.replace("__", "."): v for k, v in overrides.items()})
        workspace = self._config.stash[RUNS_KEY].workspace_dir
        if workspace is None:
            workspace = self._tmp_workspace if isinstance(pipeline, Mapping) else config.workspace
        return run_pipeline(config, workspace_dir=workspace)
