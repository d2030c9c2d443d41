"""Collection: a pipeline file holds one pipeline, which holds one item per gate.

    suite/pipeline.yaml::v1_release_eval::exact_match>=0.8

Collection only parses and validates; it never calls a model. Every xdist worker collects
the same items in the same order because they derive from the file alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..common.config import Gate, PipelineConfig, load_config
from ..common.errors import LmEvalError
from ..common.records import NO_GATE
from .baseline import BASELINE_GATE, BaselineItem, baseline_option
from .failure import GateFailed, describe_failure, outcome_for
from .items import PipelineItem
from .keys import OVERRIDES_KEY, PREFIX


class PipelineFile(pytest.File):
    def collect(self) -> Iterator[pytest.Collector]:
        try:
            config = load_config(self.path)
            overrides = self.config.stash[OVERRIDES_KEY]
            if overrides:
                config = config.with_overrides(**overrides)
        except LmEvalError as exc:
            raise self.CollectError(str(exc)) from None
        except ValueError as exc:  # an override the schema rejects
            raise self.CollectError(f"{self.path.name}: command-line override: {exc}") from None
        yield PipelineNode.from_parent(self, name=config.name, pipeline=config)


class PipelineNode(pytest.Collector):
    def __init__(self, *, pipeline: PipelineConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def collect(self) -> Iterator[pytest.Item]:
        gates = self.pipeline.gates()
        if not gates:
            yield GateItem.from_parent(self, name=NO_GATE, gate=None)
        for gate in gates:
            yield GateItem.from_parent(self, name=gate.name, gate=gate)
        baseline = baseline_option(self.config)
        if baseline:
            yield BaselineItem.from_parent(
                self, name=BASELINE_GATE, pipeline=self.pipeline, baseline=baseline
            )


class GateItem(PipelineItem):
    def __init__(self, *, gate: Gate | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        parent = self.parent
        assert isinstance(parent, PipelineNode)
        self.pipeline = parent.pipeline

    def runtest(self) -> None:
        result = self.pipeline_result()
        assert result.summary is not None
        if self.gate is None:
            # The evaluator's own gate of a pipeline without gates: the same rule as the CLI's.
            outcome = next((o for o in result.summary.thresholds if o.name == NO_GATE), None)
            if outcome is not None and not outcome.passed:
                raise GateFailed(f"{self.pipeline.name}: {outcome.reason}\n  run: {result.run_dir}")
            return
        gate_outcome = outcome_for(result, self.gate)
        # The summary table shows INCONCLUSIVE, whether the gate counts it as pass or fail.
        self.user_properties.append((f"{PREFIX}.status", gate_outcome.status))
        if not gate_outcome.passed:
            raise GateFailed(describe_failure(result, self.gate, gate_outcome))

    def yaml_line(self) -> int:
        # The gate's own line in pipeline.yaml: where its threshold or limit is written.
        return (self.pipeline.gate_line(self.gate) if self.gate else None) or 1
