"""Small n: no interval claims a certainty the data cannot give, and no confidence gate passes on one.

The cases the gate must not pass: n=1 pass/fail, n=1 continuous, five identical continuous
scores, and a pass/fail metric with all three samples passing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so._internal.common.config import Threshold
from lm_eval_so._internal.common.records import MetricSummary
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.stats import hoeffding_interval, summarize
from lm_eval_so._internal.evaluator.thresholds import MIN_CONFIDENCE_SAMPLES, metric_outcome

# Hoeffding's half-width for scores in 0..1 at 95%: sqrt(ln(2 / 0.05) / (2n)).
HALF_5 = math.sqrt(math.log(40) / 10)  # 0.6074


# --------------------------------------------------------------------------- intervals


def test_one_continuous_score_gets_the_whole_range_not_a_point() -> None:
    stats = summarize([0.9], binary=False)
    assert (stats.ci_method, stats.ci_low, stats.ci_high) == ("hoeffding", 0.0, 1.0)


def test_identical_continuous_scores_get_hoeffdings_width() -> None:
    stats = summarize([0.8] * 5, binary=False)
    assert stats.ci_method == "hoeffding"
    assert stats.ci_low == pytest.approx(0.8 - HALF_5) and stats.ci_high == 1.0


def test_hoeffding_narrows_with_n_and_respects_other_ranges() -> None:
    low, high = hoeffding_interval([1.0] * 400, (0.0, 1.0))
    assert (low, high) == (pytest.approx(1 - math.sqrt(math.log(40) / 800)), 1.0)
    half = 2 * math.sqrt(math.log(40) / 80)  # scores in -1..1: twice the width
    assert hoeffding_interval([0.0] * 40, (-1.0, 1.0)) == (pytest.approx(-half), pytest.approx(half))
    assert hoeffding_interval([0.0] * 2, (-1.0, 1.0)) == (-1.0, 1.0)  # clamped to the range


def test_unbounded_scores_without_spread_have_no_interval() -> None:
    stats = summarize([3.0, 3.0], binary=False, bounds=None)
    assert (stats.ci_method, stats.ci_low, stats.ci_high) == ("none", 3.0, 3.0)


def test_scores_with_spread_keep_the_bootstrap() -> None:
    assert summarize([0.2, 0.4, 0.9], binary=False).ci_method == "bootstrap"


def test_one_pass_fail_score_keeps_wilsons_wide_interval() -> None:
    stats = summarize([1.0], binary=True)
    assert stats.ci_method == "wilson" and stats.ci_low == pytest.approx(0.2065, abs=5e-5)


# --------------------------------------------------------------------------- gates, end to end


def gate_status(tmp_path: Path, metric: str, outputs: list[str], threshold: str) -> tuple[str, bool, str]:
    samples = [sample(f"s{i}", expected="the blue whale") for i in range(len(outputs))]
    results = [ok(f"s{i}", out) for i, out in enumerate(outputs)]
    built = make_run(tmp_path, samples, results)
    config = load(f"  metrics:\n    - type: {metric}\n      threshold: {threshold}\n", tmp_path)
    summary = evaluate_run(config, built.run, built.dataset)
    outcome = summary.thresholds[0]
    return outcome.status, summary.passed, outcome.reason or ""


@pytest.mark.parametrize(
    ("metric", "outputs", "bound"),
    [
        ("exact_match", ["the blue whale"], 0.2),  # n=1 pass/fail: Wilson's low end is 0.21
        ("f1", ["the blue whale"], 0.5),  # n=1 continuous: was [1.000, 1.000]
        ("f1", ["the blue whale"] * 5, 0.9),  # five identical continuous scores: was a point
        ("exact_match", ["the blue whale"] * 3, 0.4),  # 3 of 3: Wilson's low end is 0.44
    ],
)
def test_a_confidence_gate_never_passes_on_too_few_samples(
    tmp_path: Path, metric: str, outputs: list[str], bound: float
) -> None:
    status, passed, reason = gate_status(tmp_path, metric, outputs, f"{{min: {bound}, gate: confidence}}")
    assert (status, passed) == ("inconclusive", False)
    n = len(outputs)
    assert f"{n} sample{'s are' if n > 1 else ' is'} fewer than the 10 a confidence gate needs" in reason
    assert "counted as failed" in reason and "add samples to decide" in reason


def test_counting_inconclusive_as_passed_still_says_inconclusive(tmp_path: Path) -> None:
    threshold = "{min: 0.5, gate: confidence, inconclusive: pass}"
    status, passed, reason = gate_status(tmp_path, "f1", ["the blue whale"], threshold)
    assert (status, passed) == ("inconclusive", True) and "counted as passed" in reason


def test_enough_identical_scores_can_pass_on_an_honest_interval(tmp_path: Path) -> None:
    # 12 scores of 1.0: Hoeffding gives [0.61, 1]; a minimum of 0.5 is cleared, 0.8 is not.
    outputs = ["the blue whale"] * 12
    assert gate_status(tmp_path / "a", "f1", outputs, "{min: 0.5, gate: confidence}")[:2] == ("passed", True)
    assert gate_status(tmp_path / "b", "f1", outputs, "{min: 0.8, gate: confidence}")[0] == "inconclusive"


def test_the_point_gate_is_unchanged_at_small_n(tmp_path: Path) -> None:
    assert gate_status(tmp_path, "exact_match", ["the blue whale"], "0.8")[:2] == ("passed", True)


def summary_of(
    n: int, *, low: float, high: float, method: str = "bootstrap", repeats: int | None = None
) -> MetricSummary:
    return MetricSummary(
        name="m", type="f1", mean=(low + high) / 2, ci_low=low, ci_high=high, n=n, std=0.0,
        ci_method=method, repeats=repeats,
    )  # fmt: skip


def test_repeats_of_one_sample_are_not_independent_samples() -> None:
    gate = Threshold(min=0.5, gate="confidence")
    one_sample = metric_outcome("m", gate, summary_of(10, low=0.7, high=1.0, repeats=10))
    assert one_sample.status == "inconclusive" and "1 sample is fewer" in (one_sample.reason or "")
    ten_samples = metric_outcome("m", gate, summary_of(30, low=0.7, high=1.0, repeats=3))
    assert ten_samples.status == "passed"


@pytest.mark.parametrize("method", ["none", "bootstrap"])
def test_an_interval_without_width_never_decides(method: str) -> None:
    # A summary written by an older version, or a plugin's: a point is not evidence.
    outcome = metric_outcome(
        "m", Threshold(min=0.5, gate="confidence"), summary_of(50, low=0.9, high=0.9, method=method)
    )
    assert outcome.status == "inconclusive" and "no width" in (outcome.reason or "")


def test_the_minimum_is_what_the_docs_say() -> None:
    assert MIN_CONFIDENCE_SAMPLES == 10
