"""Collection: a pipeline file holds one pipeline, which holds one item per gate.

    suite/pipeline.yaml::v1_release_eval::exact_match>=0.8

Collection only parses and validates; it never calls a model. Every xdist worker collects
the same items in the same order because they derive from the file alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from ..common.config import Gate, PipelineConfig, load_config
from ..common.errors import LmEvalError
from .baseline import BASELINE_GATE, BaselineItem, baseline_option
from .failure import GateFailed, PipelineFailed, describe_failure, outcome_for, properties
from .keys import OVERRIDES_KEY, PREFIX, RESULT_KEY, RUNS_KEY
from .runs import SessionRuns

NO_GATE = "ran_without_errors"


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


class GateItem(pytest.Item):
    def __init__(self, *, gate: Gate | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        parent = self.parent
        assert isinstance(parent, PipelineNode)
        self.pipeline = parent.pipeline

    def runtest(self) -> None:
        runs: SessionRuns = self.config.stash[RUNS_KEY]
        # Named first, so the summary table lists this item even if the pipeline cannot run.
        self.user_properties.append((f"{PREFIX}.pipeline", self.pipeline.name))
        self.user_properties.append((f"{PREFIX}.gate", self.name))
        outcome = runs.get(self.pipeline)
        if outcome.skipped:
            # Reported at the pipeline file (reportinfo), not at this line of the plugin.
            raise pytest.skip.Exception(outcome.skipped, _use_item_location=True)
        if outcome.error or outcome.result is None:
            raise PipelineFailed(f"{self.pipeline.name}: {outcome.error or 'did not run'}")
        result = outcome.result
        self.user_properties.extend(properties(result, self.gate))
        self.stash[RESULT_KEY] = result
        if self.gate is None:
            assert result.summary is not None
            if result.summary.n_errors:
                raise GateFailed(
                    f"{self.pipeline.name}: {result.summary.n_errors} of {result.summary.n_results} "
                    f"calls failed\n  run: {result.run_dir}"
                )
            return
        gate_outcome = outcome_for(result, self.gate)
        # The summary table shows INCONCLUSIVE, whether the gate counts it as pass or fail.
        self.user_properties.append((f"{PREFIX}.status", gate_outcome.status))
        if not gate_outcome.passed:
            raise GateFailed(describe_failure(result, self.gate, gate_outcome))

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        # Our failures are reports, not bugs: show the text, not a traceback into the plugin.
        if isinstance(excinfo.value, (GateFailed, PipelineFailed)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        # The location is the gate's line in pipeline.yaml (0-based here, as pytest expects).
        # pytest reads the domain as a dotted Python name and would print "0.8" as "0::8" if
        # the node id ended with it; "pipeline: gate" is not a suffix, so ids print verbatim.
        line = (self.pipeline.gate_line(self.gate) if self.gate else None) or 1
        return self.path, line - 1, f"{self.pipeline.name}: {self.name}"
