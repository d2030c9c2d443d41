"""evaluate_run on real run directories: scores, summary, manifest, and the failure modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.common.errors import ArtifactError, ConfigError, PluginError
from lm_eval_so._internal.common.records import RunManifest, RunResult, ScoreRecord, Summary, Usage
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.common.workspace import RunDir, iter_jsonl, read_model
from lm_eval_so._internal.evaluator import Metric, MetricScore, evaluate_run

EXACT = "  metrics:\n    - type: exact_match\n"


def scores_of(path: Path) -> list[ScoreRecord]:
    return list(iter_jsonl(path, ScoreRecord))


def leftovers(run_path: Path) -> list[str]:
    return sorted(p.name for p in run_path.iterdir() if p.name.endswith(".tmp"))


def test_failed_calls_count_against_every_metric(tmp_path: Path) -> None:
    samples = [sample(f"s{i}", expected="yes") for i in range(10)]
    results = [ok("s0", "yes")] + [failed(f"s{i}") for i in range(1, 10)]
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: exact_match\n    - type: contains\n", tmp_path)

    summary = evaluate_run(config, built.run, built.dataset)

    for name in ("exact_match", "contains"):
        assert summary.metrics[name].mean == pytest.approx(0.1)
        assert summary.metrics[name].n == 10
    assert (summary.n_errors, summary.error_rate) == (9, 0.9)
    error_score = next(s for s in scores_of(built.run.scores) if s.sample_id == "s5")
    assert (error_score.score, error_score.passed) == (0.0, False)
    assert error_score.detail == {"error": "Timeout"}


def test_scores_are_written_per_result_and_metric(tmp_path: Path) -> None:
    samples = [sample("a", expected="x"), sample("b", expected="y")]
    results = [ok("a", "x"), ok("b", "nope"), ok("a", "x", repeat=1), ok("b", "y", repeat=1)]
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: exact_match\n    - type: contains\n", tmp_path)

    summary = evaluate_run(config, built.run, built.dataset)

    scores = scores_of(built.run.scores)
    assert len(scores) == 8
    assert {(s.sample_id, s.repeat, s.metric) for s in scores} == {
        (sid, rep, m) for sid in "ab" for rep in (0, 1) for m in ("exact_match", "contains")
    }
    assert summary.metrics["exact_match"].mean == 0.75
    assert summary.metrics["exact_match"].ci_method == "wilson"
    assert (summary.n_samples, summary.n_results) == (2, 4)


def test_re_evaluating_replaces_scores_cleanly(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a", expected="x")], [ok("a", "x")])
    evaluate_run(load("  metrics:\n    - type: contains\n", tmp_path), built.run, built.dataset)
    evaluate_run(load(EXACT, tmp_path), built.run, built.dataset)

    assert [s.metric for s in scores_of(built.run.scores)] == ["exact_match"]
    assert leftovers(built.run.path) == []


def test_a_result_for_an_unknown_sample_is_an_artifact_error(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
    evaluate_run(load(EXACT, tmp_path), built.run, built.dataset)
    before = built.run.scores.read_text()
    with built.run.results.open("a") as handle:
        handle.write(ok("ghost", "boo").model_dump_json() + "\n")

    with pytest.raises(ArtifactError) as info:
        evaluate_run(load(EXACT, tmp_path), built.run, built.dataset)

    assert str(built.run.results) in str(info.value) and "'ghost'" in str(info.value)
    # The failed re-evaluation left the previous scores alone and no temporary file behind.
    assert built.run.scores.read_text() == before
    assert leftovers(built.run.path) == []


def test_missing_artifacts_are_artifact_errors(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
    config = load(EXACT, tmp_path)
    with pytest.raises(ArtifactError, match="no such run directory"):
        evaluate_run(config, RunDir(tmp_path / "nope"), built.dataset)
    with pytest.raises(ArtifactError, match=r"dataset\.jsonl: not found"):
        evaluate_run(config, built.run, tmp_path / "dataset.jsonl")
    built.run.results.unlink()
    with pytest.raises(ArtifactError, match=r"results\.jsonl: not found"):
        evaluate_run(config, built.run, built.dataset)
    assert leftovers(built.run.path) == []


def test_a_duplicated_result_is_an_artifact_error(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a"), ok("a", "a")])
    with pytest.raises(ArtifactError, match="'a' repeat 0 appears twice"):
        evaluate_run(load(EXACT, tmp_path), built.run, built.dataset)


def test_a_metric_needing_expected_fails_once_naming_metric_and_sample(tmp_path: Path) -> None:
    samples = [sample("a", expected="x"), sample("b", expected=None), sample("c", expected=[])]
    built = make_run(tmp_path, samples, [ok("a", "x"), ok("b", "y"), ok("c", "z")])

    with pytest.raises(ConfigError) as info:
        evaluate_run(load(EXACT, tmp_path), built.run, built.dataset)

    message = str(info.value)
    assert "metric 'exact_match' needs an expected answer" in message
    assert "sample 'b' (and 1 more)" in message


def test_regex_with_a_pattern_scores_samples_without_expected(tmp_path: Path) -> None:
    samples = [sample("a", expected=None), sample("b", expected=None)]
    built = make_run(tmp_path, samples, [ok("a", "42"), ok("b", "none")])
    config = load("  metrics:\n    - type: regex\n      pattern: '^\\d+$'\n", tmp_path)

    summary = evaluate_run(config, built.run, built.dataset)

    assert summary.metrics["regex"].mean == 0.5


def test_run_figures(tmp_path: Path) -> None:
    samples = [sample(f"s{i}") for i in range(5)]
    usage = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12)
    results = [
        ok("s0", "a", latency_ms=100.0, usage=usage, cost_usd=0.25),
        ok("s1", "a", latency_ms=200.0, usage=usage, cost_usd=0.25),
        ok("s2", "a", latency_ms=300.0, usage=usage, cost_usd=0.5),
        failed("s3", latency_ms=60_000.0),  # timeouts do not make the successful calls slower
    ]  # s4 has no result: an interrupted run
    built = make_run(tmp_path, samples, results)

    summary = evaluate_run(load(EXACT, tmp_path), built.run, built.dataset)

    assert (summary.n_samples, summary.n_results, summary.n_errors) == (5, 4, 1)
    assert summary.error_rate == 0.25
    assert summary.usage == Usage(prompt_tokens=30, completion_tokens=6, total_tokens=36)
    assert summary.cost_usd == pytest.approx(1.0)
    latency = summary.latency_ms
    assert (latency.mean, latency.p50, latency.max) == (200.0, 200.0, 300.0)
    assert latency.p95 == pytest.approx(290.0)


def test_one_unpriced_call_makes_the_cost_unknown(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a"), sample("b")], [ok("a", "a"), ok("b", "a", cost_usd=None)])
    config = load(EXACT + "  limits: {cost_usd: 1}\n", tmp_path)

    summary = evaluate_run(config, built.run, built.dataset)

    assert summary.cost_usd is None
    (outcome,) = summary.thresholds
    assert not outcome.passed and not summary.passed
    assert outcome.reason is not None and "'test-model'" in outcome.reason


def test_thresholds_decide_passed(tmp_path: Path) -> None:
    samples = [sample(f"s{i}", expected="a") for i in range(10)]
    results = [ok(f"s{i}", "a" if i < 8 else "b") for i in range(10)]
    built = make_run(tmp_path, samples, results)

    at_boundary = evaluate_run(load(EXACT + "      threshold: 0.8\n", tmp_path), built.run, built.dataset)
    above = evaluate_run(load(EXACT + "      threshold: 0.81\n", tmp_path), built.run, built.dataset)

    assert at_boundary.passed and [o.name for o in at_boundary.thresholds] == ["exact_match>=0.8"]
    assert not above.passed and not above.thresholds[0].passed


def test_summary_json_and_manifest(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])

    summary = evaluate_run(load(EXACT, tmp_path), built.run, built.dataset, run_id="custom-id")

    assert read_model(built.run.summary, Summary) == summary
    assert summary.run_id == "custom-id" and summary.pipeline == "eval_test"
    manifest = read_model(built.run.manifest, RunManifest)
    assert manifest.status == "completed"
    timing = manifest.timings["evaluate"]
    assert timing.finished_at is not None and timing.seconds is not None
    assert (built.run.path / "report.html").is_file()
    assert (built.run.path / "report.json").is_file()


def test_a_run_without_manifest_is_evaluated_too(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")], manifest=False)
    config = load(EXACT + "  report: {formats: [json]}\n", tmp_path)

    summary = evaluate_run(config, built.run, built.dataset)

    assert summary.run_id == built.run.run_id
    assert not built.run.manifest.exists()
    assert (built.run.path / "report.json").is_file()
    assert not (built.run.path / "report.html").exists()


def test_an_empty_run_fails_its_thresholds(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [])
    config = load(EXACT + "      threshold: 0.5\n  limits: {error_rate: 0}\n", tmp_path)

    summary = evaluate_run(config, built.run, built.dataset)

    assert summary.metrics["exact_match"].n == 0
    assert [o.reason for o in summary.thresholds] == ["no scores", "no results"]
    assert not summary.passed


def test_a_crashing_plugin_metric_names_itself_and_the_sample(tmp_path: Path) -> None:
    class Broken(Metric):
        name = "broken"

        def score(self, sample: Any, result: RunResult) -> MetricScore:
            raise ZeroDivisionError("oops")

    registry.register("metrics", "broken", Broken)
    try:
        built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
        config = load("  metrics:\n    - type: broken\n", tmp_path)
        with pytest.raises(PluginError, match="metric 'broken' failed on sample 'a': ZeroDivisionError"):
            evaluate_run(config, built.run, built.dataset)
    finally:
        registry.unregister("metrics", "broken")


def test_continuous_plugin_metrics_get_bootstrap_intervals(tmp_path: Path) -> None:
    class Length(Metric):
        name = "length"
        binary = False
        requires_expected = False
        score_range = None

        def score(self, sample: Any, result: RunResult) -> MetricScore:
            return MetricScore(float(len(result.output or "")))

    registry.register("metrics", "length", Length)
    try:
        built = make_run(tmp_path, [sample("a"), sample("b")], [ok("a", "ab"), ok("b", "abcd")])
        config = load("  metrics:\n    - type: length\n      threshold: {max: 3}\n", tmp_path)
        summary = evaluate_run(config, built.run, built.dataset)
    finally:
        registry.unregister("metrics", "length")
    metric = summary.metrics["length"]
    assert (metric.mean, metric.ci_method) == (3.0, "bootstrap")
    assert 1.0 < metric.ci_high <= 4.0  # unbounded: not clamped to 1; a bootstrap stays in the data
    assert summary.passed
    assert scores_of(built.run.scores)[0].passed is None
