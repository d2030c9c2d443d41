"""Run a matrix pipeline: every cell as an ordinary run, then the cells compared with the baseline.

Cells run one after another, each at its own ``runner.concurrency``: the machine and the
provider never see more than one cell's concurrency at a time. One budget covers the whole
experiment: with ``runner.max_cost_usd`` set, each cell may spend what the cells before it left.
Cells whose generator is the same share one dataset (datasets are stored by content). The
experiment directory ``<workspace>/experiments/<experiment_id>/`` holds a manifest (cells ->
run directories, baseline, options, comparison) and the reports (``report.md``, ``.json``,
``.html``).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ..common.matrix import Experiment
from ..common.records import ThresholdOutcome
from ..common.workspace import Workspace, atomic_write_json, atomic_write_text, iso_now, utc_now
from ..evaluator.experiment import ExperimentComparison, compare_cells
from ..evaluator.experiment_report import to_html, to_json, to_markdown
from .result import ExperimentResult


def experiment_gate(
    experiment: Experiment, comparison: ExperimentComparison | None
) -> ThresholdOutcome | None:
    """The experiment's own gate (``experiment.gate``), judged on the corrected comparison."""
    kind = experiment.options.gate
    if kind is None:
        return None
    outcome = ThresholdOutcome(
        name=kind, kind="limit", target="experiment", value=None, passed=False, status="failed"
    )
    if comparison is None:
        return outcome.model_copy(update={"reason": "the cells could not be compared"})
    metric = comparison.primary or ""
    candidates = [c for c in comparison.cells if c != comparison.baseline]
    if kind == "no_cell_worse_than_baseline":
        if comparison.worse:
            worse = ", ".join(comparison.worse)
            reason = f"significantly worse than {comparison.baseline} (Holm-corrected): {worse}"
            return outcome.model_copy(update={"reason": reason})
        return outcome.model_copy(update={"passed": True, "status": "passed"})
    beaten = [c for c in candidates if comparison.verdict(c, metric) == "better"]
    if candidates and len(beaten) == len(candidates):
        return outcome.model_copy(update={"passed": True, "status": "passed"})
    missing = [c for c in candidates if c not in beaten]
    reason = (
        f"not significantly better than {comparison.baseline} on {metric} (Holm-corrected): "
        + ", ".join(missing)
    )
    return outcome.model_copy(update={"reason": reason})


async def run_experiment_async(
    experiment: Experiment,
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    cell: str | None = None,
) -> ExperimentResult:
    """Run the experiment's cells (or only ``cell``), compare them, write the experiment's reports."""
    from .pipeline import run_one_async

    names = [cell] if cell is not None else list(experiment.cells)
    for name in names:
        experiment.cell(name)  # a ConfigError naming the cells when unknown
    result = ExperimentResult(experiment.name, None, None, experiment.baseline)
    if dry_run:
        for name in names:
            planned = await run_one_async(experiment.cells[name], workspace_dir=workspace_dir, dry_run=True)
            assert planned.plan is not None
            result.plans[name] = planned.plan
        return result
    budget = experiment.cells[names[0]].runner.max_cost_usd
    spent = 0.0
    for name in names:
        config = experiment.cells[name]
        if budget is not None:
            left = budget - spent
            if left <= 0:
                result.stopped = (
                    f"the experiment's budget runner.max_cost_usd={budget:g} was spent before cell {name}"
                )
                break
            config = config.with_overrides(**{"runner.max_cost_usd": left})
        ran = await run_one_async(config, workspace_dir=workspace_dir)
        result.cells[name] = ran
        summary = ran.summary
        if summary is not None:
            # Unknown cost counts as the whole remaining budget: never pretend a cell was free.
            spent += summary.cost_spent_usd if summary.cost_spent_usd is not None else (budget or 0.0)
    if cell is None and result.stopped is None and len(result.cells) > 1:
        runs = {n: r.run_dir for n, r in result.cells.items() if r.run_dir is not None}
        options = experiment.options
        result.comparison = compare_cells(
            runs, experiment.baseline, alpha=options.alpha, primary=options.metric
        )
        result.gate = experiment_gate(experiment, result.comparison)
        _write(experiment, result, workspace_dir)
    return result


def _write(
    experiment: Experiment, result: ExperimentResult, workspace_dir: str | os.PathLike[str] | None
) -> None:
    first = next(iter(experiment.cells.values()))
    workspace = Workspace(workspace_dir if workspace_dir is not None else first.workspace)
    runs = sorted(str(r.run_id) for r in result.cells.values())
    digest = hashlib.sha256(json.dumps(runs).encode()).hexdigest()[:8]
    experiment_id = f"{utc_now().strftime('%Y%m%dT%H%M%SZ')}-{experiment.name}-{digest}"
    directory = workspace.root / "experiments" / experiment_id
    directory.mkdir(parents=True, exist_ok=False)
    result.experiment_id, result.directory = experiment_id, directory
    comparison = result.comparison
    assert comparison is not None
    atomic_write_json(directory / "manifest.json", _manifest(experiment, result))
    atomic_write_text(directory / "report.md", to_markdown(comparison, result.gate, _facts(result)))
    atomic_write_text(directory / "report.json", to_json(comparison, result.gate, _facts(result)))
    atomic_write_text(directory / "report.html", to_html(comparison, result.gate, _facts(result)))


def _facts(result: ExperimentResult) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for name, ran in result.cells.items():
        summary = ran.summary
        facts[name] = {
            "run_id": ran.run_id,
            "passed": ran.passed,
            "cost_usd": summary.cost_usd if summary else None,
            "latency_p95_ms": summary.latency_ms.p95 if summary else None,
            "n_results": summary.n_results if summary else 0,
            "n_errors": summary.n_errors if summary else 0,
        }
    return facts


def _manifest(experiment: Experiment, result: ExperimentResult) -> dict[str, Any]:
    comparison = result.comparison
    return {
        "experiment_id": result.experiment_id,
        "pipeline": experiment.name,
        "config_path": str(experiment.path) if experiment.path else None,
        "created_at": iso_now(),
        "baseline": experiment.baseline,
        "options": experiment.options.model_dump(mode="json"),
        "cells": {
            name: {"run_dir": str(r.run_dir), "config_hash": r.config_hash, "passed": r.passed}
            for name, r in result.cells.items()
        },
        "gate": result.gate.model_dump(mode="json") if result.gate else None,
        "passed": result.passed,
        "worse": comparison.worse if comparison else [],
        "best": comparison.best if comparison else None,
    }
