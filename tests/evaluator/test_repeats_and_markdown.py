"""pass@k and variance with repeats; the Markdown report; 100,000 scores summarised."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.common.config import MetricConfig
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.evaluate import summarize_metrics
from lm_eval_so._internal.evaluator.metrics import build_metric


def test_repeats_give_pass_at_k_and_within_sample_variance(tmp_path: Path) -> None:
    # Sample a: 2 of 5 attempts right; sample b: 5 of 5; sample c: 0 of 5.
    samples = [sample("a"), sample("b"), sample("c")]
    right = {"a": 2, "b": 5, "c": 0}
    results = [ok(sid, "a" if r < right[sid] else "x", repeat=r) for sid in right for r in range(5)]
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: exact_match\n    - type: f1\n", tmp_path)
    summary = evaluate_run(config, built.run, built.dataset)
    em = summary.metrics["exact_match"]
    assert em.repeats == 5 and em.n == 15
    assert em.pass_at_k == pytest.approx({"1": (0.4 + 1 + 0) / 3, "2": (0.7 + 1 + 0) / 3, "5": 2 / 3})
    # Variances: a = 0.3 (two 1s, three 0s: 6/5 * 0.4 * 0.6), b = c = 0.
    assert em.within_sample_variance == pytest.approx(0.3 / 3)
    f1 = summary.metrics["f1"]
    assert f1.pass_at_k is None and f1.repeats == 5  # pass@k only for pass/fail metrics


def test_single_attempt_runs_have_no_repeat_figures(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
    summary = evaluate_run(load("  metrics:\n    - type: exact_match\n", tmp_path), built.run, built.dataset)
    metric = summary.metrics["exact_match"]
    assert (metric.repeats, metric.pass_at_k, metric.within_sample_variance) == (None, None, None)


def test_markdown_report(tmp_path: Path) -> None:
    samples = [sample("good"), sample("bad|pipe", input="q"), sample("err")]
    results = [ok("good", "a"), ok("bad|pipe", "<b>bold</b>\nnext line"), failed("err")]
    built = make_run(tmp_path, samples, results)
    config = load(
        "  metrics:\n    - type: exact_match\n      threshold: 0.9\n  report: {formats: [markdown]}\n",
        tmp_path,
    )
    evaluate_run(config, built.run, built.dataset)
    md = (built.run.path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("## eval_test: ❌ failed")
    assert "| exact_match | 0.333 | [" in md and "wilson" in md
    assert "| exact_match&gt;=0.9 | 0.3333 | ❌ fail |" in md
    assert "### Failing samples: 2 of 3" in md
    assert "| bad\\|pipe | a | &lt;b&gt;bold&lt;/b&gt; next line |" in md
    assert "error Timeout" in md and "<b>" not in md


def test_summarising_100k_scores(tmp_path: Path) -> None:
    """Functional, not timed: 100,000 scores of each kind give sane summaries (timing: benchmarks/)."""
    rng = random.Random(0)
    binary = [float(rng.random() < 0.7) for _ in range(100_000)]
    continuous = [rng.betavariate(5, 2) for _ in range(100_000)]
    config = load("  metrics:\n    - type: exact_match\n    - type: f1\n", tmp_path)
    metrics = {m.key: build_metric(m) for m in [MetricConfig(type="exact_match"), MetricConfig(type="f1")]}
    out = summarize_metrics(config, metrics, {"exact_match": binary, "f1": continuous})
    em, f1 = out["exact_match"], out["f1"]
    assert em.n == f1.n == 100_000
    assert em.ci_method == "wilson" and em.ci_low < em.mean < em.ci_high and em.ci_high - em.ci_low < 0.01
    assert f1.ci_method == "normal" and f1.mean == pytest.approx(5 / 7, abs=0.005)
    assert f1.ci_high - f1.ci_low < 0.003
