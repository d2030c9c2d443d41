"""YAML loading that remembers where every value came from.

pydantic reports errors by location (``("runner", "params", "temperature")``); to turn that into
``pipeline.yaml:14: runner.params.temperature: ...`` we keep a map from location to line while
composing the document. ``${VAR}`` / ``${VAR:-default}`` interpolation happens here too, so an
unset variable is reported at the line that uses it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

Loc = tuple[str | int, ...]

# ``$${`` escapes a literal ``${``.
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Variables whose values are secrets: their values never reach an artifact.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)


@dataclass
class YamlSource:
    """A parsed YAML document with the line of every location in it."""

    path: Path | None
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # interpolated values that are secret

    @property
    def name(self) -> str:
        return self.path.name if self.path else "<config>"

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing location that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.name}:{line}" if line else self.name


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path, env: Mapping[str, str] | None = None) -> YamlSource:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, path, env)


def parse_yaml(text: str, path: Path | None = None, env: Mapping[str, str] | None = None) -> YamlSource:
    source = YamlSource(path=path, data=None)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        source.data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source.name}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source.name}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is not None:
        _index_lines(node, (), source)
    source.data = _interpolate(source.data, (), source, os.environ if env is None else env)
    return source


def _index_lines(node: yaml.Node, loc: Loc, source: YamlSource) -> None:
    source.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                where = format_loc((*loc, key))
                raise ConfigError(
                    f"{source.name}:{line}: {where}: duplicate key (first defined on line {seen[key]})"
                )
            seen[key] = line
            source.lines[(*loc, key)] = line
            _index_lines(value_node, (*loc, key), source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), source)


def _interpolate(value: Any, loc: Loc, source: YamlSource, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*loc, k), source, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), source, env) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        resolved = env.get(name)
        if resolved is None or (resolved == "" and default is not None):
            if default is None:
                raise ConfigError(
                    f"{source.where(loc)}: {format_loc(loc)}: environment variable {name} is not set"
                    f" (use ${{{name}:-default}} to give a default)"
                )
            resolved = default
        if _SECRET_NAME.search(name) and resolved:
            source.secrets.add(resolved)
        return resolved

    return _VAR.sub(substitute, value)
