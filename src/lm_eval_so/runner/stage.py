"""The runner stage as the orchestrator and the CLIs use it: dataset in, run directory out.

The backend is checked before anything is written, so a missing key leaves no run directory.
The run directory then gets the redacted config, a manifest saying "running", the streamed
results, and finally the manifest with counts, timing and status.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..common.config import PipelineConfig
from ..common.errors import ArtifactError, PluginError
from ..common.provenance import config_snapshot, config_yaml, package_versions, redactor_for
from ..common.records import DatasetManifest, DatasetSample, RunManifest, StageTiming
from ..common.redact import Redactor
from ..common.registry import registry
from ..common.workspace import (
    RunDir,
    Workspace,
    atomic_write_json,
    atomic_write_text,
    iso_now,
    iter_jsonl,
    read_model,
)
from .engine import OnResult, RunnerStats, run_samples
from .factory import check_backend


@dataclass
class RunOutcome:
    run: RunDir
    stats: RunnerStats


async def run_stage(
    config: PipelineConfig,
    dataset_path: Path,
    workspace: Workspace,
    *,
    on_result: OnResult | None = None,
) -> RunOutcome:
    """Run ``dataset_path`` (a ``dataset.jsonl`` or its folder) through the configured backend."""
    dataset_path = _dataset_file(Path(dataset_path)).resolve()
    dataset = dataset_info(dataset_path)
    check_backend(config)
    redactor = redactor_for(config, extra=(_api_key_value(config),))

    run = workspace.new_run(config.name, config.config_hash())
    atomic_write_text(run.config, config_yaml(config, redactor))
    manifest = _manifest(config, run, dataset, redactor)
    atomic_write_json(run.manifest, manifest)

    started = time.perf_counter()
    try:
        stats = await run_samples(
            config,
            iter_jsonl(dataset_path, DatasetSample),
            run.results,
            redactor=redactor,
            on_result=on_result,
        )
    except BaseException:
        _finish(manifest, run, started, "failed")
        raise
    manifest.counts = {"requests": stats.n_requests, "errors": stats.n_errors}
    if manifest.model is None:
        manifest.model = stats.backend.get("model")
    _finish(manifest, run, started, "completed")
    return RunOutcome(run=run, stats=stats)


def dataset_info(path: Path) -> dict[str, Any]:
    """``{id, content_hash, path, n_samples}`` from the manifest next to the dataset.

    A hand-written ``dataset.jsonl`` without a manifest is accepted too: its hash and size are
    computed here, and its id is the file's folder name.
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
        for line in handle:
            digest.update(line)
            lines += bool(line.strip())
    return {
        "id": path.parent.name,
        "content_hash": digest.hexdigest(),
        "path": str(path),
        "n_samples": lines,
    }


def _dataset_file(path: Path) -> Path:
    return path / "dataset.jsonl" if path.is_dir() else path


def _api_key_value(config: PipelineConfig) -> str | None:
    name = config.runner.api_key_env
    return os.environ.get(name) if name else None


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
        plugins=_plugin_versions(config.runner.backend),
        timings={"run": StageTiming(started_at=iso_now())},
        status="running",
    )


def _plugin_versions(backend: str) -> dict[str, str]:
    try:
        info = registry.info("backends", backend)
    except PluginError:
        return {}
    return {backend: f"{info.dist} {info.version}".strip()}


def _finish(
    manifest: RunManifest, run: RunDir, started: float, status: Literal["completed", "failed"]
) -> None:
    timing = manifest.timings["run"]
    timing.finished_at = iso_now()
    timing.seconds = round(time.perf_counter() - started, 3)
    manifest.status = status
    atomic_write_json(run.manifest, manifest)
