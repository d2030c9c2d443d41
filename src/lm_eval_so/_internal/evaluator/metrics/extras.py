"""Lazy imports of optional packages, with an error that names the extra to install."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from ...common.errors import ConfigError


def require(module: str, extra: str, metric: str) -> ModuleType:
    """Import ``module`` or raise a ConfigError saying ``pip install 'lm-eval-so[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"metric {metric!r} needs the {module!r} package: pip install 'lm-eval-so[{extra}]' "
            f"({type(exc).__name__}: {exc})"
        ) from None


def missing(module: str, extra: str, metric: str) -> str | None:
    """The problem when ``module`` is not installed, without importing it; None when it is.

    For load-time checks (``Metric.check_at_load``): a missing extra fails ``--dry-run``, not
    the evaluation after every model call.
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    return f"metric {metric!r} needs the {module!r} package: pip install 'lm-eval-so[{extra}]'"
