"""Wires the three stages together; the adapters (CLI, Python API, pytest) call into here."""

from .experiment import ExperimentResult, run_experiment_async
from .pipeline import make_plan, prepare, run_pipeline, run_pipeline_async
from .result import PipelineResult, Plan, SampleOutcome

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
