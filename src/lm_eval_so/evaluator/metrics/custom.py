"""``python``: a user function ``package.module:function`` scores each result.

The function receives, by keyword, whichever of these its signature names: ``output``,
``expected`` (str, list or None as in the dataset), ``input``, ``sample``, ``result``,
``metadata``. It returns a number (the score), a bool (pass/fail), a ``(score, passed)``
tuple, or a dict with ``score`` and optionally ``passed`` and ``detail``.

Texts arrive in Unicode NFC, and a function that takes ``expected`` never receives a blank
reference (see :mod:`~lm_eval_so.evaluator.metrics.base`). Its scores have no known range
(``score_range`` is None), so thresholds on it need only be finite numbers.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...common.errors import ConfigError, PluginError
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

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        function = self._function or self._load()
        returned = function(**{name: _ARGUMENTS[name](sample, result) for name in self._names})
        return to_score(returned, self.options.function)

    def _load(self) -> Callable[..., Any]:
        spec = self.options.function
        module_name, _, attr = spec.partition(":")
        base = str(self.context.base_dir)
        if base not in sys.path:
            sys.path.insert(0, base)  # modules next to pipeline.yaml, like the python backend
        try:
            function: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"python metric: cannot import {spec!r}: {type(exc).__name__}: {exc}") from None
        params = inspect.signature(function).parameters
        unknown = [n for n, p in params.items() if p.default is p.empty and n not in _ARGUMENTS]
        if unknown:
            raise ConfigError(
                f"python metric {spec!r}: unknown parameter {unknown[0]!r}; "
                f"choose from {', '.join(_ARGUMENTS)}"
            )
        self._names = [n for n in params if n in _ARGUMENTS]
        self._function = function
        return self._function


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
