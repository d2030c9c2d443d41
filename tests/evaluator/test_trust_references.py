"""Blank references and canonically equivalent text, for every reference-based metric.

A blank reference must never score as a pass (``contains`` finds ``" "`` in any output), and
``"Café"`` typed precomposed (NFC) or with a combining accent (NFD) is one answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so._internal.common.config import MetricConfig
from lm_eval_so._internal.common.errors import ArtifactError, ConfigError, DatasetError
from lm_eval_so._internal.common.records import DatasetSample, Message, RunResult
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.evaluator import evaluate_run, score_one
from lm_eval_so._internal.evaluator.metrics import Metric, MetricContext, MetricScore, build_metric

NFC = "Caf\u00e9 Lune"
NFD = "Cafe\u0301 Lune"


def metric(type_: str, **options: Any) -> Metric:
    return build_metric(MetricConfig(type=type_, **options))


def score(m: Metric, output: str, expected: str | list[str] | None) -> MetricScore:
    return m.score(sample("s", expected=expected), RunResult(sample_id="s", output=output))


# Every built-in metric that compares the output with the reference (extras included).
REFERENCE_METRICS: list[tuple[str, dict[str, Any]]] = [
    ("exact_match", {}),
    ("contains", {}),
    ("contains_any", {}),
    ("contains_all", {}),
    ("regex", {}),
    ("f1", {}),
    ("numeric", {}),
    ("bleu", {}),
    ("chrf", {}),
    ("rouge", {}),
]


def needs_extra(type_: str) -> None:
    extra = {"bleu": "sacrebleu", "chrf": "sacrebleu", "rouge": "rouge_score"}.get(type_)
    if extra:
        pytest.importorskip(extra)


# --------------------------------------------------------------------------- blank references


@pytest.mark.parametrize(("type_", "options"), REFERENCE_METRICS)
@pytest.mark.parametrize(
    ("expected", "which"),
    [(" ", "expected is blank (' ')"), ("", "expected is blank ('')"), (["", "red"], "item 1 of 2")],
)
def test_no_metric_scores_a_blank_reference(
    type_: str, options: dict[str, Any], expected: str | list[str], which: str
) -> None:
    needs_extra(type_)
    with pytest.raises(DatasetError) as info:
        score(metric(type_, **options), "any output at all", expected)
    assert str(info.value).startswith(f"sample 's': {which}")
    assert f"{type_} would score a blank one against any output" in str(info.value)


def test_a_hand_written_dataset_with_a_blank_reference_fails_the_evaluation(tmp_path: Path) -> None:
    samples = [sample("ok", expected="blue"), sample("blank", expected="   ")]
    built = make_run(tmp_path, samples, [ok("ok", "blue"), ok("blank", "whatever the model says")])
    config = load("  metrics:\n    - type: contains\n      threshold: 0.5\n", tmp_path)
    # Caught where the hand-written file is read, with its file and line.
    with pytest.raises(ArtifactError, match=r"dataset\.jsonl:2: .*the reference is blank \('   '\)"):
        evaluate_run(config, built.run, built.dataset)
    assert not built.run.summary.exists()  # nothing was reported as a pass


class EchoPlugin(Metric):
    """A plugin metric written without any care for blank references."""

    name: ClassVar[str] = "echo_plugin"
    calls: ClassVar[list[str]] = []

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        EchoPlugin.calls.append(result.output or "")
        passed = all(e in (result.output or "") for e in sample.expected_list())
        return MetricScore(float(passed), passed)


def unchecked(sample_id: str, expected: Any) -> DatasetSample:
    """A sample built in code without validation: how a blank reference can still reach a metric."""
    return DatasetSample.model_construct(
        id=sample_id, input="q", expected=expected, messages=[Message(role="user", content="q")], metadata={}
    )


def test_a_plugin_metric_is_protected_too(tmp_path: Path) -> None:
    # A dataset file with a blank reference is refused where it is read (file and line) ...
    built = make_run(tmp_path, [sample("x", expected=["", "red"])], [ok("x", "green")])
    with pytest.raises(ArtifactError, match=r"dataset\.jsonl:1: .*answer 1 of 2 is blank"):
        evaluate_run(load("  metrics:\n    - type: exact_match\n", tmp_path), built.run, built.dataset)
    # ... and one that reaches a plugin metric another way is refused by the metric contract.
    with pytest.raises(DatasetError, match=r"sample 'x': item 1 of 2 of expected is blank"):
        score_one("echo_plugin", EchoPlugin(), unchecked("x", ["", "red"]), ok("x", "green"))
    assert EchoPlugin.calls == []  # refused before the plugin's score() ran


@pytest.mark.parametrize(
    ("type_", "options", "reference"),
    [
        ("exact_match", {"normalize": ["punctuation", "strip"]}, "?"),
        ("contains", {"normalize": ["punctuation"]}, "..."),
        ("contains_any", {"normalize": ["punctuation"]}, "!"),
        ("f1", {}, "-"),
    ],
)
def test_a_reference_that_normalises_to_nothing_is_refused(
    type_: str, options: dict[str, Any], reference: str
) -> None:
    with pytest.raises(DatasetError, match="is empty after normalisation"):
        score(metric(type_, **options), "anything", reference)


@pytest.mark.parametrize(
    ("metric_yaml", "problem"),
    [
        ("type: contains_any\n      values: ['refund', ' ']",
         "pipeline.yaml:10: evaluator.metrics[0].values: values[1] (' ') is blank once normalised"),
        ("type: contains_all\n      normalize: [punctuation]\n      values: ['?']",
         "pipeline.yaml:11: evaluator.metrics[0].values: values[0] ('?') is blank once normalised"),
        ("type: regex\n      pattern: ''",
         "pipeline.yaml:10: evaluator.metrics[0].pattern: the empty pattern matches every output"),
    ],
)  # fmt: skip
def test_blank_needles_in_options_fail_at_load_with_the_line(
    tmp_path: Path, metric_yaml: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(f"  metrics:\n    - {metric_yaml}\n", tmp_path)
    assert str(info.value).startswith(problem)


def test_python_metric_taking_expected_never_gets_a_blank_one(tmp_path: Path) -> None:
    (tmp_path / "blank_refs_scorer.py").write_text(
        "def uses(output, expected):\n    return expected in output\n\n"
        "def ignores(output):\n    return len(output) < 100\n",
        encoding="utf-8",
    )
    uses = build_metric(
        MetricConfig.model_validate({"type": "python", "function": "blank_refs_scorer:uses"}),
        MetricContext(base_dir=tmp_path),
    )
    with pytest.raises(DatasetError, match="sample 'x': expected is blank"):
        score_one("python", uses, unchecked("x", " "), ok("x", "any"))
    ignores = build_metric(
        MetricConfig.model_validate({"type": "python", "function": "blank_refs_scorer:ignores"}),
        MetricContext(base_dir=tmp_path),
    )
    assert score_one("python", ignores, unchecked("x", " "), ok("x", "any")).score == 1.0


# --------------------------------------------------------------------------- canonical text


EVERY_STEP = ["strip", "lower", "punctuation", "whitespace", "numbers"]


@pytest.mark.parametrize("steps", [[], ["strip"], EVERY_STEP, [*EVERY_STEP, "nfkc"]])
@pytest.mark.parametrize("type_", ["exact_match", "contains", "contains_any", "contains_all"])
@pytest.mark.parametrize(("output", "expected"), [(NFD, NFC), (NFC, NFD)])
def test_canonically_equivalent_strings_match_with_any_normalisation(
    type_: str, steps: list[str], output: str, expected: str
) -> None:
    got = score(metric(type_, normalize=steps), output, expected)
    assert (got.score, got.passed) == (1.0, True)


def test_regex_compares_canonical_forms_from_expected_and_from_options() -> None:
    assert score(metric("regex"), f"Meet at {NFD}.", NFC).passed is True
    assert score(metric("regex", pattern="Caf\u00e9|Bistro"), f"Meet at {NFD}.", None).passed is True
    assert score(metric("regex", pattern="Cafe\u0301", fullmatch=True), "Caf\u00e9", None).passed is True


@pytest.mark.parametrize("type_", ["f1", "bleu", "chrf", "rouge"])
def test_overlap_metrics_see_equal_text_as_equal(type_: str) -> None:
    needs_extra(type_)
    text = f"The {NFC} opens at nine every morning"
    got = score(metric(type_), text.replace(NFC, NFD), text)
    assert got.score == pytest.approx(1.0)


def test_json_schema_enum_matches_canonically_equivalent_text() -> None:
    pytest.importorskip("jsonschema")
    schema = {"type": "object", "properties": {"place": {"enum": [NFC]}}, "required": ["place"]}
    m = metric("json_schema", schema=schema)
    assert score(m, json.dumps({"place": NFD}, ensure_ascii=False), None).passed is True
    decomposed_keys = metric("json_schema", schema={"required": ["Cafe\u0301"]})
    assert score(decomposed_keys, json.dumps({"Caf\u00e9": 1}, ensure_ascii=False), None).passed is True


class Recorder(Metric):
    name: ClassVar[str] = "recorder"
    seen: ClassVar[list[tuple[str, Any, str | None]]] = []

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        Recorder.seen.append((sample.input, sample.expected, result.output))
        return MetricScore(1.0, True)


def test_a_plugin_metric_receives_nfc_text(tmp_path: Path) -> None:
    registry.register("metrics", "recorder", Recorder)
    try:
        built = make_run(
            tmp_path, [sample("x", input=f"Where is {NFD}?", expected=[NFD, "x"])], [ok("x", NFD)]
        )
        evaluate_run(load("  metrics:\n    - type: recorder\n", tmp_path), built.run, built.dataset)
    finally:
        registry.unregister("metrics", "recorder")
    assert Recorder.seen == [(f"Where is {NFC}?", [NFC, "x"], NFC)]


def test_compatibility_forms_fold_only_when_asked() -> None:
    wide = "\uff14\uff12 \ufb01sh"  # full-width "42" and the "fi" ligature
    assert score(metric("exact_match"), wide, "42 fish").passed is False
    assert score(metric("exact_match", normalize=["nfkc"]), wide, "42 fish").passed is True


def test_a_whole_run_scores_nfd_output_against_nfc_reference(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("x", expected=NFC)], [ok("x", f"  {NFD} ")])
    config = load(
        "  metrics:\n    - type: exact_match\n      normalize: [strip, lower, punctuation]\n"
        "    - type: contains\n",
        tmp_path,
    )
    summary = evaluate_run(config, built.run, built.dataset)
    assert (summary.metrics["exact_match"].mean, summary.metrics["contains"].mean) == (1.0, 1.0)
