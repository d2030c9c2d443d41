"""The public surface is exactly what ``lm_eval_so.__all__`` says; changing it is deliberate."""

from __future__ import annotations

import lm_eval_so

EXPECTED = {
    "ArtifactError",
    "Comparison",
    "BackendError",
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
}


def test_all_is_pinned() -> None:
    assert set(lm_eval_so.__all__) == EXPECTED
    for name in lm_eval_so.__all__:
        assert hasattr(lm_eval_so, name), name


def test_error_tree() -> None:
    for name in ("ArtifactError", "BackendError", "ConfigError", "DatasetError", "PluginError"):
        assert issubclass(getattr(lm_eval_so, name), lm_eval_so.LmEvalError)


def test_plugin_import_stays_light() -> None:
    # Every pytest session of a project with lm-eval-so installed imports the plugin: it must
    # not pull in pydantic models, the SDK or the model runtime until a pipeline is collected.
    import subprocess
    import sys

    code = (
        "import sys, lm_eval_so.pytest_plugin.plugin\n"
        "heavy = [m for m in ('pydantic', 'openai', 'llama_cpp', 'jinja2') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""
