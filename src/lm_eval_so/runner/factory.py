"""Find the configured backend in the registry, check it, build it."""

from __future__ import annotations

from ..common.config import PipelineConfig
from ..common.errors import BackendError
from ..common.registry import registry
from .backends.base import Backend, BackendContext


def backend_class(config: PipelineConfig) -> type[Backend]:
    cls = registry.get("backends", config.runner.backend)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(
            f"runner.backend: {config.runner.backend!r} is registered as {cls!r}, "
            "which is not a lm_eval_so Backend subclass"
        )
    return cls


def backend_context(config: PipelineConfig) -> BackendContext:
    return BackendContext(base_dir=config.base_dir, seed=config.seed)


def check_backend(config: PipelineConfig) -> None:
    """Fail fast (BackendError) on a missing key, extra or model; calls no model."""
    backend_class(config).check(config.runner, backend_context(config))


def create_backend(config: PipelineConfig) -> Backend:
    """A checked, not yet started backend."""
    cls = backend_class(config)
    context = backend_context(config)
    cls.check(config.runner, context)
    return cls(config.runner, context)
