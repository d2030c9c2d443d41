"""Statistics against textbook values."""

from __future__ import annotations

import math

import pytest

from lm_eval_so._internal.evaluator.bootstrap import MAX_BOOTSTRAP_N
from lm_eval_so._internal.evaluator.stats import (
    mean,
    normal_interval,
    percentile,
    percentiles,
    std,
    summarize,
    wilson_interval,
)


def test_mean_and_sample_std() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert mean(values) == 5.0
    # Population std is 2; the sample std divides by n - 1.
    assert std(values) == pytest.approx(math.sqrt(32 / 7))


def test_empty_and_single_inputs() -> None:
    assert (mean([]), std([]), std([3.0])) == (0.0, 0.0, 0.0)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    assert normal_interval([]) == (0.0, 0.0, False)
    assert percentile([], 95) == 0.0
    stats = summarize([], binary=True)
    assert (stats.n, stats.mean, stats.ci_low, stats.ci_high) == (0, 0.0, 0.0, 0.0)


def test_wilson_8_of_10() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=5e-5)
    assert high == pytest.approx(0.9433, abs=5e-5)


def test_wilson_at_the_edges_stays_inside_0_1() -> None:
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(0.7225, abs=5e-5)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=5e-5)


def test_normal_interval() -> None:
    values = [0.2, 0.4, 0.6, 0.8]
    low, high, clamped = normal_interval(values, bounds=(0.0, 1.0))
    half = 1.959963984540054 * std(values) / 2
    assert low == pytest.approx(0.5 - half) and high == pytest.approx(0.5 + half)
    assert not clamped


def test_normal_interval_is_clamped_only_for_bounded_scores_and_says_so() -> None:
    values = [1.0] * 9 + [0.1]
    low, high, clamped = normal_interval(values, bounds=(0.0, 1.0))
    assert high == 1.0 and clamped
    raw_low, raw_high, raw_clamped = normal_interval(values)
    assert raw_high > 1.0 and not raw_clamped and raw_low == low
    # Small samples get a bootstrap, which never leaves the data's range, so needs no clamp.
    small = summarize(values, binary=False)
    assert small.ci_method == "bootstrap" and small.ci_high <= 1.0
    # Beyond MAX_BOOTSTRAP_N the normal interval is used, clamped to the bounds.
    big = values * (MAX_BOOTSTRAP_N // len(values) + 1)
    assert summarize(big, binary=False).ci_method == "normal"
    skewed = [1.0] * (MAX_BOOTSTRAP_N + 1) + [0.0]
    assert summarize(skewed, binary=False).ci_method == "normal-clamped"
    assert summarize(skewed, binary=False, bounds=None).ci_method == "normal"


def test_summarize_uses_wilson_for_binary_metrics() -> None:
    stats = summarize([1.0] * 8 + [0.0] * 2, binary=True)
    assert stats.ci_method == "wilson"
    assert (stats.n, stats.mean) == (10, 0.8)
    assert stats.ci_low == pytest.approx(0.4902, abs=5e-5)
    assert stats.ci_high == pytest.approx(0.9433, abs=5e-5)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        # numpy.percentile(values, q) with the default "linear" method.
        ([15, 20, 35, 40, 50], 95, 48.0),
        ([15, 20, 35, 40, 50], 50, 35.0),
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 25, 1.75),
        ([10, 1, 7, 3], 90, 9.1),  # unsorted input
        ([5], 95, 5.0),
        ([1, 2], 0, 1.0),
        ([1, 2], 100, 2.0),
    ],
)
def test_percentile_matches_numpy_linear(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentiles_sort_once_for_several() -> None:
    assert percentiles([4, 1, 3, 2], [0, 50, 100]) == [1.0, 2.5, 4.0]
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)
