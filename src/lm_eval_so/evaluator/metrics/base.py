"""The metric contract: score one result against its sample."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ...common.records import DatasetSample, RunResult


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
    keys in ``evaluator.metrics[i]``; they are validated when the pipeline is loaded.
    """

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = NoOptions
    #: Pass/fail metrics get Wilson intervals; continuous ones a normal-approximation interval.
    binary: ClassVar[bool] = True
    requires_expected: ClassVar[bool] = True
    #: The range every score lies in; confidence intervals are clamped to it. None: unbounded.
    score_range: ClassVar[tuple[float, float] | None] = (0.0, 1.0)

    def __init__(self, options: BaseModel | None = None, context: MetricContext | None = None) -> None:
        self.options = options if options is not None else self.Options()
        self.context = context if context is not None else MetricContext()

    def is_binary(self) -> bool:
        """Whether scores are pass/fail (Wilson interval); a metric may decide per config."""
        return self.binary

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

    @abstractmethod
    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        """Score a successful result (``result.output`` is a string)."""
