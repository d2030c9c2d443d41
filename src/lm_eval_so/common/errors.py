"""The one exception tree of lm-eval-so.

Every error a user can cause derives from :class:`LmEvalError` and carries a message that
names where the problem is (file, line and field, or the sample and the cause). The CLI prints
``str(error)`` and exits with code 2; it never shows a traceback for these.

    LmEvalError
    ├── ConfigError          pipeline.yaml is wrong (file:line: field: problem)
    ├── DatasetError         a source file is wrong (file:row: column: problem)
    ├── ArtifactError        a workspace artifact is missing or corrupt
    ├── BackendError         a backend cannot be set up (missing key, missing extra, bad model)
    └── PluginError          a named backend/metric/reporter/source is not installed
"""

from __future__ import annotations


class LmEvalError(Exception):
    """Base class of every error lm-eval-so raises on purpose."""


class ConfigError(LmEvalError):
    """A pipeline configuration is invalid. The message names file, line and field."""


class DatasetError(LmEvalError):
    """A dataset source is malformed. The message names file, row and column."""


class ArtifactError(LmEvalError):
    """A workspace artifact (dataset, results, scores, manifest) is missing or corrupt."""


class BackendError(LmEvalError):
    """A backend cannot be used: missing API key, missing extra, model not found."""


class PluginError(LmEvalError):
    """A plugin name cannot be resolved; the message lists what is installed."""


__all__ = [
    "ArtifactError",
    "BackendError",
    "ConfigError",
    "DatasetError",
    "LmEvalError",
    "PluginError",
]
