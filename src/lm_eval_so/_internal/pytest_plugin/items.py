"""What every lm-eval-so test item shares: reading its pipeline's one run, and reporting."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from ..common.config import Gate, PipelineConfig
from ..common.errors import GateFailed, LmEvalError, PipelineFailed
from .failure import properties
from .keys import PREFIX, RESULT_KEY, RUNS_KEY
from .messages import debugging, describe

if TYPE_CHECKING:
    from ..orchestrator import PipelineResult


class PipelineItem(pytest.Item):
    """Base of the gate items: ``pipeline`` is set by the subclass, ``gate`` if it has one."""

    pipeline: PipelineConfig
    gate: Gate | None = None

    def pipeline_result(self) -> PipelineResult:
        """The session's run of this pipeline (run once, shared); skip or fail if it did not run."""
        # Named first, so the summary table lists this item even if the pipeline cannot run.
        self.user_properties.append((f"{PREFIX}.pipeline", self.pipeline.name))
        self.user_properties.append((f"{PREFIX}.gate", self.name))
        skip_reason: str | None = getattr(self.parent, "skip_reason", None)
        if skip_reason:  # requires_env, decided at collection: nothing is run
            raise pytest.skip.Exception(skip_reason, _use_item_location=True)
        outcome = self.config.stash[RUNS_KEY].get(self.pipeline)
        if outcome.skipped:
            # Reported at the pipeline file (reportinfo), not at this line of the plugin.
            raise pytest.skip.Exception(outcome.skipped, _use_item_location=True)
        if outcome.error or outcome.result is None or outcome.result.run_dir is None:
            raise PipelineFailed(f"{self.pipeline.name}: {outcome.error or 'did not run'}")
        result = outcome.result
        self.user_properties.extend(properties(result, self.gate))
        self.stash[RESULT_KEY] = result
        if result.summary is not None and result.summary.stopped:
            # Every gate of a run stopped early judges only part of the data: none may pass.
            raise PipelineFailed(f"{self.pipeline.name}: {result.summary.stopped}\n  run: {result.run_dir}")
        return result

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        # Our failures are reports, not bugs: show the text, not a traceback into the plugin.
        error = excinfo.value
        if isinstance(error, (GateFailed, PipelineFailed)):
            return str(error)
        if isinstance(error, LmEvalError) or not debugging():
            # e.g. a corrupt baseline run; anything else reads as the CLI's internal errors do.
            return f"{self.pipeline.name}: {describe(error)}"
        return super().repr_failure(excinfo, style=style)

    def yaml_line(self) -> int:
        """The 1-based line of pipeline.yaml this item reports at."""
        return 1

    def reportinfo(self) -> tuple[Path, int, str]:
        # 0-based here, as pytest expects. pytest reads the domain as a dotted Python name and
        # would print "0.8" as "0::8" if the node id ended with it; "pipeline: gate" is not a
        # suffix, so ids print verbatim.
        return self.path, self.yaml_line() - 1, f"{self.pipeline.name}: {self.name}"
