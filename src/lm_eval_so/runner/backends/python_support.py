"""Helpers of the python backend: importing the user's function, calling it, reading its answer."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...common.errors import BackendError
from ...common.records import Usage
from .base import Completion, Request

# What the function may ask for, by parameter name.
ARGUMENTS: dict[str, Callable[[Request], Any]] = {
    "input": lambda r: r.sample.input,
    "prompt": lambda r: r.prompt,
    "messages": lambda r: [{"role": m.role, "content": m.content} for m in r.sample.messages],
    "sample": lambda r: r.sample,
    "metadata": lambda r: dict(r.sample.metadata),
    "params": lambda r: dict(r.params),
}

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_POSITIONAL_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def import_function(spec: str | None, base_dir: Path) -> Callable[..., Any]:
    """Resolve ``package.module:function`` (dots after the colon reach into attributes)."""
    if not spec or ":" not in spec:
        raise BackendError(
            f"runner.function: the python backend needs `function: package.module:function` (got {spec!r})"
        )
    module_name, _, attr_path = spec.partition(":")
    # The user's app usually sits next to pipeline.yaml or in the working directory.
    for folder in (str(base_dir), os.getcwd()):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # any failure inside the user's module is a setup error
        raise BackendError(
            f"runner.function: cannot import {module_name!r} for {spec!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise BackendError(
                f"runner.function: {spec!r}: {module_name!r} has no attribute {part!r}"
            ) from None
    if not callable(target):
        raise BackendError(f"runner.function: {spec!r} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def call_plan(function: Callable[..., Any], spec: str) -> tuple[tuple[str, ...], bool]:
    """Which ARGUMENTS to pass by keyword, and whether ``input`` goes as the one positional."""
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature: give them the input
        return (), True
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return tuple(ARGUMENTS), False
    names = tuple(p.name for p in params if p.name in ARGUMENTS and p.kind in _KEYWORD_KINDS)
    bound = set(names)
    positional = [p for p in params if p.kind in _POSITIONAL_KINDS]
    by_position = not names and bool(positional)
    if by_position:
        bound.add(positional[0].name)
    unknown = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind is not inspect.Parameter.VAR_POSITIONAL
        and p.name not in bound
    ]
    if unknown:
        raise BackendError(
            f"runner.function: {spec!r} requires {', '.join(map(repr, unknown))}; name its "
            f"parameters from {', '.join(ARGUMENTS)} (or give it a single positional parameter)"
        )
    return names, by_position


def to_completion(returned: Any, spec: str) -> Completion:
    """Read the function's answer: a str, a dict with ``output``, or an object with ``.output``."""
    if isinstance(returned, str):
        return Completion(text=returned)
    if isinstance(returned, Mapping):
        output, usage = returned.get("output"), returned.get("usage")
    else:
        output, usage = getattr(returned, "output", None), getattr(returned, "usage", None)
    if not isinstance(output, str):
        raise TypeError(
            f"{spec} returned {_describe(returned)}; return a str, a dict with an 'output' "
            "string, or an object with an .output string"
        )
    return Completion(text=output, usage=_usage(usage))


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None

    def get(key: str) -> Any:
        return usage.get(key) if isinstance(usage, Mapping) else getattr(usage, key, None)

    prompt, completion = int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0)
    total = int(get("total_tokens") or prompt + completion)
    return Usage.model_construct(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"
