"""The built-in metrics: ``exact_match``, ``contains`` and ``regex``.

They register through the ``lm_eval_so.metrics`` entry points like any plugin. Each has a
strict ``Options`` model, so a typo in ``evaluator.metrics[i]`` fails when the pipeline loads.
Text is compared in Unicode NFC whatever the options (see ``normalize.py``), and a reference
that is blank, or empty once normalised, is refused rather than matched against every output.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...common.errors import DatasetError
from ...common.records import DatasetSample, RunResult
from ...common.text import nfc
from .base import Metric, MetricScore
from .normalize import Step, normalized_references, normalizer


def _one_or_many(value: Any) -> Any:
    # `normalize: lower` reads naturally in YAML; treat it as `[lower]`.
    return [value] if isinstance(value, str) else value


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


_DEFAULT_STEPS: tuple[Step, ...] = ("strip",)


class ExactMatchOptions(_Options):
    normalize: list[Step] = Field(
        default_factory=lambda: list(_DEFAULT_STEPS),
        description=(
            "strip, lower, punctuation, whitespace, numbers, nfkc; applied to both sides, "
            "after Unicode NFC (always on)"
        ),
    )

    @field_validator("normalize", mode="before")
    @classmethod
    def _single_step(cls, value: Any) -> Any:
        return _one_or_many(value)


class ContainsOptions(ExactMatchOptions):
    case_sensitive: bool = Field(False, description="Compare case as written.")


class ExactMatch(Metric):
    """The output equals the expected answer (or any of a list) after normalisation."""

    name: ClassVar[str] = "exact_match"
    Options = ExactMatchOptions
    options: ExactMatchOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._steps: list[Step] = list(self.options.normalize)
        self._norm = normalizer(self._steps)

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        got = self._norm(result.output or "")
        wanted = normalized_references(sample, self._norm, self.name, self._steps)
        passed = got in wanted
        return MetricScore(float(passed), passed, {"output": got, "expected": _one(wanted)})


class Contains(Metric):
    """The output contains the expected answer (or any of a list) after normalisation."""

    name: ClassVar[str] = "contains"
    Options = ContainsOptions
    options: ContainsOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._steps = contains_steps(self.options)
        self._norm = normalizer(self._steps)

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        got = self._norm(result.output or "")
        wanted = normalized_references(sample, self._norm, self.name, self._steps)
        found = next((w for w in wanted if w in got), None)
        passed = found is not None
        return MetricScore(float(passed), passed, {"expected": _one(wanted), "found": found})


def contains_steps(options: ContainsOptions) -> list[Step]:
    """The normalisation steps of a ``contains``-style metric: ``lower`` unless case-sensitive."""
    steps = list(options.normalize)
    return steps if options.case_sensitive else [*steps, "lower"]


Flag = Literal["ignorecase", "multiline", "dotall"]
_FLAGS: dict[str, re.RegexFlag] = {
    "ignorecase": re.IGNORECASE,
    "multiline": re.MULTILINE,
    "dotall": re.DOTALL,
}


class RegexOptions(_Options):
    pattern: str | None = Field(None, description="Regular expression; the expected answer if unset")
    flags: list[Flag] = Field(default_factory=list, description="ignorecase, multiline, dotall.")
    fullmatch: bool = Field(False, description="The whole output must match, not just a part.")

    @field_validator("flags", mode="before")
    @classmethod
    def _single_flag(cls, value: Any) -> Any:
        return _one_or_many(value)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value == "":
            # The empty pattern is found in every output: a gate on it would measure nothing.
            raise ValueError("the empty pattern matches every output; give a pattern or leave it unset")
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @property
    def re_flags(self) -> int:
        flags = 0
        for name in self.flags:
            flags |= _FLAGS[name]
        return flags


class Regex(Metric):
    """The output matches a pattern: ``pattern`` from the options, else the sample's expected."""

    name: ClassVar[str] = "regex"
    Options = RegexOptions
    options: RegexOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        # Expected answers used as patterns repeat across repeats: compile each once.
        self._compiled: dict[str, re.Pattern[str]] = {}

    @property
    def needs_expected(self) -> bool:
        return self.options.pattern is None

    @cached_property
    def _fixed(self) -> re.Pattern[str] | None:
        pattern = self.options.pattern
        return None if pattern is None else re.compile(nfc(pattern), self.options.re_flags)

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        output = result.output or ""
        patterns = [self._fixed] if self._fixed is not None else self._from_expected(sample)
        for pattern in patterns:
            found = pattern.fullmatch(output) if self.options.fullmatch else pattern.search(output)
            if found is not None:
                return MetricScore(1.0, True, {"pattern": pattern.pattern, "match": found.group(0)})
        shown = [p.pattern for p in patterns]
        return MetricScore(0.0, False, {"pattern": _one(shown), "match": None})

    def _from_expected(self, sample: DatasetSample) -> list[re.Pattern[str]]:
        compiled = []
        for text in sample.expected_list():
            pattern = self._compiled.get(text)
            if pattern is None:
                try:
                    pattern = re.compile(text, self.options.re_flags)
                except re.error as exc:
                    raise DatasetError(
                        f"sample {sample.id!r}: expected {text!r} is not a valid regular "
                        f"expression for the regex metric: {exc}"
                    ) from None
                self._compiled[text] = pattern
            compiled.append(pattern)
        return compiled


def _one(values: list[str]) -> str | list[str]:
    """Keep details readable: a single expected answer is shown as a string."""
    return values[0] if len(values) == 1 else values
