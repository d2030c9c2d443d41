"""The built-in metrics on known values, and their options checked when the pipeline loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from evalkit import load, ok, sample

from lm_eval_so._internal.common.config import MetricConfig
from lm_eval_so._internal.common.errors import ConfigError, DatasetError, PluginError
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.evaluator import Metric, MetricScore, build_metric
from lm_eval_so._internal.evaluator.metrics.builtin import Contains, ExactMatch, Regex
from lm_eval_so._internal.evaluator.metrics.normalize import (
    canonical_numbers,
    normalizer,
    remove_punctuation,
)


def config(metric_type: str, **options: Any) -> MetricConfig:
    return MetricConfig.model_validate({"type": metric_type, **options})


def score(metric_type: str, output: str, expected: Any = "a", **options: Any) -> MetricScore:
    metric = build_metric(config(metric_type, **options))
    return metric.score(sample("s1", expected=expected), ok("s1", output))


# --------------------------------------------------------------------------- normalisers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,000.50", "1000.5"),
        ("3.0", "3"),
        ("+7", "7"),
        ("-0.00", "0"),
        ("100", "100"),  # no exponent form
        (".5", "0.5"),
        ("total: $1,234,567.000", "total: $1234567"),
        ("The answer is 3.0.", "The answer is 3."),  # the sentence's full stop survives
        ("1,2", "1,2"),  # a list, not a thousands separator
        ("1.2.3", "1.2.3"),  # a version string is left alone
        ("abc12", "abc12"),
    ],
)
def test_numbers_are_canonical(text: str, expected: str) -> None:
    assert canonical_numbers(text) == expected


def test_punctuation_is_unicode_but_keeps_decimal_points() -> None:
    assert remove_punctuation("«Paris»… ¿qué? ¡sí!") == "Paris qué sí"
    assert remove_punctuation("3.5, not 35.") == "3.5 not 35"


def test_steps_run_in_a_fixed_order_whatever_the_list_says() -> None:
    forward = normalizer(["numbers", "punctuation", "lower", "whitespace", "strip"])
    backward = normalizer(["strip", "whitespace", "lower", "punctuation", "numbers"])
    text = "  The\tANSWER:  1,000.50! "
    assert forward(text) == backward(text) == "the answer 1000.5"


def test_lower_casefolds() -> None:
    assert normalizer(["lower"])("STRASSE") == normalizer(["lower"])("Straße")


# --------------------------------------------------------------------------- exact_match


def test_exact_match_strips_by_default_only() -> None:
    assert score("exact_match", "  Paris\n", "Paris").passed is True
    assert score("exact_match", "paris", "Paris").passed is False


def test_exact_match_scores_and_details() -> None:
    result = score("exact_match", "Paris!", "paris", normalize=["lower", "punctuation"])
    assert (result.score, result.passed) == (1.0, True)
    assert result.detail == {"output": "paris", "expected": "paris"}
    miss = score("exact_match", "Lyon", "Paris")
    assert (miss.score, miss.passed) == (0.0, False)


def test_exact_match_numbers_and_whitespace() -> None:
    assert score("exact_match", "1000.5", "1,000.50", normalize=["numbers"]).passed
    assert not score("exact_match", "1000.5", "1,000.50").passed
    assert score("exact_match", "New   York\n City", "New York City", normalize=["whitespace"]).passed


def test_exact_match_any_of_a_list_passes() -> None:
    assert score("exact_match", "NYC", ["New York", "NYC"]).passed
    assert not score("exact_match", "LA", ["New York", "NYC"]).passed


def test_a_single_normalize_string_is_accepted() -> None:
    assert score("exact_match", "PARIS", "paris", normalize="lower").passed


# --------------------------------------------------------------------------- contains


def test_contains_ignores_case_by_default() -> None:
    result = score("contains", "The capital is PARIS.", "Paris")
    assert result.passed and result.detail["found"] == "paris"
    assert not score("contains", "The capital is PARIS.", "Paris", case_sensitive=True).passed


def test_contains_any_of_a_list_and_normalize() -> None:
    assert score("contains", "it costs 1000 dollars", ["1,000", "one thousand"], normalize=["numbers"]).passed
    assert not score("contains", "it costs 1000 dollars", ["1,000", "one thousand"]).passed


# --------------------------------------------------------------------------- regex


def test_regex_uses_expected_as_the_pattern() -> None:
    assert score("regex", "answer: 42", r"\d+").passed
    assert not score("regex", "answer: none", r"\d+").passed


def test_regex_with_a_pattern_needs_no_expected() -> None:
    metric = build_metric(config("regex", pattern=r"^\d{4}-\d{2}-\d{2}$"))
    assert not metric.needs_expected
    assert build_metric(config("regex")).needs_expected
    result = metric.score(sample("s1", expected=None), ok("s1", "2024-01-31"))
    assert result.passed and result.detail["match"] == "2024-01-31"


def test_regex_flags_and_fullmatch() -> None:
    assert not score("regex", "YES", "yes").passed
    assert score("regex", "YES", "yes", flags=["ignorecase"]).passed
    assert score("regex", "a\nb", "^b$", flags=["multiline"]).passed
    assert score("regex", "a\nb", "a.b", flags="dotall").passed
    assert score("regex", "yes, sure", "yes").passed
    assert not score("regex", "yes, sure", "yes", fullmatch=True).passed
    assert score("regex", "yes", "yes|no", fullmatch=True).passed


def test_regex_any_expected_pattern_passes() -> None:
    assert score("regex", "maybe", ["yes", "may.e"]).passed


def test_an_invalid_expected_pattern_names_the_sample() -> None:
    with pytest.raises(DatasetError, match=r"sample 's1'.*not a valid regular expression"):
        score("regex", "x", "(")


# --------------------------------------------------------------------------- config checks


def test_invalid_regex_is_rejected_when_the_pipeline_loads(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load("  metrics:\n    - type: regex\n      pattern: '([a-z'\n", tmp_path)
    message = str(info.value)
    assert message.startswith("pipeline.yaml:10: evaluator.metrics[0].pattern: invalid regular")
    assert "Traceback" not in message


def test_unknown_metric_option_gets_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load("  metrics:\n    - type: exact_match\n      normalise: [lower]\n", tmp_path)
    assert str(info.value) == (
        "pipeline.yaml:10: evaluator.metrics[0].normalise: unknown key 'normalise' "
        "(did you mean 'normalize'?)"
    )


def test_unknown_normalizer_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load("  metrics:\n    - type: exact_match\n      normalize: [lowercase]\n", tmp_path)
    assert "evaluator.metrics[0].normalize[0]: must be one of" in str(info.value)


def test_valid_options_load(tmp_path: Path) -> None:
    config = load(
        "  metrics:\n"
        "    - type: contains\n      case_sensitive: true\n"
        "    - type: regex\n      pattern: '\\d+'\n      flags: [ignorecase]\n"
        "      fullmatch: true\n",
        tmp_path,
    )
    metrics = [build_metric(m) for m in config.evaluator.metrics]
    assert isinstance(metrics[0], Contains) and metrics[0].options.case_sensitive
    assert isinstance(metrics[1], Regex) and metrics[1].options.fullmatch


def test_build_metric_checks_options_given_in_code() -> None:
    with pytest.raises(ConfigError, match="exact_match: normalize"):
        build_metric(config("exact_match", normalize=["nope"]))


def test_build_metric_rejects_an_unknown_type() -> None:
    with pytest.raises(PluginError, match="unknown metric 'nope'"):
        build_metric(config("nope"))


def test_build_metric_finds_plugins_in_the_registry() -> None:
    class Length(Metric):
        name = "length"
        binary = False
        requires_expected = False
        score_range = None

        def score(self, sample: Any, result: Any) -> MetricScore:
            return MetricScore(float(len(result.output or "")))

    registry.register("metrics", "length", Length)
    try:
        metric = build_metric(config("length"))
        assert metric.score(sample("s"), ok("s", "abcd")).score == 4.0
    finally:
        registry.unregister("metrics", "length")


def test_builtins_are_registered_through_entry_points() -> None:
    assert registry.get("metrics", "exact_match") is ExactMatch
    assert registry.get("metrics", "contains") is Contains
    assert registry.get("metrics", "regex") is Regex
    assert registry.info("metrics", "exact_match").dist == "lm-eval-so"
