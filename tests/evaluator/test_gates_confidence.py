"""Confidence gates: pass, fail and inconclusive at the boundaries of the interval."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so._internal.common.config import Threshold
from lm_eval_so._internal.common.records import MetricSummary, ThresholdOutcome
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.thresholds import metric_outcome


def ci(low: float, high: float, mean: float | None = None) -> MetricSummary:
    centre = (low + high) / 2 if mean is None else mean
    return MetricSummary(
        name="m", type="f1", mean=centre, ci_low=low, ci_high=high, n=50, std=0.1, ci_method="bootstrap"
    )


def confidence(**bounds: float | str) -> Threshold:
    return Threshold.model_validate({"gate": "confidence", **bounds})


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [
        (0.80, 0.90, "passed"),  # the lower end touches the minimum: clears it
        (0.81, 0.90, "passed"),
        (0.79, 0.90, "inconclusive"),  # straddles
        (0.70, 0.7999, "failed"),  # entirely below
        (0.70, 0.80, "inconclusive"),  # the upper end touches: cannot rule out passing
    ],
)
def test_min_boundaries(low: float, high: float, status: str) -> None:
    outcome = metric_outcome("m", confidence(min=0.8), ci(low, high))
    assert outcome.status == status and outcome.gate == "confidence"
    assert outcome.passed is (status == "passed")


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [(0.1, 0.2, "passed"), (0.1, 0.3, "inconclusive"), (0.2001, 0.3, "failed"), (0.0, 0.2, "passed")],
)
def test_max_boundaries(low: float, high: float, status: str) -> None:
    assert metric_outcome("m", confidence(max=0.2), ci(low, high)).status == status


def test_inconclusive_is_counted_as_configured_and_says_so() -> None:
    fails = metric_outcome("m", confidence(min=0.8), ci(0.7, 0.9))
    passes = metric_outcome("m", confidence(min=0.8, inconclusive="pass"), ci(0.7, 0.9))
    assert (fails.status, fails.passed) == ("inconclusive", False)
    assert (passes.status, passes.passed) == ("inconclusive", True)
    assert fails.reason is not None and "straddles the minimum 0.8" in fails.reason
    assert "counted as failed" in fails.reason and "counted as passed" in (passes.reason or "")


def test_point_gate_ignores_the_interval() -> None:
    outcome = metric_outcome("m", Threshold(min=0.8), ci(0.5, 0.95, mean=0.8))
    assert (outcome.status, outcome.passed, outcome.gate) == ("passed", True, "point")
    below = metric_outcome("m", Threshold(min=0.8), ci(0.7, 0.99, mean=0.79))
    assert (below.status, below.passed) == ("failed", False)


def test_both_bounds_fail_on_either_side_first() -> None:
    outcome = metric_outcome("m", confidence(min=0.2, max=0.4), ci(0.45, 0.6))
    assert outcome.status == "failed" and "above the maximum 0.4" in (outcome.reason or "")


def test_old_summaries_without_status_read_it_from_passed() -> None:
    old = {"name": "x>=1", "kind": "metric", "target": "x", "value": 1.0, "passed": True}
    assert ThresholdOutcome.model_validate(old).status == "passed"
    assert ThresholdOutcome.model_validate({**old, "passed": False}).status == "failed"


def test_confidence_gate_in_a_pipeline(tmp_path: Path) -> None:
    # 8 of 10: Wilson 0.49-0.94. A minimum of 0.5 is inconclusive at n=10, 0.4 passes.
    samples = [sample(f"s{i}") for i in range(10)]
    results = [ok(f"s{i}", "a" if i < 8 else "b") for i in range(10)]
    built = make_run(tmp_path, samples, results)
    config = load(
        "  metrics:\n"
        "    - type: exact_match\n      threshold: {min: 0.5, gate: confidence}\n"
        "    - type: contains\n      threshold: {min: 0.4, gate: confidence}\n"
        "  report: {formats: [html, markdown]}\n",
        tmp_path,
    )
    summary = evaluate_run(config, built.run, built.dataset)
    statuses = {o.target: o.status for o in summary.thresholds}
    assert statuses == {"exact_match": "inconclusive", "contains": "passed"}
    assert not summary.passed  # inconclusive counts as failed by default
    html = (built.run.path / "report.html").read_text(encoding="utf-8")
    assert "INCONCLUSIVE (counted as failed)" in html
    md = (built.run.path / "report.md").read_text(encoding="utf-8")
    assert "⚠️ inconclusive" in md


def test_gate_and_inconclusive_keys_are_validated(tmp_path: Path) -> None:
    from lm_eval_so._internal.common.errors import LmEvalError

    with pytest.raises(LmEvalError, match="gate"):
        load("  metrics:\n    - type: exact_match\n      threshold: {min: 0.5, gate: interval}\n", tmp_path)
