"""Run each pipeline once per pytest session, however many items and workers need it.

Within a process, outcomes are memoised. Across pytest-xdist workers, a file lock keyed on
the session and the config hash makes the first worker run the pipeline; it writes the
outcome (result or error, as plain JSON) next to the lock, and the others read it back.

With ``--lm-eval-shard`` each pipeline runs only that shard, and a shard that ran is an outcome
``skipped`` for its gates ("shard 2/4: gates are evaluated by lm-eval-so merge"); a shard that
could not run fails as any pipeline does.

A failure is an outcome like any other: whatever a pipeline raises (our errors, or a plugin's
or our own bug) is turned into its one-line message once, and every gate item, every worker
and the ``lm_eval`` fixture read that same message; nothing is re-run to fail again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from .messages import describe

if TYPE_CHECKING:
    from ..common.config import PipelineConfig
    from ..common.shard import Shard
    from ..orchestrator import PipelineResult


@dataclass
class Outcome:
    """A pipeline's result, or the one-line reason it could not run."""

    result: PipelineResult | None = None
    error: str | None = None
    skipped: str | None = None


def result_from_dict(data: dict[str, Any]) -> PipelineResult:
    from ..common.records import Summary
    from ..orchestrator import PipelineResult

    return PipelineResult(
        pipeline=data["pipeline"],
        config_hash=data["config_hash"],
        dry_run=data["dry_run"],
        run_dir=Path(data["run_dir"]) if data["run_dir"] else None,
        dataset_path=Path(data["dataset_path"]) if data["dataset_path"] else None,
        summary=Summary.model_validate(data["summary"]) if data["summary"] else None,
    )


class SessionRuns:
    def __init__(self, session_id: str, workspace_dir: Path | None, shard: Shard | None = None) -> None:
        self.session_id = session_id
        self.workspace_dir = workspace_dir
        self.shard = shard
        self._memo: dict[str, Outcome] = {}

    def workspace_for(self, config: PipelineConfig, default: Path | None = None) -> Path:
        """``--lm-eval-workspace``, else ``default`` (the fixture's for inline configs), else the
        pipeline's own."""
        if self.workspace_dir is not None:
            return self.workspace_dir
        return default if default is not None else config.workspace

    def get(self, config: PipelineConfig, workspace: Path | None = None) -> Outcome:
        """The session's one outcome of ``config`` (keyed by its hash), run on first request."""
        key = config.config_hash()
        if key not in self._memo:
            try:
                outcome = self._run_once_across_workers(config, key, self.workspace_for(config, workspace))
            except Exception as exc:  # the session state itself (unwritable workspace, lock)
                outcome = Outcome(error=describe(exc))
            self._memo[key] = outcome
        return self._memo[key]

    def _run_once_across_workers(self, config: PipelineConfig, key: str, workspace: Path) -> Outcome:
        state_dir = workspace / ".pytest-sessions" / self.session_id
        state_dir.mkdir(parents=True, exist_ok=True)
        outcome_file = state_dir / f"{config.name}-{key[:16]}.json"
        with FileLock(str(outcome_file.with_suffix(".lock"))):
            if outcome_file.exists():
                data = json.loads(outcome_file.read_text())
                result = result_from_dict(data["result"]) if data.get("result") else None
                return Outcome(result=result, error=data.get("error"), skipped=data.get("skipped"))
            outcome = self._run(config, workspace)
            from ..common.workspace import atomic_write_json

            atomic_write_json(
                outcome_file,
                {
                    "result": outcome.result.to_dict() if outcome.result else None,
                    "error": outcome.error,
                    "skipped": outcome.skipped,
                },
            )
            return outcome

    def _run(self, config: PipelineConfig, workspace: Path) -> Outcome:
        missing = config.missing_env()
        if missing:
            return Outcome(skipped=f"{config.name}: needs {', '.join(missing)} (requires_env)")
        from ..common.workspace import Workspace
        from ..orchestrator import run_pipeline
        from ..runner.stage import find_resumable

        try:
            # An earlier session's run of this exact config that was interrupted (Ctrl-C, kill)
            # and that no process is running any more is continued rather than started over.
            found = find_resumable(Workspace(workspace), config, self.shard)
            resume = found.path if found is not None else None
            result = run_pipeline(config, workspace_dir=workspace, resume=resume, shard=self.shard)
            if self.shard is not None:
                return Outcome(result=result, skipped=self.shard.skip_reason())
            return Outcome(result=result)
        except Exception as exc:  # ours name file and line; anything else, its type and origin
            return Outcome(error=describe(exc))
