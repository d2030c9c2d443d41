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

#: Fewest samples on which a confidence gate decides; below it the gate is inconclusive.
#: The 95% intervals are approximations whose coverage falls short of 95% at small n: the
#: Wilson interval at 3 of 3 passes reaches down to 0.44 where the exact (Clopper-Pearson)
#: bound is 0.29, and a bootstrap of a handful of scores sees only the spread it happened to
#: draw (Brown, Cai & DasGupta, "Interval estimation for a binomial proportion", Statistical
#: Science 16, 2001; Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13).
#: From 10 samples the Wilson lower bound at all passes (0.72) is within 0.03 of the exact one.
MIN_CONFIDENCE_SAMPLES = 10


@dataclass(frozen=True)
class RunFigures:
    """The run-level numbers the limits look at."""

    n_results: int
    n_errors: int
    error_rate: float
    cost_usd: float | None
    latency_p95_ms: float
    model: str | None = None
    n_usage_unknown: int = 0  # results whose server reported no token usage
    first_error: str | None = None  # the first failed call: its sample and cause

    def failed_calls(self) -> str:
        """``"2 of 5 calls failed; the first: sample 's3' (repeat 0): Type: message"``."""
        first = f"; the first: {self.first_error}" if self.first_error else ""
        return f"{self.n_errors} of {self.n_results} calls failed{first}"

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
    So is an interval that cannot express doubt: fewer than :data:`MIN_CONFIDENCE_SAMPLES`
    samples, or no width at all (see :func:`unable_to_decide`).
    """
    low, high = stats.ci_low, stats.ci_high
    interval = f"95% CI [{low:.4g}, {high:.4g}] ({stats.ci_method}), mean {stats.mean:.4g}, n={stats.n}"
    cannot = unable_to_decide(stats)
    # (side, bound, the interval clears it, the interval lies entirely beyond it)
    bounds = []
    if (lo := threshold.min) is not None:
        bounds.append(("min", lo, low >= lo - _TOLERANCE, high < lo - _TOLERANCE))
    if (hi := threshold.max) is not None:
        bounds.append(("max", hi, high <= hi + _TOLERANCE, low > hi + _TOLERANCE))
    straddled = next(
        ((side, bound) for side, bound, clears, beyond in bounds if not (clears or beyond)), None
    )
    if cannot is not None:  # whatever the interval says, it cannot decide
        why = f"{cannot} ({interval})"
        if straddled is not None:
            why = f"the interval straddles the {straddled[0]}imum {straddled[1]:g} ({interval}), and {cannot}"
        return _inconclusive(outcome, threshold, why, "add samples to decide")
    for side, bound, _, beyond in bounds:
        if beyond:
            where = "below the minimum" if side == "min" else "above the maximum"
            reason = f"the whole interval is {where} {bound:g}: {interval}"
            return outcome.model_copy(update={"reason": reason})
    if straddled is None:
        return outcome.model_copy(update={"passed": True, "status": "passed", "reason": None})
    why = f"the interval straddles the {straddled[0]}imum {straddled[1]:g} ({interval})"
    return _inconclusive(outcome, threshold, why, "more samples or repeats narrow the interval")


def unable_to_decide(stats: MetricSummary) -> str | None:
    """Why ``stats``' interval cannot decide a confidence gate, or None when it can.

    Samples, not scores, are counted: repeats of one sample are not independent draws.
    """
    samples = -(-stats.n // (stats.repeats or 1))
    if samples < MIN_CONFIDENCE_SAMPLES:
        plural = "s are" if samples != 1 else " is"
        return f"{samples} sample{plural} fewer than the {MIN_CONFIDENCE_SAMPLES} a confidence gate needs"
    if stats.ci_method == "none" or stats.ci_high - stats.ci_low <= 0:
        return "the interval has no width, so it cannot express doubt"
    return None


def _inconclusive(outcome: ThresholdOutcome, threshold: Threshold, why: str, advice: str) -> ThresholdOutcome:
    counted = threshold.inconclusive == "pass"
    reason = (
        f"inconclusive: {why}; counted as {'passed' if counted else 'failed'} "
        f"(inconclusive: {threshold.inconclusive}); {advice}"
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
            reason += f" ({run.failed_calls()})"
        return outcome.model_copy(update={"reason": reason})
    return outcome.model_copy(update={"passed": True, "status": "passed"})


def _limit_value(name: str, run: RunFigures) -> tuple[float | None, str]:
    """The measured value of limit ``name``, or None and why it is unknown."""
    if name == "error_rate":
        return (run.error_rate, "") if run.n_results else (None, "no results")
    if name == "cost_usd":
        if run.cost_usd is None:
            model = repr(run.model) if run.model else "(unknown)"
            if run.n_usage_unknown:
                return None, (
                    f"cost unknown: {run.n_usage_unknown} of {run.n_results} results reported "
                    "no token usage, so what they cost cannot be known"
                )
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
