"""``python``: a user function ``package.module:function`` scores each result.

The function receives, by keyword, whichever of these its signature names: ``output``,
``expected`` (str, list or None as in the dataset), ``input``, ``sample``, ``result``,
``metadata``. It returns a number (the score), a bool (pass/fail), a ``(score, passed)``
tuple, or a dict with ``score`` and optionally ``passed`` and ``detail``.

Texts arrive in Unicode NFC, and a function that takes ``expected`` never receives a blank
reference (see :mod:`~lm_eval_so._internal.evaluator.metrics.base`). Its scores have no known range
(``score_range`` is None), so thresholds on it need only be finite numbers.

The function is imported, and its parameters checked, when the pipeline loads
(:meth:`PythonMetric.check_at_load`): a typo in ``function:`` fails ``--dry-run`` and pytest
collection, not the evaluation after every model call. Modules next to pipeline.yaml are
importable (:func:`~lm_eval_so._internal.common.modules.add_pipeline_dir`: appended to ``sys.path``,
never in front of installed packages).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...common.errors import ConfigError, PluginError
from ...common.modules import import_user_module
from ...common.records import DatasetSample, RunResult
from .base import Metric, MetricScore

_ARGUMENTS: dict[str, Callable[[DatasetSample, RunResult], Any]] = {
    "output": lambda s, r: r.output or "",
    "expected": lambda s, r: s.expected,
    "input": lambda s, r: s.input,
    "sample": lambda s, r: s,
    "result": lambda s, r: r,
    "metadata": lambda s, r: s.metadata,
}


class PythonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    function: str = Field(description="`package.module:function` returning a score.")
    binary: bool = Field(False, description="Scores are pass/fail 0/1 (Wilson interval).")
    needs_expected: bool = Field(False, description="Fail early when a sample has no expected answer.")

    @field_validator("function")
    @classmethod
    def _spec(cls, value: str) -> str:
        module, _, name = value.partition(":")
        if not module or not name:
            raise ValueError(f"expected `package.module:function` (got {value!r})")
        return value


class PythonMetric(Metric):
    name: ClassVar[str] = "python"
    Options = PythonOptions
    options: PythonOptions
    score_range: ClassVar[tuple[float, float] | None] = None  # whatever the function returns

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._function: Callable[..., Any] | None = None
        self._names: list[str] = []

    @property
    def needs_expected(self) -> bool:
        return self.options.needs_expected

    @property
    def reads_expected(self) -> bool:
        """True when the function takes ``expected``: it then never gets a blank reference."""
        if self._function is None:
            self._load()
        return self.options.needs_expected or "expected" in self._names

    def is_binary(self) -> bool:
        return self.options.binary

    @classmethod
    def score_range_for(cls, options: BaseModel) -> tuple[float, float] | None:
        """0..1 for a pass/fail function (``binary: true``); otherwise unknown."""
        return (0.0, 1.0) if isinstance(options, PythonOptions) and options.binary else None

    @classmethod
    def check_at_load(cls, options: BaseModel, base_dir: Path) -> Iterable[tuple[str, str]]:
        """The function imports, is callable and asks only for arguments a metric gets."""
        assert isinstance(options, PythonOptions)
        try:
            resolve(options.function, base_dir)
        except ConfigError as exc:
            return [("function", str(exc))]
        return []

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        function = self._function or self._load()
        returned = function(**{name: _ARGUMENTS[name](sample, result) for name in self._names})
        return to_score(returned, self.options.function)

    def _load(self) -> Callable[..., Any]:
        try:
            function, self._names = resolve(self.options.function, self.context.base_dir)
        except ConfigError as exc:  # a config built in code: no line to name
            raise ConfigError(f"python metric: {exc}") from None
        self._function = function
        return function


def resolve(spec: str, base_dir: Path) -> tuple[Callable[..., Any], list[str]]:
    """Import ``module:function`` (next to pipeline.yaml, or installed) and read which of the
    metric's arguments it takes. Raises :class:`ConfigError` saying what is wrong."""
    module_name, _, attr = spec.partition(":")
    try:
        module = import_user_module(module_name, base_dir)
    except (Exception, SystemExit) as exc:  # anything the user's module does while importing
        raise ConfigError(f"cannot import {spec!r}: {type(exc).__name__}: {exc}") from None
    try:
        function = getattr(module, attr)
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n, None))]
        close = difflib.get_close_matches(attr, public, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"cannot import {spec!r}: module {module_name!r} has no {attr!r}{hint}") from None
    if not callable(function):
        raise ConfigError(f"{spec!r} is {type(function).__name__} {function!r:.40}, not a function")
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{spec!r}: cannot read its parameters ({exc})") from None
    names: list[str] = []
    for name, param in params.items():
        if param.kind is param.VAR_KEYWORD:  # **kwargs: it takes every argument
            return function, list(_ARGUMENTS)
        if param.kind is param.VAR_POSITIONAL:
            continue
        if name in _ARGUMENTS and param.kind is not param.POSITIONAL_ONLY:
            names.append(name)
        elif name in _ARGUMENTS and param.default is param.empty:
            raise ConfigError(
                f"{spec!r}: the parameter {name!r} is positional-only (before `/`); the metric "
                "passes its arguments by name"
            )
        elif param.default is param.empty:
            raise ConfigError(
                f"{spec!r}: unknown parameter {name!r} (no metric argument fills it); "
                f"name its parameters from {', '.join(_ARGUMENTS)}"
            )
    return function, names


def to_score(returned: Any, spec: str) -> MetricScore:
    """Read any of the allowed return shapes as a MetricScore."""
    if isinstance(returned, bool):
        return MetricScore(float(returned), returned)
    if isinstance(returned, (int, float)):
        return MetricScore(float(returned), None)
    if isinstance(returned, tuple) and len(returned) == 2:
        score, passed = returned
        return MetricScore(float(score), None if passed is None else bool(passed))
    if isinstance(returned, dict) and "score" in returned:
        passed = returned.get("passed")
        detail = returned.get("detail") or {}
        return MetricScore(float(returned["score"]), None if passed is None else bool(passed), dict(detail))
    raise PluginError(
        f"python metric {spec!r} returned {type(returned).__name__}; expected a number, a bool, "
        "(score, passed) or {'score': ..., 'passed': ..., 'detail': {...}}"
    )
