"""Collection: a pipeline file holds one pipeline, which holds one item per gate.

    suite/pipeline.yaml::v1_release_eval::exact_match>=0.8

Collection only parses and validates; it never calls a model. Every xdist worker collects
the same items in the same order because they derive from the file (and the environment) alone.
A file that cannot be collected is one message, as the CLI prints it, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..common.config import Gate, PipelineConfig
from ..common.errors import GateFailed, LmEvalError
from ..common.matrix import Experiment, load_pipeline
from ..common.records import NO_GATE
from .baseline import BASELINE_GATE, BaselineItem, baseline_option
from .experiment import ExperimentNode
from .failure import describe_failure, outcome_for
from .items import PipelineItem
from .keys import OVERRIDES_KEY, PREFIX
from .messages import ERROR_PREFIX, describe
from .requires_env import MissingEnv, config_without_missing, missing_env

#: The one item of a skipped pipeline whose gates cannot be known without its variables.
REQUIRES_ENV_ITEM = "requires_env"


class PipelineFile(pytest.File):
    def collect(self) -> Iterator[pytest.Collector]:
        try:
            nodes = self._pipeline_nodes()
        except LmEvalError as exc:  # names file, line and field
            raise self.CollectError(ERROR_PREFIX + str(exc)) from None
        except Exception as exc:  # a plugin's (or our) bug: its type and where it was raised
            raise self.CollectError(f"{ERROR_PREFIX}{self.path.name}: {describe(exc)}") from None
        yield from nodes

    def _pipeline_nodes(self) -> list[pytest.Collector]:
        # Decided before interpolation: `base_url: ${X}` with X unset is a skip, not an error.
        missing = missing_env(self.path)
        if missing is not None:
            return [self._skipped_node(missing)]
        loaded = load_pipeline(self.path)
        overrides = self.config.stash[OVERRIDES_KEY]
        if isinstance(loaded, Experiment):
            experiment = loaded.with_overrides(overrides or None)
            nodes: list[pytest.Collector] = [
                PipelineNode.from_parent(self, name=f"{experiment.name}[{cell}]", pipeline=config)
                for cell, config in experiment.cells.items()
            ]
            if experiment.options.gate is not None:
                nodes.append(ExperimentNode.from_parent(self, name=experiment.name, experiment=experiment))
            return nodes
        config = loaded.with_overrides(**overrides) if overrides else loaded
        return [PipelineNode.from_parent(self, name=config.name, pipeline=config)]

    def _skipped_node(self, missing: MissingEnv) -> pytest.Collector:
        """Every item of the pipeline, each skipped with the reason; xdist workers agree on it."""
        try:
            # Only to name the items: nothing runs, so what needs the variables is left out.
            config = config_without_missing(self.path, missing)
        except Exception:  # e.g. a required field needs the variable: the gates cannot be known
            return SkippedPipeline.from_parent(self, name=missing.pipeline, missing=missing)
        return PipelineNode.from_parent(self, name=config.name, pipeline=config, skip_reason=missing.reason)


class PipelineNode(pytest.Collector):
    def __init__(self, *, pipeline: PipelineConfig, skip_reason: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.skip_reason = skip_reason

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


class SkippedPipeline(pytest.Collector):
    """A pipeline skipped by ``requires_env`` that cannot be loaded without its variables."""

    def __init__(self, *, missing: MissingEnv, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.missing = missing

    def collect(self) -> Iterator[pytest.Item]:
        yield SkippedItem.from_parent(self, name=REQUIRES_ENV_ITEM, missing=self.missing)


class SkippedItem(pytest.Item):
    def __init__(self, *, missing: MissingEnv, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.missing = missing

    def runtest(self) -> None:
        self.user_properties.append((f"{PREFIX}.pipeline", self.missing.pipeline))
        self.user_properties.append((f"{PREFIX}.gate", self.name))
        raise pytest.skip.Exception(self.missing.reason, _use_item_location=True)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"{self.missing.pipeline}: {self.name}"
