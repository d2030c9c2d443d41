"""``--lm-eval-baseline PATH``: one more item per pipeline, ``no_regression_vs_baseline``.

It compares the pipeline's run in this session with the baseline run (a run directory, a
directory of runs or a workspace: the newest run of the same pipeline there) exactly as
``lm-eval-so compare --fail-on-regression`` does, and fails only on a significant drop.

The baseline may also be a short reference, looked up in the workspace the run was written to:
a unique run-id prefix, or ``latest`` / ``latest~N`` (the newest earlier run of the same
pipeline, this session's run left out) and ``PIPELINE@latest[~N]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..common.config import PipelineConfig
from ..common.errors import GateFailed
from .items import PipelineItem
from .keys import PREFIX
from .options import option_path

BASELINE_GATE = "no_regression_vs_baseline"


def baseline_option(config: pytest.Config) -> str | None:
    path = option_path(config, "baseline")  # relative to the ini file when it comes from there
    if path is None:
        return None
    if not path.exists():  # maybe a short reference (latest, PIPELINE@latest, a run-id prefix)
        from ..common.refs import is_short_ref

        raw = config.getoption("--lm-eval-baseline") or config.getini("lm_eval_baseline")
        if raw and is_short_ref(str(raw).strip()):
            return str(raw).strip()
    return str(path)


class BaselineItem(PipelineItem):
    def __init__(self, *, pipeline: PipelineConfig, baseline: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.baseline = baseline

    def runtest(self) -> None:
        from ..evaluator.compare import compare_runs, find_baseline
        from ..evaluator.compare_render import to_markdown

        result = self.pipeline_result()
        run_dir = Path(str(result.run_dir))
        found = find_baseline(self._baseline_path(run_dir), self.pipeline.name, exclude=run_dir.resolve())
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

    def _baseline_path(self, run_dir: Path) -> str:
        """The baseline as a path: a short reference is resolved in the run's own workspace."""
        if Path(self.baseline).exists():
            return self.baseline
        from ..common.errors import ArtifactError
        from ..common.refs import parse_latest, resolve_run

        workspace = run_dir.parent.parent  # <workspace>/runs/<run_id>
        try:
            found = resolve_run(self.baseline, workspace, pipeline=self.pipeline.name, exclude=run_dir)
        except ArtifactError as exc:
            if parse_latest(self.baseline) is None:
                raise
            raise pytest.skip.Exception(
                f"{self.pipeline.name}: no baseline run: {exc}", _use_item_location=True
            ) from None
        return str(found)
