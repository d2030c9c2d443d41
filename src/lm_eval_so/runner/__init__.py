"""Runner: model calls through a backend, with latency, tokens and cost, into results.jsonl."""

from .backends.base import Backend, BackendContext, Completion, Request
from .engine import RunnerStats, run_samples
from .factory import check_backend
from .pricing import cost_for
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
