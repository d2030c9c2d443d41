"""compare_runs and `lm-eval-so compare` on constructed runs with known flips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so import Comparison, compare_runs
from lm_eval_so._internal.cli import main
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.compare import find_baseline
from lm_eval_so._internal.evaluator.compare_render import to_html, to_markdown

CONFIG = "  metrics:\n    - type: exact_match\n    - type: f1\n  report: {formats: [json]}\n"
N = 40


def scored_run(root: Path, passing: set[int], *, cost: float = 0.001, latency: float = 100.0) -> Path:
    samples = [sample(f"s{i:02d}", expected="right answer") for i in range(N)]
    results = [
        ok(f"s{i:02d}", "right answer" if i in passing else "wrong", cost_usd=cost, latency_ms=latency)
        for i in range(N)
    ]
    built = make_run(root, samples, results)
    evaluate_run(load(CONFIG, root), built.run, built.dataset)
    return built.run.path


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    return scored_run(tmp_path / "a", set(range(30)))


def test_a_significant_drop_is_a_regression(baseline: Path, tmp_path: Path) -> None:
    # 10 pass->fail (s00-s09), 2 fail->pass (s30, s31): McNemar p = 2 * 79/4096.
    candidate = scored_run(tmp_path / "b", set(range(10, 32)), cost=0.002, latency=150.0)
    comparison = compare_runs(baseline, candidate)
    assert isinstance(comparison, Comparison)
    em = next(m for m in comparison.metrics if m.name == "exact_match")
    assert (em.regressions, em.fixes, em.n_pairs) == (10, 2, N)
    assert em.p_value == pytest.approx(2 * 79 / 4096)
    assert em.delta == pytest.approx((22 - 30) / N)
    assert em.ci_high < 0 and em.verdict == "regressed" and comparison.regressed
    assert [f.sample_id for f in comparison.regressions if f.metric == "exact_match"] == [
        f"s{i:02d}" for i in range(10)
    ]
    assert [f.sample_id for f in comparison.fixes if f.metric == "exact_match"] == ["s30", "s31"]
    flip = comparison.regressions[0]
    assert (flip.output_a, flip.output_b) == ("right answer", "wrong")
    # f1 is continuous here: judged by its paired bootstrap interval and the sign test (the
    # same 10 pairs down, 2 up, so the same exact p as McNemar's).
    f1 = next(m for m in comparison.metrics if m.name == "f1")
    assert not f1.binary and f1.p_value == pytest.approx(2 * 79 / 4096) and f1.verdict == "regressed"
    assert comparison.cost_delta_usd == pytest.approx(N * 0.001)
    assert comparison.b.latency_p95_ms - comparison.a.latency_p95_ms == pytest.approx(50.0)


def test_noise_is_not_a_regression(baseline: Path, tmp_path: Path) -> None:
    # 2 pass->fail, 1 fail->pass: a lower mean, but p = 1.0.
    candidate = scored_run(tmp_path / "b", (set(range(30)) - {0, 1}) | {30})
    comparison = compare_runs(baseline, candidate)
    em = next(m for m in comparison.metrics if m.name == "exact_match")
    assert em.delta < 0 and em.p_value == 1.0
    assert em.verdict == "no significant change" and not comparison.regressed


def test_a_significant_gain_is_an_improvement(baseline: Path, tmp_path: Path) -> None:
    candidate = scored_run(tmp_path / "b", set(range(40)))
    em = compare_runs(baseline, candidate).metrics[0]
    assert (em.regressions, em.fixes, em.verdict) == (0, 10, "improved")
    assert em.p_value == pytest.approx(2 / 1024)


def test_unpaired_samples_are_counted_not_compared(baseline: Path, tmp_path: Path) -> None:
    root = tmp_path / "b"
    samples = [sample(f"s{i:02d}", expected="right answer") for i in range(10)]
    built = make_run(root, samples, [ok(s.id, "right answer") for s in samples])
    evaluate_run(load(CONFIG, root), built.run, built.dataset)
    comparison = compare_runs(baseline, built.run.path)
    assert (comparison.only_in_a, comparison.only_in_b) == (30, 0)
    assert comparison.metrics[0].n_pairs == 10


def test_markdown_and_html_escape_model_output(baseline: Path, tmp_path: Path) -> None:
    root = tmp_path / "b"
    samples = [sample(f"s{i:02d}", expected="right answer") for i in range(N)]
    results = [ok(s.id, "<script>x()</script> | pipe" if i == 0 else ("right answer" if i < 30 else "no"))
               for i, s in enumerate(samples)]  # fmt: skip
    built = make_run(root, samples, results)
    evaluate_run(load(CONFIG, root), built.run, built.dataset)
    comparison = compare_runs(baseline, built.run.path)
    md, page = to_markdown(comparison), to_html(comparison)
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\| pipe" in md
    assert "<script" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "| exact_match |" in md and "Regressions (pass → fail): 1" in md


def test_cli_compare_formats_and_exit_codes(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worse = scored_run(tmp_path / "b", set(range(10, 32)))
    assert main(["-q", "compare", str(baseline), str(worse)]) == 0  # reporting only
    assert "🔴 regressed" in capsys.readouterr().out
    assert main(["-q", "compare", str(baseline), str(worse), "--fail-on-regression"]) == 1
    capsys.readouterr()
    assert (
        main(["-q", "compare", str(baseline), str(baseline), "--fail-on-regression", "--format", "json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["regressed"] is False and data["metrics"][0]["p_value"] == 1.0
    out = tmp_path / "cmp.html"
    assert main(["-q", "compare", str(baseline), str(worse), "--format", "html", "--out", str(out)]) == 0
    assert "REGRESSED" in out.read_text(encoding="utf-8")
    assert main(["-q", "compare", str(baseline), str(tmp_path / "nope")]) == 2


def test_find_baseline_picks_the_newest_run_of_the_pipeline(baseline: Path, tmp_path: Path) -> None:
    runs = baseline.parent
    newer = runs / "20990101T000000Z-eval_test-abcdef12"
    newer.mkdir()
    (newer / "summary.json").write_text((baseline / "summary.json").read_text())
    assert find_baseline(runs.parent, "eval_test") == newer  # a workspace
    assert find_baseline(runs, "eval_test", exclude=newer) == baseline  # a runs directory
    assert find_baseline(baseline, "eval_test") == baseline  # a run directory
    assert find_baseline(baseline, "other") is None
