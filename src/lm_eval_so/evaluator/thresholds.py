"""Gates: metric thresholds and run-level limits, turned into :class:`ThresholdOutcome` records.

Names match :meth:`PipelineConfig.gates` (``exact_match>=0.8``, ``error_rate<=0``), which is how
pytest names its items, so an outcome can be found by the item that reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..common.config import EvaluatorConfig, Limit, Threshold
from ..common.records import MetricSummary, ThresholdOutcome

# Means are computed in floating point; a mean that *is* the threshold (0.8 from 8/10) may
# come out an ulp away. Comparing with this tolerance makes "mean == min" pass.
_TOLERANCE = 1e-12


@dataclass(frozen=True)
class RunFigures:
    """The run-level numbers the limits look at."""

    n_results: int
    n_errors: int
    error_rate: float
    cost_usd: float | None
    latency_p95_ms: float
    model: str | None = None

    @property
    def n_ok(self) -> int:
        return self.n_results - self.n_errors


def metric_outcome(name: str, threshold: Threshold, stats: MetricSummary) -> ThresholdOutcome:
    """The mean (``gate: point``) or its 95% interval (``gate: confidence``) against ``threshold``.

    A metric without scores fails rather than passing empty.
    """
    outcome = ThresholdOutcome(
        name=threshold.describe(name),
        kind="metric",
        target=name,
        min=threshold.min,
        max=threshold.max,
        value=stats.mean if stats.n else None,
        passed=False,
        status="failed",
        gate=threshold.gate,
    )
    if stats.n == 0:
        return outcome.model_copy(update={"reason": "no scores"})
    if threshold.gate == "confidence":
        return _confidence_outcome(outcome, threshold, stats)
    interval = f"95% CI {stats.ci_low:.3f}-{stats.ci_high:.3f}, n={stats.n}"
    if threshold.min is not None and stats.mean < threshold.min - _TOLERANCE:
        reason = f"mean {stats.mean:.4g} is below the minimum {threshold.min:g} ({interval})"
        return outcome.model_copy(update={"reason": reason})
    if threshold.max is not None and stats.mean > threshold.max + _TOLERANCE:
        reason = f"mean {stats.mean:.4g} is above the maximum {threshold.max:g} ({interval})"
        return outcome.model_copy(update={"reason": reason})
    return outcome.model_copy(update={"passed": True, "status": "passed"})


def _confidence_outcome(
    outcome: ThresholdOutcome, threshold: Threshold, stats: MetricSummary
) -> ThresholdOutcome:
    """Pass when the whole interval clears every bound; fail when it lies entirely beyond one.

    An interval that touches the bound counts as clearing it (the same ``>=`` as point gates).
    Anything else is inconclusive: the data cannot tell, and ``threshold.inconclusive`` decides.
    """
    low, high = stats.ci_low, stats.ci_high
    interval = f"95% CI [{low:.4g}, {high:.4g}] ({stats.ci_method}), mean {stats.mean:.4g}, n={stats.n}"
    # (side, bound, the interval clears it, the interval lies entirely beyond it)
    bounds = []
    if (lo := threshold.min) is not None:
        bounds.append(("min", lo, low >= lo - _TOLERANCE, high < lo - _TOLERANCE))
    if (hi := threshold.max) is not None:
        bounds.append(("max", hi, high <= hi + _TOLERANCE, low > hi + _TOLERANCE))
    for side, bound, _, beyond in bounds:
        if beyond:
            where = "below the minimum" if side == "min" else "above the maximum"
            reason = f"the whole interval is {where} {bound:g}: {interval}"
            return outcome.model_copy(update={"reason": reason})
    if all(clears for _, _, clears, _ in bounds):
        return outcome.model_copy(update={"passed": True, "status": "passed", "reason": None})
    side, bound = next((side, bound) for side, bound, clears, _ in bounds if not clears)
    counted = threshold.inconclusive == "pass"
    reason = (
        f"inconclusive: the interval straddles the {side}imum {bound:g} ({interval}); "
        f"counted as {'passed' if counted else 'failed'} (inconclusive: {threshold.inconclusive}); "
        "more samples or repeats narrow the interval"
    )
    return outcome.model_copy(update={"passed": counted, "status": "inconclusive", "reason": reason})


def limit_outcome(name: str, limit: Limit, run: RunFigures) -> ThresholdOutcome:
    """One run-level limit; a value that cannot be known fails with the reason why."""
    value, unknown = _limit_value(name, run)
    outcome = ThresholdOutcome(
        name=limit.describe(name),
        kind="limit",
        target=name,
        max=limit.max,
        value=value,
        passed=False,
        status="failed",
    )
    if value is None:
        return outcome.model_copy(update={"reason": unknown})
    if value > limit.max + _TOLERANCE:
        reason = f"{name} {value:.4g} is above the limit {limit.max:g}"
        if name == "error_rate":
            reason += f" ({run.n_errors} of {run.n_results} calls failed)"
        return outcome.model_copy(update={"reason": reason})
    return outcome.model_copy(update={"passed": True, "status": "passed"})


def _limit_value(name: str, run: RunFigures) -> tuple[float | None, str]:
    """The measured value of limit ``name``, or None and why it is unknown."""
    if name == "error_rate":
        return (run.error_rate, "") if run.n_results else (None, "no results")
    if name == "cost_usd":
        if run.cost_usd is None:
            model = repr(run.model) if run.model else "(unknown)"
            return None, f"cost unknown: no pricing for model {model}; set runner.pricing"
        return run.cost_usd, ""
    if name == "latency_p95_ms":
        return (run.latency_p95_ms, "") if run.n_ok else (None, "no successful calls")
    return None, f"unknown limit {name!r}"


def check_gates(
    config: EvaluatorConfig, metrics: Mapping[str, MetricSummary], run: RunFigures
) -> list[ThresholdOutcome]:
    """Every threshold and limit of ``config``, in config order (metrics first)."""
    outcomes = [
        metric_outcome(m.key, m.threshold, metrics[m.key]) for m in config.metrics if m.threshold is not None
    ]
    outcomes += [limit_outcome(name, limit, run) for name, limit in config.limits.items()]
    return outcomes


def all_passed(outcomes: Iterable[ThresholdOutcome]) -> bool:
    """A run passes when every gate held (a run without gates passes when it completes)."""
    return all(o.passed for o in outcomes)
