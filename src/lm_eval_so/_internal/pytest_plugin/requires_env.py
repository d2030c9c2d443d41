"""``requires_env``, decided before anything is interpolated.

A pipeline that says ``requires_env: [OPENAI_BASE_URL]`` usually also says
``base_url: ${OPENAI_BASE_URL}``. Loading it with the variable unset would stop at the
interpolation (a collection error that interrupts the session) instead of skipping the
pipeline, as documented. So the raw YAML's ``requires_env`` is read first; only a pipeline
whose variables are all set is loaded normally.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from ..common.config import PipelineConfig

_DROPPED = object()


@dataclass(frozen=True)
class MissingEnv:
    """The variables a pipeline requires that are unset, and the pipeline's name as written."""

    names: list[str]
    pipeline: str

    @property
    def reason(self) -> str:
        return f"{self.pipeline}: needs {', '.join(self.names)} (requires_env)"

    def uses(self, value: str) -> bool:
        """True when ``value`` interpolates a missing variable without a default."""
        return any(f"${{{name}}}" in value for name in self.names)


def pipeline_file(path: Path) -> Path:
    """``path`` itself, or the pipeline file in it when it is a directory (as ``load_config``)."""
    if path.is_dir():
        for candidate in ("pipeline.yaml", "pipeline.yml"):
            if (path / candidate).is_file():
                return path / candidate
    return path


def missing_env(source: Path | Mapping[str, Any]) -> MissingEnv | None:
    """The unset variables of the raw ``requires_env``, or None when none is missing.

    Anything unreadable returns None: loading the config then reports it, with its line.
    """
    data: Any = source
    if not isinstance(source, Mapping):
        path = pipeline_file(source)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
    if not isinstance(data, Mapping):
        return None
    wanted = data.get("requires_env")
    if not isinstance(wanted, list):
        return None
    names = [name for name in wanted if isinstance(name, str) and not os.environ.get(name)]
    if not names:
        return None
    name = data.get("name")
    if not isinstance(name, str) or not name:
        name = pipeline_file(source).parent.name if isinstance(source, Path) else "pipeline"
    return MissingEnv(names, name)


def config_without_missing(path: Path, missing: MissingEnv) -> PipelineConfig:
    """The pipeline with every value that needs a missing variable left out (its default instead).

    Only to name the items of a skipped pipeline: its gates are usually written without any
    variable. Raises what loading raises when the pipeline cannot do without those values.
    """
    from ..common.config import config_from_text
    from ..common.yaml_source import parse_yaml

    file = pipeline_file(path)
    text = file.read_text(encoding="utf-8")
    config = config_from_text(yaml.safe_dump(_drop(yaml.safe_load(text), missing), sort_keys=False), file)
    # Items report at their gate's line: the lines of the file as written, not of the copy.
    env = {**os.environ, **dict.fromkeys(missing.names, "")}
    config._lines = parse_yaml(text, file, env).lines
    return config


def _drop(value: Any, missing: MissingEnv) -> Any:
    if isinstance(value, dict):
        kept = {key: _drop(item, missing) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item is not _DROPPED}
    if isinstance(value, list):
        return [item for item in (_drop(v, missing) for v in value) if item is not _DROPPED]
    if isinstance(value, str) and missing.uses(value):
        return _DROPPED
    return value
