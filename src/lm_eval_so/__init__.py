"""lm-eval-so: LLM evaluations as tests.

The public API lives here and only here; everything else is internal and may change.

    from lm_eval_so import run_pipeline
    result = run_pipeline("pipeline.yaml")
    assert result.passed, result.summary
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .common.config import PipelineConfig, load_config
from .common.errors import (
    ArtifactError,
    BackendError,
    ConfigError,
    DatasetError,
    LmEvalError,
    PluginError,
)
from .common.records import (
    DatasetSample,
    MetricSummary,
    RunResult,
    ScoreRecord,
    Summary,
    ThresholdOutcome,
    Usage,
)
from .common.registry import registry
from .common.workspace import Workspace

if TYPE_CHECKING:
    from .orchestrator import PipelineResult, Plan, run_pipeline, run_pipeline_async

# The pytest plugin imports this package in every pytest session of every project that has
# lm-eval-so installed, so the stages (and what they import) load only when first used.
_LAZY = {"PipelineResult", "Plan", "run_pipeline", "run_pipeline_async"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(f"module 'lm_eval_so' has no attribute {name!r}")


try:
    __version__ = version("lm-eval-so")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "ArtifactError",
    "BackendError",
    "ConfigError",
    "DatasetError",
    "DatasetSample",
    "LmEvalError",
    "MetricSummary",
    "PipelineConfig",
    "PipelineResult",
    "Plan",
    "PluginError",
    "RunResult",
    "ScoreRecord",
    "Summary",
    "ThresholdOutcome",
    "Usage",
    "Workspace",
    "__version__",
    "load_config",
    "registry",
    "run_pipeline",
    "run_pipeline_async",
]
