"""Lazy imports of optional packages, with an error that names the extra to install."""

from __future__ import annotations

import importlib
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
