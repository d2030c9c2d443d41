"""The metric contract: score one result against its sample.

Two rules hold for every metric, built-in or plugin, because :class:`Metric` applies them
around each subclass's :meth:`~Metric.score` and :meth:`~Metric.prepare` (nothing to call):

* **Canonical text.** ``sample.input``, ``sample.expected`` and ``result.output`` arrive in
  Unicode NFC (:func:`~lm_eval_so._internal.common.text.nfc`), so canonically equivalent strings are
  equal to every metric (``"Café"`` precomposed or with a combining accent).
* **No blank references.** A metric that reads the reference (:attr:`Metric.reads_expected`)
  never sees a blank one (``""``, ``"  "``, or a blank item of a list of answers): the sample
  is refused with a :class:`~lm_eval_so._internal.common.errors.DatasetError` naming it. A blank needle
  is "contained" in every output, so scoring it would be a pass that measured nothing. The
  generator refuses such references when it builds a dataset; this catches the rest (a
  dataset.jsonl written by hand, a sample built in code).
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ...common.errors import DatasetError
from ...common.records import DatasetSample, RunResult
from ...common.text import is_blank, nfc


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class MetricScore:
    score: float
    passed: bool | None = None  # pass/fail metrics set it; continuous ones leave None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricContext:
    """What a metric may know besides its options: where relative paths and modules live."""

    base_dir: Path = field(default_factory=Path.cwd)  # the pipeline.yaml's directory
    seed: int = 0


@dataclass
class MetricUsage:
    """Model calls a metric made itself (an LLM judge): reported apart from the run's own."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0  # None: some call had no known price


class Metric(ABC):
    """Subclass, set ``name`` (and ``Options``), implement :meth:`score`.

    Register under the ``lm_eval_so.metrics`` entry-point group. Options are the metric's own
    keys in ``evaluator.metrics[i]``; they are validated when the pipeline is loaded, and so
    are thresholds: a bound outside ``score_range`` is a config error.

    ``score`` sees canonical (NFC) text and never a blank reference: see the module docstring.
    """

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = NoOptions
    #: Pass/fail metrics get Wilson intervals; continuous ones a normal-approximation interval.
    binary: ClassVar[bool] = True
    requires_expected: ClassVar[bool] = True
    #: The range every score lies in; confidence intervals are clamped to it. None: unbounded.
    score_range: ClassVar[tuple[float, float] | None] = (0.0, 1.0)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, guard in (("score", _guard_score), ("prepare", _guard_prepare)):
            own = cls.__dict__.get(name)
            abstract = getattr(own, "__isabstractmethod__", False)
            if callable(own) and not abstract and not getattr(own, _GUARDED, False):
                setattr(cls, name, guard(own))

    def __init__(self, options: BaseModel | None = None, context: MetricContext | None = None) -> None:
        self.options = options if options is not None else self.Options()
        self.context = context if context is not None else MetricContext()

    def is_binary(self) -> bool:
        """Whether scores are pass/fail (Wilson interval); a metric may decide per config."""
        return self.binary

    @classmethod
    def score_range_for(cls, options: BaseModel) -> tuple[float, float] | None:
        """The range scores lie in under ``options``: ``score_range`` unless options decide.

        Thresholds are checked against it when the pipeline loads (a ``min: 80`` on a 0..1
        metric is a config error, not a gate that fails after the model was called).
        """
        return cls.score_range

    @classmethod
    def check_at_load(
        cls, options: BaseModel, base_dir: Path
    ) -> Iterable[tuple[str | tuple[str | int, ...], str]]:
        """Optional: what is wrong with ``options`` beyond their own validation, as
        ``(option key or path, problem)`` pairs; nothing when all is well.

        Called when the pipeline loads (so ``--dry-run`` and pytest collection catch it),
        with the pipeline's folder, for checks that need more than the options' values: a
        file to read, a function to import, a package to be installed. It must not call a
        model or the network. Each problem is reported at the option's line::

            @classmethod
            def check_at_load(cls, options, base_dir):
                if not (base_dir / options.vocab_file).is_file():
                    yield "vocab_file", f"no such file: {options.vocab_file}"
        """
        return ()

    def prepare(self, pairs: Sequence[tuple[DatasetSample, RunResult]]) -> None:  # noqa: B027
        """Optional: see every successful result before :meth:`score` is called on each.

        A metric that calls a model overrides this to make its calls concurrently; the
        evaluator then reads the results once more, so plain metrics should not override it.
        """

    def usage(self) -> MetricUsage | None:
        """Calls this metric made to a model so far; None for metrics that call none."""
        return None

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release models, clients or threads; called once after the last score."""

    @property
    def needs_expected(self) -> bool:
        """Whether this configured metric needs ``sample.expected``.

        ``requires_expected`` by default; a metric whose options can supply the reference
        (``regex`` with a ``pattern``) overrides this.
        """
        return self.requires_expected

    @property
    def reads_expected(self) -> bool:
        """Whether :meth:`score` compares the output with ``sample.expected``.

        Then a blank reference is refused before :meth:`score` runs. ``needs_expected`` by
        default; a metric that may read a reference it does not require overrides this.
        """
        return self.needs_expected

    @abstractmethod
    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        """Score a successful result (``result.output`` is a string)."""


# --------------------------------------------------------------------------- the guard

_GUARDED = "_lm_eval_so_guarded"
ScoreFn = Callable[[Metric, DatasetSample, RunResult], MetricScore]
PrepareFn = Callable[[Metric, Sequence[tuple[DatasetSample, RunResult]]], None]


def _guard_score(score: ScoreFn) -> ScoreFn:
    """``score`` behind the two rules of the module docstring."""

    @functools.wraps(score)
    def guarded(self: Metric, sample: DatasetSample, result: RunResult) -> MetricScore:
        sample, result = canonical_pair(sample, result)
        if self.reads_expected:
            check_references(sample, type(self).name)
        return score(self, sample, result)

    setattr(guarded, _GUARDED, True)
    return guarded


def _guard_prepare(prepare: PrepareFn) -> PrepareFn:
    """``prepare`` seeing the same canonical, checked pairs as ``score`` will."""

    @functools.wraps(prepare)
    def guarded(self: Metric, pairs: Sequence[tuple[DatasetSample, RunResult]]) -> None:
        canonical = [canonical_pair(sample, result) for sample, result in pairs]
        if self.reads_expected:
            for sample, _ in canonical:
                check_references(sample, type(self).name)
        prepare(self, canonical)

    setattr(guarded, _GUARDED, True)
    return guarded


def canonical_pair(sample: DatasetSample, result: RunResult) -> tuple[DatasetSample, RunResult]:
    """The sample and result with input, expected and output in NFC (the same objects if so)."""
    expected = sample.expected
    text, wanted = nfc(sample.input), expected
    if isinstance(expected, str):
        wanted = nfc(expected)
    elif expected is not None:
        wanted = [nfc(item) for item in expected]
    if text != sample.input or wanted != expected:
        sample = sample.model_copy(update={"input": text, "expected": wanted})
    output = result.output
    if output is not None and (canonical := nfc(output)) != output:
        result = result.model_copy(update={"output": canonical})
    return sample, result


def check_references(sample: DatasetSample, metric: str) -> None:
    """Refuse a blank reference (``""``, ``"  "``, a blank item of a list) with a DatasetError.

    An absent reference (``expected: null``) is not checked here: the evaluator reports it
    once, before scoring, for every metric that needs one.
    """
    references = sample.expected_list()
    for index, text in enumerate(references, start=1):
        if is_blank(text):
            which = f"item {index} of {len(references)} of expected" if len(references) > 1 else "expected"
            raise DatasetError(
                f"sample {sample.id!r}: {which} is blank ({text!r}): a reference needs visible "
                f"text, and {metric} would score a blank one against any output; write the answer, "
                "or leave expected out (null) for no reference"
            )
