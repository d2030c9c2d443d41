"""Find a backend in the registry, check it, build it: the typed lookup both callers use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..common.config import PipelineConfig, RunnerConfig
from ..common.errors import BackendError
from ..common.registry import registry
from .base import Backend, BackendContext


def backend_class_for(config: RunnerConfig) -> type[Backend]:
    """The registered class of ``config.backend``; BackendError if it is not a Backend."""
    cls = registry.get("backends", config.backend)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(
            f"runner.backend: {config.backend!r} is registered as {cls!r}, "
            "which is not a lm_eval_so Backend subclass"
        )
    return cls


def get_backend(config: RunnerConfig, base_dir: Path, seed: int) -> Backend:
    """A checked, not yet started backend for ``config`` (a runner, or a judge's config)."""
    cls = backend_class_for(config)
    context = BackendContext(base_dir=base_dir, seed=seed)
    cls.check(config, context)
    return cls(config, context)


def backend_class(config: PipelineConfig) -> type[Backend]:
    return backend_class_for(config.runner)


def backend_context(config: PipelineConfig) -> BackendContext:
    return BackendContext(base_dir=config.base_dir, seed=config.seed)


def check_backend(config: PipelineConfig) -> None:
    """Fail fast (BackendError) on a missing key, extra or model; calls no model."""
    with located(config):
        backend_class(config).check(config.runner, backend_context(config))


def create_backend(config: PipelineConfig) -> Backend:
    """The pipeline's runner backend: checked, not yet started."""
    with located(config):
        return get_backend(config.runner, config.base_dir, config.seed)


_FIELD = re.compile(r"^runner\.([a-z_]+)(?:\.([a-z_]+))?:")


@contextmanager
def located(config: PipelineConfig) -> Iterator[None]:
    """A backend's ``runner.<field>: ...`` error, prefixed with ``pipeline.yaml:<line>:``."""
    try:
        yield
    except BackendError as exc:
        message = str(exc)
        found = _FIELD.match(message)
        line = config.line_of("runner", *(part for part in found.groups() if part)) if found else None
        if line is None or config.path is None:
            raise
        raise BackendError(f"{config.path.name}:{line}: {message}") from None
