"""A matrix pipeline under pytest: one node per cell, plus the experiment's own gate.

    pipeline.yaml::apps[reference]::exact_match>=0.4       (pytest's parametrised-id style,
    pipeline.yaml::apps[candidate]::exact_match>=0.4        so -k candidate selects a cell)
    pipeline.yaml::apps::no_cell_worse_than_baseline

Each cell runs once per session through the same memo (and cross-worker lock) as any pipeline,
so under xdist the gate item and the cells' items share the cells' runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..common.errors import GateFailed, PipelineFailed
from ..common.matrix import Experiment
from .items import PipelineItem
from .keys import PREFIX, RUNS_KEY


class ExperimentNode(pytest.Collector):
    """Holds the experiment gate item (cells are ordinary pipeline nodes beside it)."""

    def __init__(self, *, experiment: Experiment, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment

    def collect(self) -> Iterator[pytest.Item]:
        gate = self.experiment.options.gate
        if gate is not None:
            yield ExperimentGateItem.from_parent(self, name=gate, experiment=self.experiment)


class ExperimentGateItem(PipelineItem):
    def __init__(self, *, experiment: Experiment, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment
        self.pipeline = experiment.cells[experiment.baseline]

    def runtest(self) -> None:
        from ..evaluator.experiment import compare_cells
        from ..orchestrator.experiment import experiment_gate

        self.user_properties.append((f"{PREFIX}.pipeline", self.experiment.name))
        self.user_properties.append((f"{PREFIX}.gate", self.name))
        runs: dict[str, Path] = {}
        for name, config in self.experiment.cells.items():
            outcome = self.config.stash[RUNS_KEY].get(config)
            if outcome.skipped:
                raise pytest.skip.Exception(outcome.skipped, _use_item_location=True)
            if outcome.error or outcome.result is None or outcome.result.run_dir is None:
                raise PipelineFailed(f"{self.experiment.name}[{name}]: {outcome.error or 'did not run'}")
            runs[name] = outcome.result.run_dir
        options = self.experiment.options
        comparison = compare_cells(
            runs, self.experiment.baseline, alpha=options.alpha, primary=options.metric
        )
        verdict = experiment_gate(self.experiment, comparison)
        assert verdict is not None
        if not verdict.passed:
            raise GateFailed(f"{self.experiment.name}: {verdict.name} failed: {verdict.reason}")

    def yaml_line(self) -> int:
        return (
            self.experiment.lines.get(("experiment", "gate"))
            or self.experiment.lines.get(("experiment",))
            or 1
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.yaml_line() - 1, f"{self.experiment.name}: {self.name}"
