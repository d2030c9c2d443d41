"""``lm-eval-so merge``: N shard runs in, one complete run out, scored and gated.

    lm-eval-so merge ws/runs/*-shard-run ... [--out WORKSPACE] [--allow-partial] [--dataset PATH]

Each argument is a shard's run directory, or a directory holding some (a workspace, or the
downloaded artifacts of a CI matrix): every run directory under it whose manifest marks it as
a shard is taken. The shards must form one *shard group* -- the same config hash, the same
dataset content hash, the same N -- with every shard 0..N-1 present exactly once and finished
(status "unscored" or "completed"); otherwise the merge refuses with one message naming the
culprit. ``allow_partial`` merges what exists instead: the merged summary says what is missing
(``Summary.stopped``) and the run does not pass.

The merged run is an ordinary run directory in the workspace (by default the first shard's):
``results.jsonl`` in the canonical order (dataset order, then repeat; each line byte for byte as
its shard wrote it), the resolved ``pipeline.yaml``, a manifest listing every shard with its host
and timings, and the scores, summary and reports of the one evaluator. The evaluator's figures
do not depend on result order (sums are exact, the bootstrap resamples sorted scores), so the
merged run reports what an unsharded run of the same pipeline reports, to the last digit. The
dataset is imported into the workspace (``datasets/<id>/<sha12>/``) so the merged run can be
re-scored there like any other.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from ..common.config import PipelineConfig, load_config
from ..common.digest import file_sha256
from ..common.errors import ArtifactError, ConfigError
from ..common.provenance import load_run_config
from ..common.records import (
    DatasetSample,
    MergedShard,
    MergeInfo,
    RunManifest,
    RunResult,
    StageTiming,
)
from ..common.shard import shard_of
from ..common.workspace import (
    RunDir,
    Workspace,
    atomic_write_json,
    atomic_writer,
    iso_now,
    iter_jsonl,
    parse_jsonl_line,
    read_model,
    run_lock,
)
from .result import PipelineResult

#: A shard whose every assigned result is in: the runner's end state ("unscored") or scored.
FINISHED = ("unscored", "completed")


@dataclass(frozen=True)
class ShardRun:
    """One shard's run directory and its manifest (which has ``shard`` set)."""

    run: RunDir
    manifest: RunManifest

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def index(self) -> int:
        assert self.manifest.shard is not None
        return self.manifest.shard.index

    @property
    def count(self) -> int:
        assert self.manifest.shard is not None
        return self.manifest.shard.count

    @property
    def finished(self) -> bool:
        return self.manifest.status in FINISHED

    def label(self) -> str:
        return f"shard {self.index}/{self.count}"

    def dataset_hash(self) -> str:
        return str(self.manifest.dataset.get("content_hash"))


@dataclass
class MergePlan:
    """The checked shard group: one run per present index, what is missing, and why partial."""

    shards: list[ShardRun]  # by index
    count: int
    missing: list[int] = field(default_factory=list)
    unfinished: list[ShardRun] = field(default_factory=list)
    #: Per shard index: (sample id, repeat) -> byte offset of its line in results.jsonl.
    indexes: dict[int, dict[tuple[str, int], int]] = field(default_factory=dict)

    @property
    def first(self) -> ShardRun:
        return self.shards[0]


# --------------------------------------------------------------------------- public entry


def merge_shards(
    paths: Sequence[str | os.PathLike[str]],
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    allow_partial: bool = False,
    dataset: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
) -> list[PipelineResult]:
    """Merge shard runs into one scored run per pipeline; see the module docstring.

    The shards found are grouped by pipeline name (a CI job may hold the shards of several
    pipelines); each pipeline's shards must form one shard group. Every group is checked, and
    its dataset found, before anything is written. ``workspace_dir``: where the merged runs go
    (default: each pipeline's first shard's workspace). ``dataset``: the dataset.jsonl (default:
    the path in the shards' manifests, else the shards' own workspace). ``config``: the
    pipeline.yaml to score with (default: the shards' resolved copy); it must hash like the
    shards. Raises :class:`ArtifactError` (or :class:`ConfigError`) naming the culprit.
    """
    by_pipeline: dict[str, list[ShardRun]] = {}
    for shard in find_shard_runs(paths):
        by_pipeline.setdefault(shard.manifest.pipeline, []).append(shard)
    if len(by_pipeline) > 1 and (dataset is not None or config is not None):
        raise ConfigError(
            f"merge: --dataset and --config apply to the shards of one pipeline; these are shards of "
            f"{len(by_pipeline)} pipelines ({', '.join(sorted(by_pipeline))}): merge them one by one"
        )
    plans = [check_group(by_pipeline[name], allow_partial=allow_partial) for name in sorted(by_pipeline)]
    given = Path(dataset) if dataset is not None else None
    datasets = [_dataset(plan, given) for plan in plans]
    scoring = _config(plans[0], Path(config)) if config is not None else None
    for plan in plans:  # every result line is read and checked against the hash before writing
        plan.indexes = {shard.index: _index(shard) for shard in plan.shards}
    return [_merge(plan, path, workspace_dir, scoring) for plan, path in zip(plans, datasets, strict=True)]


def _merge(
    plan: MergePlan,
    dataset_path: Path,
    workspace_dir: str | os.PathLike[str] | None,
    scoring: PipelineConfig | None,
) -> PipelineResult:
    started, clock = iso_now(), time.perf_counter()
    workspace = Workspace(workspace_dir if workspace_dir is not None else _workspace_of(plan.first.run))
    first = plan.first.manifest
    run = workspace.new_run(first.pipeline, first.config_hash)
    shutil.copyfile(plan.first.run.config, run.config)
    imported = _import_dataset(workspace, dataset_path, first)
    with run_lock(run):
        manifest = _manifest(plan, run, imported)
        atomic_write_json(run.manifest, manifest)
        try:
            written, planned = _write_results(plan, imported, run.results, _repeats(first))
        except BaseException:
            manifest.status = "failed"  # the error says why; this run directory is not a run
            atomic_write_json(run.manifest, manifest)
            raise
        if plan.missing or plan.unfinished:
            manifest.merge = _with_partial(manifest.merge, plan, written, planned)
        manifest.counts = {**manifest.counts, "merged_results": written}
        manifest.timings["merge"] = StageTiming(
            started_at=started, finished_at=iso_now(), seconds=round(time.perf_counter() - clock, 3)
        )
        manifest.status = "unscored"  # every result is in; the evaluator marks it completed
        atomic_write_json(run.manifest, manifest)

    from ..evaluator import evaluate_run

    cfg = scoring if scoring is not None else load_run_config(run.path)
    summary = evaluate_run(cfg, run, imported, run_id=run.run_id)
    return PipelineResult(
        first.pipeline, first.config_hash, False, run_dir=run.path, dataset_path=imported, summary=summary
    )


# --------------------------------------------------------------------------- finding shards


def find_shard_runs(paths: Iterable[str | os.PathLike[str]]) -> list[ShardRun]:
    """The shard runs ``paths`` name: run directories, or directories holding some."""
    found: list[ShardRun] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if not path.is_dir():
            raise ArtifactError(f"{path}: no such run directory")
        if _is_run_dir(path):
            shard = _shard_run(path)
            if shard is None:
                raise ArtifactError(
                    f"{path}: not a shard run (its manifest names no shard: it was not run with --shard)"
                )
            runs = [shard]
        else:
            runs = [s for s in map(_shard_run, _run_dirs_under(path)) if s is not None]
            if not runs:
                raise ArtifactError(f"{path}: holds no shard run (no run directory made with --shard)")
        for shard in runs:
            if shard.path not in seen:  # the same run named twice (a glob and its folder) counts once
                seen.add(shard.path)
                found.append(shard)
    if not found:
        raise ArtifactError("merge: no shard runs given")
    return found


def _is_run_dir(path: Path) -> bool:
    return (path / "manifest.json").is_file() and (path / "pipeline.yaml").is_file()


def _run_dirs_under(root: Path) -> Iterator[Path]:
    for folder, subdirs, _ in os.walk(root):
        here = Path(folder)
        subdirs.sort()
        if _is_run_dir(here):
            subdirs.clear()  # a run's own rescores/ are not shards
            yield here


def _shard_run(path: Path) -> ShardRun | None:
    run = RunDir(path.resolve())
    manifest = read_model(run.manifest, RunManifest)
    return ShardRun(run, manifest) if manifest.shard is not None else None


# --------------------------------------------------------------------------- checking the group


def check_group(runs: Sequence[ShardRun], *, allow_partial: bool = False) -> MergePlan:
    """The shards as one group, or the refusal naming the first culprit.

    Checked in this order: the same config, the same dataset, the same N; no shard twice;
    none missing; every one finished. ``allow_partial`` accepts the last two.
    """
    ref = runs[0]
    for other in runs[1:]:
        if other.manifest.config_hash != ref.manifest.config_hash:
            raise ArtifactError(
                f"{other.path}: {other.label()} was run with config {other.manifest.config_hash[:12]}, "
                f"but {ref.path} ({ref.label()}) with config {ref.manifest.config_hash[:12]}: "
                "shards of different pipelines (or of a changed pipeline) do not merge"
            )
        if other.dataset_hash() != ref.dataset_hash():
            raise ArtifactError(
                f"{other.path}: {other.label()} ran on dataset {other.dataset_hash()[:12]}, "
                f"but {ref.path} ({ref.label()}) on dataset {ref.dataset_hash()[:12]}: "
                "shards of different datasets do not merge"
            )
        if other.count != ref.count:
            raise ArtifactError(
                f"{other.path}: {other.label()} is one of {other.count} shards, but {ref.path} "
                f"is {ref.label()}: shards of a {ref.count}-way and a {other.count}-way split do not merge"
            )
    by_index: dict[int, ShardRun] = {}
    for shard in runs:
        if shard.index in by_index:
            raise ArtifactError(
                f"{shard.label()} given twice: {by_index[shard.index].path} and {shard.path}; "
                "keep one of them"
            )
        by_index[shard.index] = shard
    count = ref.count
    missing = [index for index in range(count) if index not in by_index]
    if missing and not allow_partial:
        have = ", ".join(str(i) for i in sorted(by_index))
        raise ArtifactError(
            f"missing {_shards(missing, count)} (have {have} of 0..{count - 1}); give every "
            "shard's run, or merge what exists with --allow-partial (the merged run does not pass)"
        )
    shards = [by_index[index] for index in sorted(by_index)]
    unfinished = [shard for shard in shards if not shard.finished]
    if unfinished and not allow_partial:
        shard = unfinished[0]
        raise ArtifactError(
            f"{shard.path}: {shard.label()} is unfinished (status {shard.manifest.status}); finish it "
            f"with `lm-eval-so run PIPELINE --resume {shard.path}`, or merge what exists with "
            "--allow-partial (the merged run does not pass)"
        )
    return MergePlan(shards=shards, count=count, missing=missing, unfinished=unfinished)


def _shards(indices: Sequence[int], count: int) -> str:
    names = ", ".join(f"{index}/{count}" for index in indices)
    return f"shard {names}" if len(indices) == 1 else f"shards {names}"


def _with_partial(merge: MergeInfo | None, plan: MergePlan, written: int, planned: int) -> MergeInfo:
    assert merge is not None
    parts = []
    if plan.missing:
        parts.append(f"{_shards(plan.missing, plan.count)} missing")
    for shard in plan.unfinished:
        parts.append(f"{shard.label()} unfinished ({shard.manifest.status})")
    partial = (
        f"partial merge: {', '.join(parts)}; {written} of {planned} planned results "
        "(merge every shard, finished, for a run that can pass)"
    )
    return merge.model_copy(update={"partial": partial, "missing": list(plan.missing)})


# --------------------------------------------------------------------------- inputs


def _workspace_of(run: RunDir) -> Path:
    return run.path.parent.parent  # <workspace>/runs/<run_id>


def _dataset(plan: MergePlan, given: Path | None) -> Path:
    """The dataset.jsonl the shards ran on, checked against their content hash."""
    want = plan.first.dataset_hash()
    if given is not None:
        path = given / "dataset.jsonl" if given.is_dir() else given
        if not path.is_file():
            raise ArtifactError(f"{given}: --dataset: no such dataset.jsonl")
        if (got := file_sha256(path)) != want:
            raise ArtifactError(
                f"{path}: --dataset: this is not the dataset the shards ran on "
                f"(content hash {got[:12]}, the shards' is {want[:12]})"
            )
        return path
    recorded = [str(s.manifest.dataset.get("path") or "") for s in plan.shards]
    # Else where the shards' own workspaces keep it: a CI artifact of a whole workspace has it.
    dataset_id, short = str(plan.first.manifest.dataset.get("id") or ""), want[:12]
    beside = [
        str(_workspace_of(s.run) / "datasets" / dataset_id / short / "dataset.jsonl") for s in plan.shards
    ]
    for text in dict.fromkeys(recorded + beside):
        path = Path(text)
        if text and path.is_file() and file_sha256(path) == want:
            return path
    raise ArtifactError(
        f"{plan.first.manifest.pipeline}: the dataset the shards ran on is neither at the path their "
        f"manifests name ({recorded[0] or 'none'}) nor in their workspaces; pass --dataset PATH "
        f"(the dataset.jsonl with content hash {short})"
    )


def _config(plan: MergePlan, path: Path) -> PipelineConfig:
    """``--config``: a pipeline.yaml to score with, which must be the one the shards ran."""
    config = load_config(path)
    want = plan.first.manifest.config_hash
    if config.config_hash() != want:
        raise ConfigError(
            f"{path}: --config hashes to {config.config_hash()[:12]}, but the shards were run with "
            f"config {want[:12]}: score them with the pipeline they ran"
        )
    return config


def _repeats(manifest: RunManifest) -> int:
    repeats = manifest.config.get("runner", {}).get("repeats", 1)
    return int(repeats) if isinstance(repeats, int) and repeats >= 1 else 1


def _import_dataset(workspace: Workspace, source: Path, manifest: RunManifest) -> Path:
    """The dataset, copied into ``workspace`` (unless it is there already); returns its path."""
    info = manifest.dataset
    target = workspace.dataset_dir(str(info.get("id") or source.parent.name), str(info["content_hash"]))
    if target.dataset.is_file() and file_sha256(target.dataset) == info["content_hash"]:
        return target.dataset.resolve()
    target.path.mkdir(parents=True, exist_ok=True)
    source_manifest = source.parent / "manifest.json"
    if source_manifest.is_file() and not target.manifest.exists():
        with atomic_writer(target.manifest) as handle:
            handle.write(source_manifest.read_text(encoding="utf-8"))
    with atomic_writer(target.dataset) as handle, source.open(encoding="utf-8") as original:
        shutil.copyfileobj(original, handle)
    return target.dataset.resolve()


# --------------------------------------------------------------------------- the merged run


def _manifest(plan: MergePlan, run: RunDir, dataset: Path) -> RunManifest:
    first = plan.first.manifest
    shards = [_listed(shard) for shard in plan.shards]
    counts: dict[str, int] = {}
    for shard in plan.shards:
        for key, value in shard.manifest.counts.items():
            counts[key] = counts.get(key, 0) + value
    assert first.shard is not None
    merge = MergeInfo(group=first.shard.group, count=plan.count, shards=shards)
    model = next((s.manifest.model for s in plan.shards if s.manifest.model), None)
    return first.model_copy(
        deep=True,
        update={
            "run_id": run.run_id,
            "dataset": {**first.dataset, "path": str(dataset)},
            "model": model,
            "timings": {"run": _span([s.manifest for s in plan.shards])},
            "counts": counts,
            "status": "running",
            "shard": None,
            "merge": merge,
        },
    )


def _listed(shard: ShardRun) -> MergedShard:
    info = shard.manifest.shard
    assert info is not None
    return MergedShard(
        index=info.index,
        run_id=shard.run.run_id,
        path=str(shard.path),
        host=info.host,
        status=shard.manifest.status,
        n_results=int(shard.manifest.counts.get("requests", 0)),
        timings=shard.manifest.timings,
        counts=shard.manifest.counts,
    )


def _span(manifests: Sequence[RunManifest]) -> StageTiming:
    """The runner stage of the whole group: first shard's start to last shard's end."""
    runs = [m.timings["run"] for m in manifests if "run" in m.timings]
    if not runs:
        return StageTiming(started_at=iso_now())
    started = min(runs, key=lambda t: _instant(t.started_at))
    ends = [t for t in runs if t.finished_at]
    if not ends:
        return StageTiming(started_at=started.started_at)
    finished = max(ends, key=lambda t: _instant(t.finished_at or ""))
    assert finished.finished_at is not None
    seconds = (_instant(finished.finished_at) - _instant(started.started_at)).total_seconds()
    return StageTiming(
        started_at=started.started_at, finished_at=finished.finished_at, seconds=round(seconds, 3)
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _write_results(plan: MergePlan, dataset: Path, target: Path, repeats: int) -> tuple[int, int]:
    """Write every shard's results in dataset order, then repeat; returns (written, planned).

    Checks as it goes: a result owned by another shard, a result twice, a result for a sample
    not in the dataset, and a finished shard lacking one of its results are artifact errors.
    """
    count = plan.count
    present = {shard.index: shard for shard in plan.shards}
    indexes = plan.indexes or {shard.index: _index(shard) for shard in plan.shards}
    handles: dict[int, IO[bytes]] = {}
    written = planned = 0
    try:
        for shard in plan.shards:
            handles[shard.index] = shard.run.results.open("rb")
        with atomic_writer(target) as out:
            for sample in iter_jsonl(dataset, DatasetSample):
                for repeat in range(repeats):
                    planned += 1
                    owner = shard_of(sample.id, repeat, count)
                    if owner not in present:
                        continue
                    offset = indexes[owner].pop((sample.id, repeat), None)
                    if offset is None:
                        shard = present[owner]
                        if shard.finished:
                            raise ArtifactError(
                                f"{shard.run.results}: no result for sample {sample.id!r} repeat "
                                f"{repeat}, which {shard.label()} owns, though the shard says it "
                                f"finished (status {shard.manifest.status})"
                            )
                        continue
                    handle = handles[owner]
                    handle.seek(offset)
                    line = handle.readline().rstrip(b"\r\n")
                    out.write(line.decode("utf-8") + "\n")
                    written += 1
    finally:
        for handle in handles.values():
            handle.close()
    for index, left in indexes.items():
        if left:
            sample_id, repeat = next(iter(left))
            raise ArtifactError(
                f"{present[index].run.results}: result for sample {sample_id!r} repeat {repeat}, "
                f"not in the dataset the shards ran on"
            )
    return written, planned


def _index(shard: ShardRun) -> dict[tuple[str, int], int]:
    """(sample id, repeat) -> byte offset of its line in the shard's results.jsonl."""
    path = shard.run.results
    found: dict[tuple[str, int], int] = {}
    if not path.exists():
        if shard.finished:
            raise ArtifactError(f"{path}: not found")
        return found  # an unfinished shard that never wrote a result
    with path.open("rb") as handle:
        offset = 0
        for number, line in enumerate(handle, start=1):
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            if not line.endswith(b"\n") and not shard.finished:
                break  # the torn last line of a shard killed while writing it
            result = parse_jsonl_line(line, RunResult, path, number)
            key = (result.sample_id, result.repeat)
            owner = shard_of(result.sample_id, result.repeat, shard.count)
            if owner != shard.index:
                raise ArtifactError(
                    f"{path}:{number}: sample {result.sample_id!r} repeat {result.repeat} belongs to "
                    f"shard {owner}/{shard.count}, not to {shard.label()}"
                )
            if key in found:
                raise ArtifactError(
                    f"{path}:{number}: sample {result.sample_id!r} repeat {result.repeat} appears twice"
                )
            found[key] = start
    return found
