"""Runner: model calls through a backend, with latency, tokens and cost, into results.jsonl."""

from ..models.base import Backend, BackendContext, Completion, Request
from ..models.lookup import check_backend
from ..models.pricing import cost_for
from .engine import RunnerStats, run_samples
from .stage import RunOutcome, run_stage

__all__ = [
    "Backend",
    "BackendContext",
    "Completion",
    "Request",
    "RunOutcome",
    "RunnerStats",
    "check_backend",
    "cost_for",
    "run_samples",
    "run_stage",
]
