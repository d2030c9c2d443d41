"""mkdocs hook: the reference pages, generated from the code at build time so they cannot drift.

* ``reference/pipeline.md``  from the pydantic models of ``pipeline.yaml`` (``PipelineConfig``);
* ``reference/plugins.md``   from the registry: every built-in backend, metric, reporter and
  source with its options model;
* ``reference/cli.md``       from the ``lm-eval-so`` argument parser.

Only the core distribution's plugins are listed, so the site does not depend on what else is
installed where it is built. ``tests/docs`` imports this file to check it directly.
"""

from __future__ import annotations

import inspect
import io
import os
import types
import typing
from contextlib import redirect_stdout
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

PAGES = {
    "reference/pipeline.md": "pipeline_page",
    "reference/plugins.md": "plugins_page",
    "reference/cli.md": "cli_page",
}

# Shorthands implemented by validators: the models alone cannot say them.
NOTES = {
    "evaluator.metrics[].threshold": "A number is shorthand for `{min: N}`.",
    "evaluator.limits.error_rate": "A number is shorthand for `{max: N}`.",
    "evaluator.limits.cost_usd": "A number is shorthand for `{max: N}`.",
    "evaluator.limits.latency_p95_ms": "A number is shorthand for `{max: N}`.",
    "runner.params.stop": "A single string is accepted too.",
    "runner.base_url": "An empty string (`${OPENAI_BASE_URL:-}` when unset) means the default.",
}

_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "at least", "max_length": "at most"}


# --------------------------------------------------------------------------- mkdocs entry point


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for uri, builder in PAGES.items():
        files.append(File.generated(config, uri, content=globals()[builder]()))
    return files


# --------------------------------------------------------------------------- pipeline.yaml


def pipeline_page() -> str:
    from lm_eval_so._internal.common.config import PipelineConfig

    out = [
        "# pipeline.yaml reference",
        "",
        "Generated from the pydantic models that validate `pipeline.yaml`, so it is always the",
        'schema the code enforces. Unknown keys are errors (with a "did you mean" hint); paths are',
        "relative to the file; `${VAR}` and `${VAR:-default}` read the environment, `$${` is a",
        "literal `${` and any other `${` is an error. Numbers are finite (no `.nan`, no `.inf`). What",
        "else is checked when a pipeline loads: [Concepts](../concepts.md#checked-when-a-pipeline-loads).",
        "",
    ]
    for path, model in _models(PipelineConfig, ""):
        out += _model_section(path, model)
    return "\n".join(out) + "\n"


def _models(model: type[BaseModel], path: str) -> list[tuple[str, type[BaseModel]]]:
    """``model`` and every model nested in it, depth first, with their dotted paths."""
    found = [(path, model)]
    for name, field in model.model_fields.items():
        nested, is_list = _nested_model(field.annotation)
        if nested is not None:
            child = f"{path}.{name}" if path else name
            found += _models(nested, child + ("[]" if is_list else ""))
    return found


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) is list:
        inner, _ = _nested_model(typing.get_args(annotation)[0])
        return inner, True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner, is_list = _nested_model(arg)
            if inner is not None:
                return inner, is_list
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _model_section(path: str, model: type[BaseModel]) -> list[str]:
    title = f"`{path}`" if path else "Top level"
    out = [f"## {title}", ""]
    doc = inspect.getdoc(model)
    if doc and model.__doc__:  # its own docstring, not BaseModel's
        out += [doc.split("\n\n")[0].replace("\n", " "), ""]
    if model.model_config.get("extra") == "allow":
        out += ["Keys not listed here are the plugin's own options (see [Plugins](plugins.md)).", ""]
    out += options_table(model, path)
    return out


def options_table(model: type[BaseModel], path: str = "") -> list[str]:
    """A markdown table of a model's fields: key, type, default, description and bounds."""
    if not model.model_fields:
        return ["No options.", ""]
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        dotted = f"{path}.{name}" if path else name
        text = " ".join(filter(None, [field.description, _bounds(field), NOTES.get(dotted)]))
        rows.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {_cell(text)} |")
    return [*rows, ""]


def _bounds(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attr, symbol in _BOUNDS.items():
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            parts.append("letters, digits, `.`, `_`, `-` (at most 64)")
    return f"Must be {', '.join(parts)}." if parts else ""


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "see below" if type(value).model_fields else "`{}`"
    else:
        value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    return _cell(f"`{_plain(value)}`")


def _plain(value: Any) -> str:
    """A default as it would be written in YAML-ish flow style."""
    if isinstance(value, BaseModel):
        fields = value.model_dump(mode="json", exclude_defaults=True)
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in fields.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _type_name(annotation: Any) -> str:
    annotation = _strip(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------- plugins


def plugins_page() -> str:
    from lm_eval_so._internal.common.registry import CORE_DIST, Registry

    registry = Registry()
    out = [
        "# Built-in plugins",
        "",
        "Generated from the registry at build time: every backend, metric, report format and",
        "source that ships with lm-eval-so, with its options. Installed third-party plugins show",
        "up in `lm-eval-so plugins`. Metric options sit beside `type` in `evaluator.metrics[]`;",
        "backend options go under `runner.options`.",
        "",
    ]
    titles = {
        "backends": "Backends",
        "metrics": "Metrics",
        "reporters": "Report formats",
        "sources": "Sources",
    }
    for kind, title in titles.items():
        out += [f"## {title}", ""]
        for info in registry.infos(kind):  # type: ignore[arg-type]
            if info.dist == CORE_DIST:
                out += _plugin_section(registry, info)
    return "\n".join(out) + "\n"


def _plugin_section(registry: Any, info: Any) -> list[str]:
    out = [f"### `{info.name}`", ""]  # its import path is internal: the name is what users write
    try:
        obj = registry.get(info.kind, info.name)
    except Exception as exc:  # an optional extra missing where the site is built
        return [*out, f"*Not importable here ({type(exc).__name__}); it may need an optional extra.*", ""]
    doc = inspect.getdoc(obj) if obj.__doc__ else None
    if doc:
        out += [doc.split("\n\n")[0].replace("\n", " "), ""]
    out += _facts(info.kind, obj)
    options = getattr(obj, "Options", None)
    if isinstance(options, type) and issubclass(options, BaseModel):
        out += ["Options:", "", *options_table(options)]
    return out


def _facts(kind: str, obj: Any) -> list[str]:
    if kind == "metrics":
        facts = [
            f"pass/fail: {'yes' if obj.binary else 'no (continuous)'}",
            f"needs `expected`: {'yes' if obj.requires_expected else 'no'}",
            f"score range: {list(obj.score_range) if obj.score_range else 'unbounded'}",
        ]
    elif kind == "backends":
        facts = [
            f"default mode: `{obj.default_mode}`",
            f"local (free by default): {'yes' if obj.is_local else 'no'}",
        ]
    elif kind == "reporters":
        facts = [f"writes `report.{obj.suffix}`"]
    else:
        facts = [f"suffixes: {', '.join(f'`{s}`' for s in obj.suffixes) or 'none'}"]
    return ["; ".join(facts) + ".", ""]


# --------------------------------------------------------------------------- CLI


def cli_page() -> str:
    from lm_eval_so._internal.cli import build_parser

    parser = build_parser()
    out = [
        "# Command line",
        "",
        "Generated from the `lm-eval-so` argument parser at build time: the `--help` of every",
        "command as it is in this version.",
        "",
        "```text",
        _help(parser),
        "```",
        "",
    ]
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in subparsers.choices.items():  # type: ignore[attr-defined]
        out += [f"## `lm-eval-so {name}`", "", "```text", _help(sub), "```", ""]
    return "\n".join(out)


def _help(parser: Any) -> str:
    # argparse wraps to the terminal width: pin it for a stable page, then put it back.
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            parser.print_help()
        return buffer.getvalue().rstrip()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
