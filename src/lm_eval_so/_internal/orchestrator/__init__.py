"""Wires the three stages together; the adapters (CLI, Python API, pytest) call into here."""

from typing import Any

from .pipeline import make_plan, prepare, run_pipeline, run_pipeline_async
from .result import ExperimentResult, PipelineResult, Plan, SampleOutcome


def __getattr__(name: str) -> Any:
    # The experiment machinery (comparison, its reports) loads only for matrix pipelines.
    if name == "run_experiment_async":
        from .experiment import run_experiment_async

        return run_experiment_async
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ExperimentResult",
    "PipelineResult",
    "Plan",
    "SampleOutcome",
    "make_plan",
    "prepare",
    "run_experiment_async",
    "run_pipeline",
    "run_pipeline_async",
]
