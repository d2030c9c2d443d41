"""The metric contract: score one result against its sample."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
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

    def __init__(self, options: BaseModel | None = None) -> None:
        self.options = options if options is not None else self.Options()

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
