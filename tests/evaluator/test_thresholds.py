"""Thresholds and limits: names, exact boundaries, and values that cannot be known."""

from __future__ import annotations

from pathlib import Path

from evalkit import load

from lm_eval_so._internal.common.config import Limit, Threshold
from lm_eval_so._internal.common.records import MetricSummary
from lm_eval_so._internal.evaluator.thresholds import (
    RunFigures,
    all_passed,
    check_gates,
    limit_outcome,
    metric_outcome,
)


def stats(mean: float, n: int = 10) -> MetricSummary:
    return MetricSummary(
        name="exact_match", type="exact_match", mean=mean, ci_low=0.0, ci_high=1.0,
        n=n, std=0.0, ci_method="wilson",
    )  # fmt: skip


def figures(**changes: object) -> RunFigures:
    base: dict[str, object] = {
        "n_results": 10, "n_errors": 0, "error_rate": 0.0, "cost_usd": 0.5,
        "latency_p95_ms": 1200.0, "model": "gpt-x",
    }  # fmt: skip
    base.update(changes)
    return RunFigures(**base)  # type: ignore[arg-type]


def test_mean_equal_to_min_passes() -> None:
    outcome = metric_outcome("exact_match", Threshold(min=0.8), stats(8 / 10))
    assert outcome.passed and outcome.name == "exact_match>=0.8"
    assert (outcome.kind, outcome.target, outcome.min, outcome.value) == (
        "metric", "exact_match", 0.8, 0.8,
    )  # fmt: skip


def test_mean_from_a_sum_that_lands_an_ulp_off_still_passes() -> None:
    # 0.1 + 0.2 + ... style sums can drift by one ulp; the boundary must still hold.
    assert metric_outcome("m", Threshold(min=0.3), stats(0.1 + 0.2 - 1e-16 * 3)).passed


def test_mean_below_min_fails_with_a_reason() -> None:
    outcome = metric_outcome("exact_match", Threshold(min=0.8), stats(0.7))
    assert not outcome.passed
    assert outcome.reason is not None
    assert "below the minimum 0.8" in outcome.reason and "n=10" in outcome.reason


def test_max_threshold_and_both_bounds() -> None:
    assert metric_outcome("m", Threshold(max=0.2), stats(0.2)).passed
    outcome = metric_outcome("m", Threshold(max=0.2), stats(0.25))
    assert not outcome.passed and "above the maximum" in (outcome.reason or "")
    both = metric_outcome("m", Threshold(min=0.1, max=0.9), stats(0.5))
    assert both.passed and both.name == "m>=0.1,m<=0.9"


def test_a_metric_without_scores_fails() -> None:
    outcome = metric_outcome("m", Threshold(min=0.0), stats(0.0, n=0))
    assert not outcome.passed and outcome.reason == "no scores" and outcome.value is None


def test_error_rate_limit_at_zero() -> None:
    assert limit_outcome("error_rate", Limit(max=0), figures()).passed
    outcome = limit_outcome("error_rate", Limit(max=0), figures(n_errors=1, error_rate=0.1))
    assert outcome.name == "error_rate<=0" and not outcome.passed
    assert "1 of 10 calls failed" in (outcome.reason or "")


def test_cost_limit() -> None:
    assert limit_outcome("cost_usd", Limit(max=0.5), figures()).passed
    assert not limit_outcome("cost_usd", Limit(max=0.4), figures()).passed


def test_unknown_cost_fails_the_cost_limit() -> None:
    outcome = limit_outcome("cost_usd", Limit(max=2), figures(cost_usd=None))
    assert outcome.name == "cost_usd<=2" and not outcome.passed and outcome.value is None
    assert outcome.reason is not None
    assert outcome.reason.startswith("cost unknown: no pricing for model 'gpt-x'")


def test_latency_limit_needs_successful_calls() -> None:
    assert limit_outcome("latency_p95_ms", Limit(max=1200), figures()).passed
    outcome = limit_outcome("latency_p95_ms", Limit(max=3000), figures(n_errors=10, error_rate=1.0))
    assert not outcome.passed and outcome.reason == "no successful calls"


def test_check_gates_follows_the_config_and_names_match_pipeline_gates(tmp_path: Path) -> None:
    config = load(
        "  metrics:\n"
        "    - type: exact_match\n      threshold: 0.8\n"
        "    - type: contains\n"
        "  limits: {error_rate: 0, cost_usd: {max: 2.5}, latency_p95_ms: 3000}\n",
        tmp_path,
    )
    metrics = {"exact_match": stats(0.9), "contains": stats(0.1)}
    outcomes = check_gates(config.evaluator, metrics, figures())
    assert [o.name for o in outcomes] == [g.name for g in config.gates()]
    assert [o.name for o in outcomes] == [
        "exact_match>=0.8", "error_rate<=0", "cost_usd<=2.5", "latency_p95_ms<=3000",
    ]  # fmt: skip
    assert all_passed(outcomes)
    assert not all_passed([*outcomes, limit_outcome("cost_usd", Limit(max=0), figures())])
    assert all_passed([])


def test_the_first_failed_call_is_named_on_one_line() -> None:
    from lm_eval_so._internal.common.records import ErrorInfo, RunResult
    from lm_eval_so._internal.evaluator.tally import RunTally

    page = "Error code: 502 - <html>\n  <head><title>502 Bad Gateway</title></head>\n" + "x" * 400
    tally = RunTally.for_metrics([])
    tally.add(RunResult(sample_id="ok", output="fine"), [])
    failed = ErrorInfo(type="InternalServerError", message=page)
    tally.add(RunResult(sample_id="s7", repeat=2, error=failed), [])
    reason = figures(n_errors=1, error_rate=0.5, first_error=tally.first_error).failed_calls()
    assert reason.startswith("1 of 10 calls failed; the first: sample 's7' (repeat 2): InternalServerError: ")
    assert "\n" not in reason and "<html> <head><title>502" in reason and reason.endswith("…")
