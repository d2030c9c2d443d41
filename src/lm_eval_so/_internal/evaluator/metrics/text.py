"""More string metrics: ``contains_any``, ``contains_all``, ``numeric`` and token ``f1``."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ...common.errors import DatasetError
from ...common.records import DatasetSample, RunResult
from ...common.text import is_blank
from .base import Metric, MetricScore
from .builtin import ContainsOptions, contains_steps
from .normalize import Step, normalized_references, normalizer


class ContainsSetOptions(ContainsOptions):
    values: list[str] | None = Field(
        None, description="Strings to look for; the sample's expected answers when unset."
    )

    @field_validator("values", mode="before")
    @classmethod
    def _single_value(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("values")
    @classmethod
    def _no_blank_values(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """A blank string (or one normalised away) is found in every output: refuse it."""
        steps: list[Step] = list(info.data.get("normalize", []))
        norm = normalizer(steps if info.data.get("case_sensitive") else [*steps, "lower"])
        for index, value in enumerate(values or []):
            if is_blank(value) or not norm(value):
                raise ValueError(
                    f"values[{index}] ({value!r}) is blank once normalised, so every output "
                    "would contain it; remove it or give visible text"
                )
        return values


class _ContainsSet(Metric):
    """Shared by ``contains_any`` and ``contains_all``: which of the strings the output holds."""

    Options = ContainsSetOptions
    options: ContainsSetOptions
    need_all: ClassVar[bool]

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._steps = contains_steps(self.options)
        self._norm = normalizer(self._steps)

    @property
    def needs_expected(self) -> bool:
        return self.options.values is None

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        got = self._norm(result.output or "")
        if self.options.values is not None:  # checked when the options were validated
            normalised = [self._norm(w) for w in self.options.values]
        else:
            normalised = normalized_references(sample, self._norm, self.name, self._steps)
        found = [w for w in normalised if w in got]
        missing = [w for w in normalised if w not in got]
        passed = not missing if self.need_all else bool(found)
        return MetricScore(float(passed), passed, {"found": found, "missing": missing})


class ContainsAny(_ContainsSet):
    """The output contains at least one of the strings."""

    name: ClassVar[str] = "contains_any"
    need_all: ClassVar[bool] = False


class ContainsAll(_ContainsSet):
    """The output contains every one of the strings."""

    name: ClassVar[str] = "contains_all"
    need_all: ClassVar[bool] = True


# --------------------------------------------------------------------------- numeric

# Integers, decimals, thousands separators, exponents: "-1,234.5e3". Not glued to a word.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")


def find_numbers(text: str) -> list[float]:
    """Every number in ``text``, in order ("1,000" is one thousand, "v2" is not a number)."""
    out = []
    for match in _NUMBER.finditer(text):
        token = match.group(0).replace(",", "")
        if any(ch.isdigit() for ch in token):
            try:
                out.append(float(token))
            except ValueError:  # "1e" and similar fragments
                continue
    return out


class NumericOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tolerance: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="Allowed difference (see `relative`)."
    )
    relative: bool = Field(False, description="Tolerance is a fraction of |expected|, not absolute.")
    pick: Literal["last", "first", "only"] = Field(
        "last", description="Which number of the output is the answer; `only`: exactly one number."
    )


class Numeric(Metric):
    """The number in the output equals the expected number within a tolerance."""

    name: ClassVar[str] = "numeric"
    Options = NumericOptions
    options: NumericOptions

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        numbers = find_numbers(result.output or "")
        got = self._pick(numbers)
        expected = [_expected_number(sample, text) for text in sample.expected_list()]
        if got is None:
            return MetricScore(0.0, False, {"got": None, "numbers_found": len(numbers)})
        best = min(expected, key=lambda e: abs(got - e))
        diff = abs(got - best)
        allowed = self.options.tolerance * (abs(best) if self.options.relative else 1.0)
        # A tiny absolute slack so 0.1 + 0.2 == 0.3 when the tolerance is zero.
        passed = diff <= allowed or math.isclose(got, best, rel_tol=1e-9, abs_tol=1e-12)
        return MetricScore(float(passed), passed, {"got": got, "expected": best, "diff": diff})

    def _pick(self, numbers: list[float]) -> float | None:
        if not numbers:
            return None
        if self.options.pick == "only":
            return numbers[0] if len(numbers) == 1 else None
        return numbers[0] if self.options.pick == "first" else numbers[-1]


def _expected_number(sample: DatasetSample, text: str) -> float:
    numbers = find_numbers(text)
    if len(numbers) != 1:
        raise DatasetError(
            f"sample {sample.id!r}: expected {text!r} is not a single number for the numeric metric"
        )
    return numbers[0]


# --------------------------------------------------------------------------- token f1

_F1_STEPS: list[Step] = ["lower", "punctuation", "whitespace", "strip"]


class F1Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    normalize: list[Step] = Field(
        default_factory=lambda: list(_F1_STEPS), description="Applied before splitting into tokens."
    )


class TokenF1(Metric):
    """SQuAD-style token F1 between the output and the best-matching expected answer."""

    name: ClassVar[str] = "f1"
    Options = F1Options
    options: F1Options
    binary: ClassVar[bool] = False

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._steps: list[Step] = list(self.options.normalize)
        self._norm = normalizer(self._steps)

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        got = self._norm(result.output or "").split()
        wanted = normalized_references(sample, self._norm, self.name, self._steps)
        scores = [token_f1(got, reference.split()) for reference in wanted]
        return MetricScore(max(scores, default=0.0), None, {"tokens": len(got)})


def token_f1(got: list[str], wanted: list[str]) -> float:
    """Harmonic mean of token precision and recall (multiset overlap); 1.0 when both are empty."""
    if not got or not wanted:
        return float(got == wanted)
    common = sum((Counter(got) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(wanted)
    return 2 * precision * recall / (precision + recall)
