"""``matrix:``: one pipeline.yaml expanded into cells, each an ordinary pipeline.

Two forms::

    matrix:                                   # the cartesian product over dotted keys
      runner.model: [gpt-4o, gpt-4o-mini]
      generator.prompt.template: ["Q: {input}\\nA:", "{input}"]

    matrix:                                   # named variants, each overriding any part
      - {name: ship, runner: {backend: python, function: "app_v1:answer"}}
      - {name: candidate, runner: {backend: python, function: "app_v2:answer"}}

    baseline: ship                            # the reference cell (default: the first)
    experiment: {gate: no_cell_worse_than_baseline, metric: exact_match, alpha: 0.05}

Each cell is validated as a whole pipeline named ``<name>.<cell>``; an error in a value that
came from the matrix is reported at the matrix's line. Cell names are given (variants) or
derived from the values (``gpt-4o-mini``), made unique and safe for file names.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import PipelineConfig, _validate, format_validation_error
from .errors import ConfigError
from .yaml_source import Loc, YamlSource, load_yaml

MATRIX_KEYS = ("matrix", "baseline", "experiment")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ExperimentOptions(BaseModel):
    """The optional experiment-level gate and how cells are compared."""

    model_config = ConfigDict(extra="forbid")

    gate: Literal["no_cell_worse_than_baseline", "candidate_beats_baseline"] | None = Field(
        None, description="A significance gate over all cells (Holm-corrected)."
    )
    metric: str | None = Field(
        None, description="Metric for the gate and the best cell; the first by default."
    )
    alpha: float = Field(0.05, gt=0, lt=1, allow_inf_nan=False, description="Family-wise significance level.")


@dataclass
class Experiment:
    """A matrix pipeline: its cells (name -> config, in order), baseline and options."""

    name: str
    path: Path | None
    cells: dict[str, PipelineConfig]
    baseline: str
    options: ExperimentOptions = field(default_factory=ExperimentOptions)
    lines: dict[Loc, int] = field(default_factory=dict)

    def cell(self, name: str) -> PipelineConfig:
        if name not in self.cells:
            raise ConfigError(f"{self.where()}: no cell {name!r}; the cells are {', '.join(self.cells)}")
        return self.cells[name]

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Experiment:
        """Every cell with the same dotted-path overrides (the CLI's --model, --set ...)."""
        if not overrides:
            return self
        cells = {name: config.with_overrides(**dict(overrides)) for name, config in self.cells.items()}
        return Experiment(self.name, self.path, cells, self.baseline, self.options, self.lines)

    def where(self, *loc: str | int) -> str:
        label = self.path.name if self.path else "config"
        line = self.lines.get(tuple(loc)) if loc else None
        return f"{label}:{line}" if line else label


def is_matrix(source: YamlSource) -> bool:
    return isinstance(source.data, dict) and "matrix" in source.data


def load_pipeline(path: str | os.PathLike[str]) -> PipelineConfig | Experiment:
    """A pipeline.yaml: a :class:`PipelineConfig`, or an :class:`Experiment` when it has a matrix."""
    from .config import load_config

    resolved = _resolve(Path(path))
    source = load_yaml(resolved)
    if not is_matrix(source):
        return load_config(resolved)
    return expand(source, resolved.parent, resolved)


def expand(source: YamlSource, base_dir: Path, path: Path | None) -> Experiment:
    """Validate every cell of a matrix pipeline; ConfigError names file, line and field."""
    data = dict(source.data)
    matrix = data.pop("matrix")
    baseline = data.pop("baseline", None)
    options = _options(data.pop("experiment", None), source)
    base = YamlSource(path=source.path, data=data, lines=dict(source.lines), secrets=source.secrets)
    name = data.get("name")
    specs = _specs(matrix, source)
    if not specs:
        raise ConfigError(
            f"{source.where(('matrix',))}: matrix: no cells (give at least one value or variant)"
        )
    cells: dict[str, PipelineConfig] = {}
    for cell_name, overrides in specs:
        cell_source = _cell_source(base, overrides, f"{name}.{cell_name}" if isinstance(name, str) else None)
        cells[cell_name] = _validate(cell_source, base_dir, path)
    chosen = _baseline(baseline, list(cells), source)
    return Experiment(str(name), path, cells, chosen, options, dict(source.lines))


# --------------------------------------------------------------------------- the two forms


# One cell: its name, and its overrides as (location in the pipeline, value, where it is written).
Spec = tuple[str, list[tuple[Loc, Any, Loc]]]


def _specs(matrix: Any, source: YamlSource) -> list[Spec]:
    if isinstance(matrix, Mapping):
        return _cartesian(matrix, source)
    if isinstance(matrix, list):
        return _variants(matrix, source)
    raise ConfigError(
        f"{source.where(('matrix',))}: matrix: must be a mapping of dotted keys to lists of values, "
        f"or a list of named variants (got {type(matrix).__name__})"
    )


def _cartesian(matrix: Mapping[str, Any], source: YamlSource) -> list[Spec]:
    axes: list[tuple[str, list[Any]]] = []
    for key, values in matrix.items():
        where = source.where(("matrix", key))
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"{where}: matrix: {key!r} is not a dotted key such as runner.model")
        if key.split(".")[0] in ("name", *MATRIX_KEYS):
            raise ConfigError(f"{where}: matrix.{key}: {key.split('.')[0]!r} cannot vary between cells")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: matrix.{key}: must be a non-empty list of values")
        axes.append((key, values))
    specs: list[Spec] = []
    for combo in itertools.product(*(range(len(values)) for _, values in axes)):
        overrides: list[tuple[Loc, Any, Loc]] = [
            (tuple(key.split(".")), values[i], ("matrix", key, i))
            for (key, values), i in zip(axes, combo, strict=True)
        ]
        label = "_".join(_label(key, values[i], i) for (key, values), i in zip(axes, combo, strict=True))
        specs.append((label, overrides))
    return _unique(specs)


def _variants(matrix: list[Any], source: YamlSource) -> list[Spec]:
    specs: list[Spec] = []
    for index, variant in enumerate(matrix):
        where = source.where(("matrix", index))
        if not isinstance(variant, Mapping):
            raise ConfigError(f"{where}: matrix[{index}]: a variant is a mapping (name and overrides)")
        given = variant.get("name")
        if given is not None and (not isinstance(given, str) or not given.strip()):
            raise ConfigError(f"{where}: matrix[{index}].name: must be a non-empty string")
        overrides = [
            (path, value, ("matrix", index, *path))
            for key, sub in variant.items()
            if key != "name"
            for path, value in _leaves((str(key),), sub)
        ]
        specs.append((_safe(given) if given else f"v{index + 1}", overrides))
    names = [name for name, _ in specs]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"{source.where(('matrix',))}: matrix: two variants are named {duplicate!r}")
    return specs


def _leaves(prefix: Loc, value: Any) -> list[tuple[Loc, Any]]:
    """Nested mappings become one override per leaf, so a variant changes only what it names."""
    if isinstance(value, Mapping) and value:
        return [leaf for key, sub in value.items() for leaf in _leaves((*prefix, str(key)), sub)]
    return [(prefix, value)]


def _label(key: str, value: Any, index: int) -> str:
    text = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
    if text and len(text) <= 32 and _UNSAFE.sub("", text) == text:
        return text
    return f"{key.split('.')[-1]}{index + 1}"


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text.strip()).strip("-._")[:40] or "cell"


def _unique(specs: list[Spec]) -> list[Spec]:
    seen: dict[str, int] = {}
    out: list[Spec] = []
    for name, overrides in specs:
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}-{seen[name]}", overrides))
    return out


# --------------------------------------------------------------------------- one cell


def _cell_source(base: YamlSource, overrides: list[tuple[Loc, Any, Loc]], name: str | None) -> YamlSource:
    data = copy.deepcopy(base.data)
    lines = dict(base.lines)
    for loc, value, written in overrides:
        target = data
        for part in loc[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[loc[-1]] = copy.deepcopy(value)
        line = base.lines.get(written) or base.line_of(written)
        for known in [k for k in lines if k[: len(loc)] == loc]:
            del lines[known]  # the base's lines under a replaced value no longer apply
        if line is not None:
            lines[loc] = line
            _mark_children(lines, loc, written, base)
    if name is not None:
        data["name"] = name
    return YamlSource(path=base.path, data=data, lines=lines, secrets=set(base.secrets))


def _mark_children(lines: dict[Loc, int], loc: Loc, written: Loc, base: YamlSource) -> None:
    # A list or mapping value written in the matrix keeps its own items' lines.
    for key, line in base.lines.items():
        if key[: len(written)] == written and len(key) > len(written):
            lines[(*loc, *key[len(written) :])] = line


def _baseline(baseline: Any, names: list[str], source: YamlSource) -> str:
    if baseline is None:
        return names[0]
    if baseline not in names:
        raise ConfigError(
            f"{source.where(('baseline',))}: baseline: {baseline!r} is not a cell; "
            f"the cells are {', '.join(names)}"
        )
    return str(baseline)


def _options(raw: Any, source: YamlSource) -> ExperimentOptions:
    if raw is None:
        return ExperimentOptions()
    try:
        return ExperimentOptions.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, ExperimentOptions, ("experiment",))) from None


def _resolve(path: Path) -> Path:
    if path.is_dir():
        for candidate in ("pipeline.yaml", "pipeline.yml"):
            if (path / candidate).is_file():
                return (path / candidate).resolve()
    return path.resolve()
