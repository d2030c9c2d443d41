"""Cells compared with a baseline, Holm-corrected; a best cell only when the data shows one."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.experiment import compare_cells, holm_adjust

N = 400
CONFIG = "  metrics:\n    - type: exact_match\n  report: {formats: [json]}\n"


def scored(root: Path, correct: set[int]) -> Path:
    samples = [sample(f"s{i:03d}", expected="yes") for i in range(N)]
    results = [ok(f"s{i:03d}", "yes" if i in correct else "no") for i in range(N)]
    built = make_run(root, samples, results)
    evaluate_run(load(CONFIG, root), built.run, built.dataset)
    return built.run.path


@pytest.fixture
def cells(tmp_path: Path) -> dict[str, Path]:
    reference = set(range(0, 300))  # 75%
    # ~15% of samples differ, in both directions about equally: 30 lost, 30 gained.
    variant = (reference - set(range(0, 30))) | set(range(300, 330))
    worse = set(range(0, 220))  # 55%: 80 lost, none gained
    return {
        "reference": scored(tmp_path / "ref", reference),
        "variant": scored(tmp_path / "var", variant),
        "worse": scored(tmp_path / "bad", worse),
    }


def test_holm_adjusts_step_down_in_input_order() -> None:
    # Sorted 0.01, 0.02, 0.04 with m = 3: 0.03, max(0.03, 0.04) = 0.04, max(0.04, 0.04) = 0.04.
    assert holm_adjust([0.04, 0.01, None, 0.02]) == pytest.approx([0.04, 0.03, None, 0.04])
    assert holm_adjust([0.5, 0.9]) == [1.0, 1.0]
    assert holm_adjust([]) == []


def test_the_clearly_worse_cell_is_flagged_and_the_noisy_one_is_not(cells: dict[str, Path]) -> None:
    result = compare_cells(cells, "reference")
    assert result.verdict("worse", "exact_match") == "worse"
    assert result.verdict("variant", "exact_match") == "no significant difference"
    assert result.worse == ["worse"]
    worse = result.deltas[("worse", "exact_match")]
    assert worse.delta.regressions == 80 and worse.delta.fixes == 0
    assert worse.p_adjusted is not None and worse.p_adjusted < 0.05
    variant = result.deltas[("variant", "exact_match")]
    assert (variant.delta.regressions, variant.delta.fixes) == (30, 30)
    assert result.means[("variant", "exact_match")] == result.means[("reference", "exact_match")] == 0.75


def test_no_best_cell_is_named_when_the_data_cannot_separate_them(cells: dict[str, Path]) -> None:
    result = compare_cells(cells, "reference")
    assert result.best is None
    assert result.best_reason.startswith("no best cell: the data cannot separate the cells on exact_match")


def test_a_best_cell_is_named_when_it_beats_every_other(tmp_path: Path) -> None:
    runs = {
        "a": scored(tmp_path / "a", set(range(0, 200))),
        "b": scored(tmp_path / "b", set(range(0, 260))),
        "c": scored(tmp_path / "c", set(range(0, 360))),
    }
    result = compare_cells(runs, "a")
    assert result.best == "c" and "significantly better than every other" in result.best_reason


def test_the_correction_can_withhold_what_one_test_alone_would_mark(tmp_path: Path) -> None:
    # 12 lost / 2 gained: McNemar p = 0.013 alone (< 0.05), but with 5 candidates Holm may not
    # reject; every candidate identical, so each adjusted p is 5 x 0.013 = 0.065.
    reference = set(range(0, 300))
    candidate = (reference - set(range(0, 12))) | {300, 301}
    runs = {"ref": scored(tmp_path / "ref", reference)}
    runs |= {f"c{i}": scored(tmp_path / f"c{i}", candidate) for i in range(5)}
    result = compare_cells(runs, "ref")
    delta = result.deltas[("c0", "exact_match")]
    assert delta.delta.p_value is not None and delta.delta.p_value < 0.05
    assert delta.p_adjusted == pytest.approx(min(1.0, 5 * delta.delta.p_value))
    assert all(result.verdict(f"c{i}", "exact_match") == "no significant difference" for i in range(5))


def test_the_experiment_gates_read_the_corrected_comparison(tmp_path: Path) -> None:
    from lm_eval_so._internal.common.matrix import Experiment, ExperimentOptions
    from lm_eval_so._internal.orchestrator.experiment import experiment_gate

    runs = {
        "ship": scored(tmp_path / "ship", set(range(0, 200))),
        "better": scored(tmp_path / "better", set(range(0, 300))),
        "noisy": scored(tmp_path / "noisy", (set(range(0, 200)) - set(range(0, 10))) | set(range(200, 212))),
    }
    comparison = compare_cells(runs, "ship")

    def gate(kind: str, cells: dict[str, Path]) -> tuple[bool, str | None]:
        experiment = Experiment("e", None, {}, "ship", ExperimentOptions(gate=kind))  # type: ignore[arg-type]
        outcome = experiment_gate(experiment, compare_cells(cells, "ship"))
        assert outcome is not None
        return outcome.passed, outcome.reason

    assert comparison.verdict("better", "exact_match") == "better"
    assert comparison.verdict("noisy", "exact_match") == "no significant difference"
    assert gate("candidate_beats_baseline", {k: runs[k] for k in ("ship", "better")}) == (True, None)
    passed, reason = gate("candidate_beats_baseline", runs)
    assert not passed and reason is not None and reason.endswith("(Holm-corrected): noisy")
    assert gate("no_cell_worse_than_baseline", runs) == (True, None)
