"""Fixtures for Python tests that want the same machinery as pipeline files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..common.config import PipelineConfig, load_config
from ..common.errors import LmEvalError
from .keys import OVERRIDES_KEY, RUNS_KEY
from .messages import ERROR_PREFIX
from .requires_env import missing_env

if TYPE_CHECKING:
    from ..orchestrator import PipelineResult

PipelineSource = str | os.PathLike[str] | Mapping[str, Any] | PipelineConfig


class LmEval:
    """Call it with a pipeline (path, dict or config) to run it and get a PipelineResult.

    A relative path is resolved from the directory of the test file that asks for the fixture,
    then, if nothing is there, from the current directory; a pipeline found in neither fails
    the test with one message naming both paths tried.

    The run is the session's: a pipeline runs once per pytest session (across xdist workers
    too) whether its gates are collected from its YAML file, the fixture asks for it, or both;
    a different config (another override) is another run. Session options apply
    (``--lm-eval-model``, ``--lm-eval-limit``, ``--lm-eval-cache``, ``--lm-eval-workspace``);
    dict configs without a workspace option run in a temporary workspace.

    A pipeline whose ``requires_env`` is not set skips the test with the reason. A pipeline
    that cannot load or run fails the test with its one-line message (file, line and field, or
    sample and cause), as its YAML items do; to catch errors as exceptions, call
    ``lm_eval_so.run_pipeline`` instead.
    """

    def __init__(
        self, config: pytest.Config, tmp_path_factory: pytest.TempPathFactory, test_dir: Path | None
    ) -> None:
        self._config = config
        self._tmp_path_factory = tmp_path_factory
        self._test_dir = test_dir

    def resolve(self, pipeline: str | os.PathLike[str]) -> Path:
        """The pipeline file (or directory) ``pipeline`` names, as ``__call__`` finds it."""
        path = Path(pipeline).expanduser()
        if path.is_absolute():
            tried = [path]
        else:
            tried = [self._test_dir / path] if self._test_dir is not None else []
            tried.append(Path.cwd() / path)
        for candidate in tried:
            if candidate.exists():
                return candidate
        looked = " or ".join(str(p) for p in dict.fromkeys(tried))
        message = f"lm_eval: pipeline {os.fspath(pipeline)!r} not found (looked for {looked})"
        pytest.fail(message, pytrace=False)

    def load(self, pipeline: PipelineSource, **overrides: Any) -> PipelineConfig:
        """The config, with the session's and these dotted overrides; skips or fails the test."""
        source: Path | Mapping[str, Any] | PipelineConfig
        source = pipeline if isinstance(pipeline, (Mapping, PipelineConfig)) else self.resolve(pipeline)
        if not isinstance(source, PipelineConfig):
            missing = missing_env(source)  # before ${VAR} interpolation, as for YAML items
            if missing is not None:
                pytest.skip(missing.reason)
        session_overrides: dict[str, Any] = self._config.stash[OVERRIDES_KEY]
        merged = {**session_overrides, **overrides}
        try:
            loaded = load_config(source)
            return loaded.with_overrides(**merged) if merged else loaded
        except LmEvalError as exc:
            message = ERROR_PREFIX + str(exc)
        pytest.fail(message, pytrace=False)  # outside the except: no "during handling of" chain

    def __call__(self, pipeline: PipelineSource, **overrides: Any) -> PipelineResult:
        """Run ``pipeline``; ``overrides`` use dotted names with ``__``: ``runner__model="x"``."""
        config = self.load(pipeline, **{k.replace("__", "."): v for k, v in overrides.items()})
        inline = self._tmp_path_factory.getbasetemp() / "lm_eval_workspace"
        outcome = self._config.stash[RUNS_KEY].get(
            config, workspace=inline if isinstance(pipeline, Mapping) else None
        )
        if outcome.skipped:
            pytest.skip(outcome.skipped)
        if outcome.error or outcome.result is None:
            pytest.fail(f"{config.name}: {outcome.error or 'did not run'}", pytrace=False)
        return outcome.result
