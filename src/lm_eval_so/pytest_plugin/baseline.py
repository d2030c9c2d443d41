"""``--lm-eval-baseline PATH``: one more item per pipeline, ``no_regression_vs_baseline``.

It compares the pipeline's run in this session with the baseline run (a run directory, a
directory of runs or a workspace: the newest run of the same pipeline there) exactly as
``lm-eval-so compare --fail-on-regression`` does, and fails only on a significant drop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..common.config import PipelineConfig
from .failure import GateFailed, PipelineFailed, properties
from .keys import PREFIX, RESULT_KEY, RUNS_KEY

BASELINE_GATE = "no_regression_vs_baseline"


def baseline_option(config: pytest.Config) -> str | None:
    value = config.getoption("--lm-eval-baseline", None) or config.getini("lm_eval_baseline")
    return str(value) if value else None


class BaselineItem(pytest.Item):
    def __init__(self, *, pipeline: PipelineConfig, baseline: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.baseline = baseline

    def runtest(self) -> None:
        from ..evaluator.compare import compare_runs, find_baseline
        from ..evaluator.compare_render import to_markdown

        self.user_properties.append((f"{PREFIX}.pipeline", self.pipeline.name))
        self.user_properties.append((f"{PREFIX}.gate", self.name))
        outcome = self.config.stash[RUNS_KEY].get(self.pipeline)
        if outcome.skipped:
            raise pytest.skip.Exception(outcome.skipped, _use_item_location=True)
        if outcome.error or outcome.result is None or outcome.result.run_dir is None:
            raise PipelineFailed(f"{self.pipeline.name}: {outcome.error or 'did not run'}")
        result, run_dir = outcome.result, Path(outcome.result.run_dir)
        self.user_properties.extend(properties(result, None))
        self.stash[RESULT_KEY] = result
        found = find_baseline(self.baseline, self.pipeline.name, exclude=run_dir.resolve())
        if found is None:
            raise pytest.skip.Exception(
                f"{self.pipeline.name}: no baseline run of this pipeline in {self.baseline}",
                _use_item_location=True,
            )
        comparison = compare_runs(found, run_dir)
        self.user_properties.append((f"{PREFIX}.baseline_run", str(found)))
        if comparison.regressed:
            names = ", ".join(m.name for m in comparison.metrics if m.regressed)
            raise GateFailed(
                f"{self.pipeline.name}: significant regression vs baseline in {names}\n"
                f"  baseline: {found}\n  run: {result.run_dir}\n\n{to_markdown(comparison)}"
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (GateFailed, PipelineFailed)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.pipeline.name}: {self.name}"
