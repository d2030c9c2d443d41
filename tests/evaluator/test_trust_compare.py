"""compare: few pairs are never a significant regression; nothing in common is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so import compare_runs
from lm_eval_so._internal.cli import main
from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.compare import compare_loaded, load_run
from lm_eval_so._internal.evaluator.compare_render import to_html, to_markdown

BOTH = "  metrics:\n    - type: exact_match\n    - type: f1\n  report: {formats: [json]}\n"
RIGHT = "the blue whale"


def scored(root: Path, outputs: dict[str, str], evaluator: str = BOTH) -> Path:
    samples = [sample(sid, expected=RIGHT) for sid in outputs]
    built = make_run(root, samples, [ok(sid, out) for sid, out in outputs.items()])
    evaluate_run(load(evaluator, root), built.run, built.dataset)
    return built.run.path


# --------------------------------------------------------------------------- few pairs


def test_a_single_paired_drop_is_not_a_significant_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = scored(tmp_path / "a", {"s1": RIGHT})
    b = scored(tmp_path / "b", {"s1": "a grey seal"})
    comparison = compare_runs(a, b)
    f1 = next(m for m in comparison.metrics if m.name == "f1")
    assert (f1.n_pairs, f1.delta, f1.p_value) == (1, -1.0, 1.0)
    assert f1.verdict == "no significant change" and not comparison.regressed
    assert f1.note == "1 pair changed: too few for any change to be significant at α = 0.05"
    assert "f1: 1 pair changed: too few" in to_markdown(comparison)
    assert "1 pair changed: too few" in to_html(comparison)
    assert main(["-q", "compare", str(a), str(b), "--fail-on-regression"]) == 0
    assert "regressed" not in capsys.readouterr().err


@pytest.mark.parametrize(("dropped", "regressed"), [(5, False), (6, True)])
def test_a_continuous_drop_needs_enough_pairs_to_be_significant(
    tmp_path: Path, dropped: int, regressed: bool
) -> None:
    # Every pair drops from 1 to 0: the bootstrap interval is [-1, -1] at any n. The sign test
    # says 5 of 5 (p = 0.0625) is not enough at α = 0.05, 6 of 6 (p = 0.031) is.
    ids = [f"s{i}" for i in range(dropped)]
    a = scored(tmp_path / "a", dict.fromkeys(ids, RIGHT), "  metrics:\n    - type: f1\n")
    b = scored(tmp_path / "b", dict.fromkeys(ids, "a grey seal"), "  metrics:\n    - type: f1\n")
    f1 = compare_runs(a, b).metrics[0]
    assert (f1.ci_low, f1.ci_high) == (-1.0, -1.0)
    assert f1.p_value == pytest.approx(2 / 2**dropped)
    assert f1.regressed is regressed
    assert main(["-q", "compare", str(a), str(b), "--fail-on-regression"]) == int(regressed)


def test_a_single_pass_fail_flip_is_noise(tmp_path: Path) -> None:
    a = scored(tmp_path / "a", {"s1": RIGHT, "s2": RIGHT})
    b = scored(tmp_path / "b", {"s1": RIGHT, "s2": "no"})
    em = next(m for m in compare_runs(a, b).metrics if m.name == "exact_match")
    assert (em.regressions, em.p_value, em.verdict) == (1, 1.0, "no significant change")
    assert em.note is not None and em.note.startswith("1 pair changed")


# --------------------------------------------------------------------------- nothing in common


def test_runs_without_a_common_sample_are_an_error_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = scored(tmp_path / "a", {"a1": RIGHT, "a2": RIGHT})
    b = scored(tmp_path / "b", {"b1": "no"})
    with pytest.raises(ArtifactError) as info:
        compare_runs(a, b)
    message = str(info.value)
    assert f"({a})" in message and f"({b})" in message
    assert "have no sample in common: 2 scored (sample, repeat) pairs in A, 1 in B, none in both" in message
    assert main(["-q", "compare", str(a), str(b), "--fail-on-regression"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lm-eval-so: error: runs ") and "no sample in common" in err
    assert "Traceback" not in err


def test_a_shared_metric_without_a_common_sample_is_an_error(tmp_path: Path) -> None:
    a = load_run(scored(tmp_path / "a", {"s1": RIGHT, "s2": RIGHT}))
    b = load_run(scored(tmp_path / "b", {"s1": RIGHT, "s2": RIGHT}))
    # f1 in B was scored on other samples only (a hand-merged scores.jsonl, say).
    b.scores["f1"] = {("x9", 0): b.scores["f1"][("s1", 0)]}
    with pytest.raises(ArtifactError, match=r"metric 'f1': no sample is scored in both runs"):
        compare_loaded(a, b)


def test_metrics_on_one_side_only_are_listed_not_dropped(tmp_path: Path) -> None:
    a = scored(tmp_path / "a", {"s1": RIGHT})
    b = scored(tmp_path / "b", {"s1": RIGHT}, "  metrics:\n    - type: exact_match\n    - type: contains\n")
    comparison = compare_runs(a, b)
    assert [m.name for m in comparison.metrics] == ["exact_match"]
    assert (comparison.metrics_only_in_a, comparison.metrics_only_in_b) == (["f1"], ["contains"])
    md = to_markdown(comparison)
    assert (
        "Metrics only in A (not compared): f1." in md and "Metrics only in B (not compared): contains." in md
    )
    assert main(["-q", "compare", str(a), str(b), "--format", "json", "--out", str(tmp_path / "c.json")]) == 0
    data = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert (data["metrics_only_in_a"], data["metrics_only_in_b"]) == (["f1"], ["contains"])


@pytest.mark.parametrize("alpha", ["nan", "0", "1", "1.5", "-0.1", "inf", "x"])
def test_alpha_must_be_a_significance_level(
    tmp_path: Path, alpha: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a = scored(tmp_path / "a", {"s1": RIGHT})
    with pytest.raises(SystemExit) as info:
        main(["-q", "compare", str(a), str(a), "--alpha", alpha])
    assert info.value.code == 2
    assert (
        f"argument --alpha: must be a number between 0 and 1, exclusive (got '{alpha}')"
        in capsys.readouterr().err
    )
    with pytest.raises(ValueError, match="alpha must be a significance level"):
        compare_runs(a, a, alpha=float("nan"))
