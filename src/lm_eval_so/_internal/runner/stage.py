"""The runner stage as the orchestrator and the CLIs use it: dataset in, run directory out.

The backend is checked before anything is written, so a missing key leaves no run directory.
The run directory then gets the redacted config, a manifest saying "running", the streamed
results, and finally the manifest with counts, timing and status ("unscored" until the
evaluator has scored it, then "completed"; "failed", "interrupted" or "budget_exhausted";
a kill -9 leaves "running", or "unscored" when it came while scoring).

While a run executes it holds an OS lock on ``<run>/.run.lock`` (released by the kernel if the
process dies), so a resume can tell an interrupted run from one still going in another process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..common.config import PipelineConfig
from ..common.errors import ArtifactError, ConfigError
from ..common.provenance import config_snapshot, config_yaml, package_versions, redactor_for
from ..common.records import DatasetManifest, DatasetSample, RunManifest, ShardInfo, StageTiming
from ..common.redact import Redactor
from ..common.registry import plugin_versions
from ..common.secrets import check_prompts_hold_no_secret
from ..common.shard import Shard, shard_group
from ..common.workspace import (
    RunDir,
    Workspace,
    atomic_write_json,
    atomic_write_text,
    iso_now,
    iter_jsonl,
    parse_jsonl_line,
    read_model,
    run_in_progress,
    run_lock,
)
from ..models.lookup import check_backend
from .engine import OnResult, RunnerStats, run_samples
from .progress import progress_reporter

Status = Literal["unscored", "failed", "interrupted", "budget_exhausted"]


@dataclass
class RunOutcome:
    run: RunDir
    stats: RunnerStats
    shard: Shard | None = None  # the shard this run is (from --shard, or a resumed shard's manifest)


async def run_stage(
    config: PipelineConfig,
    dataset_path: Path,
    workspace: Workspace,
    *,
    on_result: OnResult | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: Shard | None = None,
) -> RunOutcome:
    """Run ``dataset_path`` (a ``dataset.jsonl`` or its folder) through the configured backend.

    ``resume`` names an interrupted run directory to continue instead of starting a new one.
    When ``on_result`` is None, progress is shown if the ``lm_eval_so`` logger logs INFO.
    ``shard`` runs only the (sample, repeat) pairs of that shard; the manifest records it (a
    resumed shard run keeps the shard its manifest names).
    """
    dataset_path = dataset_file(Path(dataset_path)).resolve()
    dataset = dataset_info(dataset_path)
    check_backend(config)
    check_prompts_hold_no_secret(config)
    redactor = redactor_for(config)

    if resume is not None:
        run = workspace.run(Path(resume))
        manifest = _resumable_manifest(config, run, dataset)
        shard = _resumed_shard(run, manifest, shard)
    else:
        info = _shard_info(config, dataset, dataset_path, shard) if shard is not None else None
        run = workspace.new_run(config.name, config.config_hash())
        atomic_write_text(run.config, config_yaml(config, redactor))
        manifest = _manifest(config, run, dataset, redactor)
        manifest.shard = info
    with run_lock(run):
        atomic_write_json(run.manifest, manifest)
        return await _execute(config, dataset_path, workspace, run, manifest, redactor, on_result, shard)


def _shard_info(config: PipelineConfig, dataset: dict[str, Any], path: Path, shard: Shard) -> ShardInfo:
    """The manifest's record of a shard: its group, host, and how many pairs it owns."""
    planned = 0
    with path.open("rb") as handle:
        for line in handle:
            try:
                sample_id = json.loads(line)["id"]
            except (ValueError, KeyError, TypeError):
                continue  # not a sample (blank, torn, malformed): the runner names it with its line
            planned += sum(shard.owns(str(sample_id), r) for r in range(config.runner.repeats))
    return ShardInfo(
        index=shard.index,
        count=shard.count,
        group=shard_group(config.config_hash(), str(dataset["content_hash"]), shard.count),
        planned=planned,
        host=socket.gethostname(),
        index_from=shard.source,
    )


def _resumed_shard(run: RunDir, manifest: RunManifest, asked: Shard | None) -> Shard | None:
    """A resumed run continues the shard its manifest names; asking for another is an error."""
    info = manifest.shard
    if info is None:
        if asked is not None:
            raise ConfigError(f"{run.path}: cannot resume as shard {asked}: the run is not a shard run")
        return None
    if asked is not None and (asked.index, asked.count) != (info.index, info.count):
        raise ConfigError(
            f"{run.path}: cannot resume as shard {asked}: the run is shard {info.index}/{info.count}"
        )
    info.host = socket.gethostname()
    return Shard(info.index, info.count, info.index_from)


async def _execute(
    config: PipelineConfig,
    dataset_path: Path,
    workspace: Workspace,
    run: RunDir,
    manifest: RunManifest,
    redactor: Redactor,
    on_result: OnResult | None,
    shard: Shard | None = None,
) -> RunOutcome:
    resuming = run.results.exists()
    if on_result is None:
        total = int(manifest.dataset.get("n_samples") or 0) * config.runner.repeats
        if manifest.shard is not None:
            total = manifest.shard.planned
        on_result = progress_reporter(total, done=_count_lines(run.results) if resuming else 0)
    started = time.perf_counter()
    try:
        stats = await run_samples(
            config,
            iter_jsonl(dataset_path, DatasetSample),
            run.results,
            redactor=redactor,
            on_result=on_result,
            cache_dir=workspace.cache_dir,
            resume=resuming,
            shard=shard,
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        _finish(manifest, run, started, "interrupted")
        raise
    except BaseException:
        _finish(manifest, run, started, "failed")
        raise
    finally:
        close = getattr(on_result, "close", None)
        if callable(close):
            close()
    manifest.counts = {
        "requests": stats.n_requests,
        "errors": stats.n_errors,
        "cache_hits": stats.cache_hits,
        "cache_misses": stats.cache_misses,
        "resumed": stats.resumed,
    }
    if manifest.model is None:
        manifest.model = stats.backend.get("model")
    # "unscored": every result is in; the evaluator marks the run "completed" once it is scored,
    # so a kill -9 while scoring leaves a status that says so, and --resume finishes it.
    _finish(manifest, run, started, "budget_exhausted" if stats.stopped else "unscored")
    return RunOutcome(run=run, stats=stats, shard=shard)


def _resumable_manifest(config: PipelineConfig, run: RunDir, dataset: dict[str, Any]) -> RunManifest:
    """The manifest of ``run``, checked to be the same experiment on the same data, unfinished."""
    manifest = read_model(run.manifest, RunManifest)
    if manifest.config_hash != config.config_hash():
        raise ConfigError(
            f"{run.path}: cannot resume: the run was made with config hash "
            f"{manifest.config_hash[:12]}, this pipeline hashes to {config.config_hash()[:12]} "
            "(the pipeline changed since; start a new run instead)"
        )
    if manifest.dataset.get("content_hash") != dataset["content_hash"]:
        raise ConfigError(f"{run.path}: cannot resume: the dataset changed since the run started")
    if manifest.status == "completed":
        raise ArtifactError(f"{run.path}: the run already completed; nothing to resume")
    manifest.status = "running"
    return manifest


def find_resumable(workspace: Workspace, config: PipelineConfig, shard: Shard | None = None) -> RunDir | None:
    """The newest unfinished run of this exact config that no process is running, if any.

    With ``shard``, only a run of that shard qualifies (a shard is finished once "unscored":
    the merge scores it); without, shard runs never do.
    """
    key = config.config_hash()
    want = None if shard is None else (shard.index, shard.count)
    for run in reversed(workspace.runs()):
        if key[:8] not in run.run_id or not run.manifest.is_file():
            continue  # run ids carry the config hash: skip the others without reading them
        try:
            manifest = read_model(run.manifest, RunManifest)
        except ArtifactError:
            continue
        unfinished = manifest.status in ("running", "interrupted", "unscored")
        has = None if manifest.shard is None else (manifest.shard.index, manifest.shard.count)
        if has != want or (has is not None and manifest.status == "unscored"):
            continue
        if manifest.config_hash == key and unfinished and not run_in_progress(run):
            return run
    return None


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.endswith(b"\n"))


def dataset_info(path: Path) -> dict[str, Any]:
    """``{id, content_hash, path, n_samples}`` from the manifest next to the dataset.

    A hand-written ``dataset.jsonl`` without a manifest is accepted too: its hash and size are
    computed here, its id is the file's folder name, and every line is checked first, so a bad
    line N is an error naming file and line before any run directory or model call.
    """
    manifest_path = path.parent / "manifest.json"
    if manifest_path.is_file():
        manifest = read_model(manifest_path, DatasetManifest)
        return {
            "id": manifest.dataset_id,
            "content_hash": manifest.content_hash,
            "path": str(path),
            "n_samples": manifest.n_samples,
        }
    if not path.is_file():
        raise ArtifactError(f"{path}: not found")
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            digest.update(line)
            if line.strip():
                parse_jsonl_line(line, DatasetSample, path, number)
                lines += 1
    return {
        "id": path.parent.name,
        "content_hash": digest.hexdigest(),
        "path": str(path),
        "n_samples": lines,
    }


def dataset_file(path: Path) -> Path:
    return path / "dataset.jsonl" if path.is_dir() else path


def _manifest(
    config: PipelineConfig, run: RunDir, dataset: dict[str, Any], redactor: Redactor
) -> RunManifest:
    return RunManifest(
        run_id=run.run_id,
        pipeline=config.name,
        config_hash=config.config_hash(),
        config=config_snapshot(config, redactor),
        dataset=dataset,
        backend=config.runner.backend,
        model=config.runner.model,
        params=redactor.obj(config.runner.params.to_request()),
        seed=config.seed,
        versions=package_versions(),
        plugins=plugin_versions(config),
        timings={"run": StageTiming(started_at=iso_now())},
        status="running",
    )


def _finish(manifest: RunManifest, run: RunDir, started: float, status: Status) -> None:
    timing = manifest.timings["run"]
    timing.finished_at = iso_now()
    # A resumed run adds this session's time to what the earlier ones took.
    timing.seconds = round((timing.seconds or 0.0) + time.perf_counter() - started, 3)
    manifest.status = status
    atomic_write_json(run.manifest, manifest)


def stopped_early(run_dir: str | Path) -> str | None:
    """A one-line notice when the run ended before running everything, else None."""
    manifest = read_model(RunDir(Path(run_dir)).manifest, RunManifest)
    if manifest.status != "budget_exhausted":
        return None
    limit = manifest.config.get("runner", {}).get("max_cost_usd")
    done = manifest.counts.get("requests", 0)
    return (
        f"runner: STOPPED EARLY: the budget runner.max_cost_usd={limit} would have been "
        f"exceeded; kept the {done} results that finished (manifest status: budget_exhausted)"
    )
