"""lm-eval-so: LLM evaluations as tests.

The public API lives here and only here; everything else is internal and may change.

    from lm_eval_so import run_pipeline
    result = run_pipeline("pipeline.yaml")
    assert result.passed, result.summary
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .common.errors import (
    ArtifactError,
    BackendError,
    ConfigError,
    DatasetError,
    LmEvalError,
    PluginError,
)
from .common.registry import registry

if TYPE_CHECKING:
    from .common.config import PipelineConfig, load_config
    from .common.records import (
        DatasetSample,
        MetricSummary,
        RunResult,
        ScoreRecord,
        Summary,
        ThresholdOutcome,
        Usage,
    )
    from .common.workspace import Workspace
    from .evaluator.compare import Comparison, compare_runs
    from .orchestrator import ExperimentResult, PipelineResult, Plan, run_pipeline, run_pipeline_async

# The pytest plugin imports this package in every pytest session of every project that has
# lm-eval-so installed, so the pydantic models and the stages load only when first used.
_LAZY = {
    "PipelineConfig": "common.config",
    "load_config": "common.config",
    "DatasetSample": "common.records",
    "MetricSummary": "common.records",
    "RunResult": "common.records",
    "ScoreRecord": "common.records",
    "Summary": "common.records",
    "ThresholdOutcome": "common.records",
    "Usage": "common.records",
    "Workspace": "common.workspace",
    "PipelineResult": "orchestrator",
    "ExperimentResult": "orchestrator",
    "Plan": "orchestrator",
    "run_pipeline": "orchestrator",
    "run_pipeline_async": "orchestrator",
    "Comparison": "evaluator.compare",
    "compare_runs": "evaluator.compare",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lm_eval_so' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


try:
    __version__ = version("lm-eval-so")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "ArtifactError",
    "BackendError",
    "Comparison",
    "ConfigError",
    "DatasetError",
    "DatasetSample",
    "ExperimentResult",
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
    "compare_runs",
    "load_config",
    "registry",
    "run_pipeline",
    "run_pipeline_async",
]
