"""Bootstrap, pass@k, per-sample variance and McNemar against textbook values."""

from __future__ import annotations

import math
import random

import pytest

from lm_eval_so._internal.evaluator.bootstrap import bootstrap_mean_interval, paired_bootstrap_interval
from lm_eval_so._internal.evaluator.passk import (
    ks_for,
    mean_pass_at_k,
    mean_within_sample_variance,
    pass_at_k,
)
from lm_eval_so._internal.evaluator.significance import mcnemar_exact
from lm_eval_so._internal.evaluator.stats import summarize


def test_bootstrap_is_reproducible_with_a_seed_and_varies_without() -> None:
    rng = random.Random(1)
    values = [rng.random() for _ in range(200)]
    first = bootstrap_mean_interval(values, seed=7)
    assert bootstrap_mean_interval(values, seed=7) == first
    assert bootstrap_mean_interval(values, seed=8) != first
    low, high = first
    assert low < sum(values) / len(values) < high


def test_bootstrap_interval_is_close_to_the_normal_one_for_a_symmetric_sample() -> None:
    rng = random.Random(3)
    values = [rng.gauss(0.5, 0.1) for _ in range(2000)]
    low, high = bootstrap_mean_interval(values, seed=0)
    centre = sum(values) / len(values)
    sd = math.sqrt(sum((v - centre) ** 2 for v in values) / (len(values) - 1))
    half = 1.959964 * sd / math.sqrt(len(values))
    assert low == pytest.approx(centre - half, abs=half * 0.15)
    assert high == pytest.approx(centre + half, abs=half * 0.15)


def test_bootstrap_of_constant_scores_is_a_point() -> None:
    assert bootstrap_mean_interval([0.7] * 50) == pytest.approx((0.7, 0.7))
    assert bootstrap_mean_interval([]) == (0.0, 0.0)


def test_paired_bootstrap_sees_a_consistent_small_shift() -> None:
    rng = random.Random(5)
    a = [rng.random() for _ in range(300)]
    b = [x + 0.02 for x in a]  # every sample 0.02 better: a paired test is sure of it
    low, high = paired_bootstrap_interval(a, b)
    assert low == pytest.approx(0.02) and high == pytest.approx(0.02)
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_interval([1.0], [1.0, 2.0])


def test_summarize_continuous_uses_the_seeded_bootstrap() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.9, 0.55]
    one, two = summarize(values, binary=False, seed=3), summarize(values, binary=False, seed=3)
    assert one == two and one.ci_method == "bootstrap"
    assert 0.1 <= one.ci_low < one.mean < one.ci_high <= 0.9


# --------------------------------------------------------------------------- pass@k


def test_pass_at_k_against_the_formula() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(2 / 5)  # pass@1 is the pass rate
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))  # 0.7
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 6, 5) == 1.0  # fewer than k failures: some pass is certain
    # Large n stays exact (no overflowing binomials).
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_mean_pass_at_k_and_ks() -> None:
    assert ks_for(1) == [1] and ks_for(5) == [1, 2, 5] and ks_for(7) == [1, 2, 5, 7]
    got = mean_pass_at_k([(5, 2), (5, 5)], ks_for(5))
    assert got == pytest.approx({"1": (0.4 + 1.0) / 2, "2": (0.7 + 1.0) / 2, "5": 1.0})


def test_within_sample_variance() -> None:
    # Sample variances 0.5 ([0, 1]) and 0 ([1, 1]); single attempts are left out.
    groups = {"a": [0.0, 1.0], "b": [1.0, 1.0], "c": [0.3]}
    assert mean_within_sample_variance(groups) == pytest.approx(0.25)
    assert mean_within_sample_variance({"a": [1.0]}) == 0.0


# --------------------------------------------------------------------------- McNemar


def test_mcnemar_exact_textbook_tables() -> None:
    # b=2, c=8: 2 * P(X <= 2), X ~ Bin(10, 1/2) = 2 * 56/1024.
    assert mcnemar_exact(2, 8) == pytest.approx(112 / 1024)
    assert mcnemar_exact(8, 2) == mcnemar_exact(2, 8)  # symmetric
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # 0.03125: significant at 5%
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 0.0625: not
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    # Agrees with scipy's binomial test where scipy exists.
    stats = pytest.importorskip("scipy.stats")
    assert mcnemar_exact(3, 15) == pytest.approx(stats.binomtest(3, 18, 0.5).pvalue)
