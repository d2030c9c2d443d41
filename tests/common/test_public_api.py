"""The public surface is exactly what ``lm_eval_so.__all__`` says; changing it is deliberate."""

from __future__ import annotations

import lm_eval_so

EXPECTED = {
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
}


def test_all_is_pinned() -> None:
    assert set(lm_eval_so.__all__) == EXPECTED
    for name in lm_eval_so.__all__:
        assert hasattr(lm_eval_so, name), name


def test_error_tree() -> None:
    for name in ("ArtifactError", "BackendError", "ConfigError", "DatasetError", "PluginError"):
        assert issubclass(getattr(lm_eval_so, name), lm_eval_so.LmEvalError)
