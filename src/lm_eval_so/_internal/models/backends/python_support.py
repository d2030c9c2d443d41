"""Helpers of the python backend: importing the user's function, calling it, reading its answer."""

from __future__ import annotations

import hashlib
import inspect
import marshal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...common.errors import BackendError, EmptyAnswer
from ...common.modules import import_user_module
from ..base import Completion, Request
from ..usage import parse_usage

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
    try:
        # The module next to this pipeline, even if another pipeline's of that name is loaded.
        target: Any = import_user_module(module_name, base_dir)
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
    if returned is None:
        raise EmptyAnswer(None, f"{spec} returned None")
    if isinstance(returned, Mapping):
        output, usage = returned.get("output"), returned.get("usage")
    else:
        output, usage = getattr(returned, "output", None), getattr(returned, "usage", None)
    if output is None and (
        (isinstance(returned, Mapping) and "output" in returned) or hasattr(returned, "output")
    ):
        raise EmptyAnswer(None, f"{spec} returned an output of None")
    if not isinstance(output, str):
        raise TypeError(
            f"{spec} returned {_describe(returned)}; return a str, a dict with an 'output' "
            "string, or an object with an .output string"
        )
    return Completion(text=output, usage=parse_usage(usage))


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


_INSTALLED = ("site-packages", "dist-packages")


def code_identity(function: Callable[..., Any], base_dir: Path) -> str:
    """A sha256 that changes when the code under test changes, for the response cache's key.

    What counts: the source bytes of every module already imported (when the run starts) from
    the pipeline's directory tree or from the tree of the function's own top-level package,
    installed packages excepted, plus the function's own bytecode (for a function with no source
    file). What does not: modules first imported later, data files the function reads, the
    environment, remote services. That is why the python backend caches only when asked.
    """
    roots = [base_dir.resolve()]
    module = sys.modules.get(getattr(function, "__module__", "") or "")
    top = sys.modules.get((getattr(module, "__name__", "") or "").partition(".")[0])
    top_file = getattr(top, "__file__", None)
    if top_file:
        top_path = Path(top_file).resolve()
        roots.append(top_path.parent if top_path.name == "__init__.py" else top_path)
    digest = hashlib.sha256()
    for path in sorted(_user_module_files(roots)):
        digest.update(str(path).encode("utf-8", "surrogatepass") + b"\x00")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    # A plain function's code, or a callable object's __call__.
    call = type(function).__dict__.get("__call__")
    code = getattr(function, "__code__", None) or getattr(call, "__code__", None)
    if code is not None:
        digest.update(marshal.dumps(code))
    return digest.hexdigest()


def _user_module_files(roots: list[Path]) -> set[Path]:
    files: set[Path] = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not name or not name.endswith(".py"):
            continue
        path = Path(name).resolve()
        if any(part in _INSTALLED for part in path.parts):
            continue
        if any(path == root or root in path.parents for root in roots) and path.is_file():
            files.add(path)
    return files
