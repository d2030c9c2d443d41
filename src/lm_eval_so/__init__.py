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

from ._internal.common.errors import (
    ArtifactError,
    BackendError,
    ConfigError,
    DatasetError,
    LmEvalError,
    PluginError,
)
from ._internal.common.registry import registry

if TYPE_CHECKING:
    from ._internal.common.config import PipelineConfig, load_config
    from ._internal.common.records import (
        DatasetSample,
        MetricSummary,
        RunResult,
        ScoreRecord,
        Summary,
        ThresholdOutcome,
        Usage,
    )
    from ._internal.common.shard import Shard
    from ._internal.common.workspace import Workspace
    from ._internal.evaluator.compare import Comparison, compare_runs
    from ._internal.orchestrator import (
        ExperimentResult,
        PipelineResult,
        Plan,
        run_pipeline,
        run_pipeline_async,
    )

# The pytest plugin imports this package in every pytest session of every project that has
# lm-eval-so installed, so the pydantic models and the stages load only when first used.
_LAZY = {
    "PipelineConfig": "_internal.common.config",
    "load_config": "_internal.common.config",
    "DatasetSample": "_internal.common.records",
    "MetricSummary": "_internal.common.records",
    "RunResult": "_internal.common.records",
    "ScoreRecord": "_internal.common.records",
    "Summary": "_internal.common.records",
    "ThresholdOutcome": "_internal.common.records",
    "Usage": "_internal.common.records",
    "Workspace": "_internal.common.workspace",
    "Shard": "_internal.common.shard",
    "PipelineResult": "_internal.orchestrator",
    "ExperimentResult": "_internal.orchestrator",
    "Plan": "_internal.orchestrator",
    "run_pipeline": "_internal.orchestrator",
    "run_pipeline_async": "_internal.orchestrator",
    "Comparison": "_internal.evaluator.compare",
    "compare_runs": "_internal.evaluator.compare",
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
    "Shard",
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
