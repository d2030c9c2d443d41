"""What a workspace holds, one line per run: the catalogue ``runs list``, short run references
and the viewer read.

A :class:`RunInfo` is read from the run's ``manifest.json`` and ``summary.json`` only (never its
results), so listing 1,000 runs reads 2,000 small files. :class:`Catalog` keeps what it read and
reads a run again only when one of the two files changed, so the viewer can rescan on every
request and a run that finishes shows up without a restart.

Order: runs are ordered by when they started (the manifest's ``timings.run.started_at``, to the
millisecond), falling back to the UTC second in the run id; run ids alone do not order runs made
within one second (``…-2`` … ``…-10``, or two pipelines).

Status: the manifest's status, except that a run whose manifest says ``running`` (or
``unscored``) is ``running`` only while some process holds its lock
(:func:`~lm_eval_so._internal.common.workspace.run_in_progress`); otherwise its process died and it is
``interrupted`` (resumable). A scored run is ``passed`` or ``failed`` (its gates);
``budget_exhausted`` and ``error`` (the manifest's ``failed``: the run itself failed) keep their
names; a directory without a readable manifest is ``unknown``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ArtifactError
from .records import MetricSummary, RunManifest, Summary
from .workspace import RUN_LOCK, RunDir, Workspace, read_model, run_in_progress

#: Every status :attr:`RunInfo.status` can take, in the order ``runs list --status`` names them.
STATUSES = ("passed", "failed", "running", "interrupted", "unscored", "budget_exhausted", "error", "unknown")
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)-")
_SUFFIX = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class RunInfo:
    """One run as the catalogue shows it (see the module docstring for ``status``)."""

    run_id: str
    path: Path
    pipeline: str
    started_at: datetime | None
    status: str
    manifest_status: str | None
    backend: str | None = None
    model: str | None = None
    config_hash: str | None = None
    summary: Summary | None = None
    problem: str | None = None  # why the manifest or summary could not be read

    @property
    def order(self) -> tuple[str, int, str]:
        """Oldest first: start time, then the ``-N`` suffix a same-second run id gets."""
        when = self.started_at.isoformat() if self.started_at else ""
        found = _SUFFIX.search(self.run_id)
        suffix = int(found.group(1)) if found and len(found.group(1)) < 6 else 1
        return when, suffix, self.run_id

    @property
    def scored(self) -> bool:
        return self.summary is not None

    @property
    def first_metric(self) -> MetricSummary | None:
        if self.summary is None or not self.summary.metrics:
            return None
        return next(iter(self.summary.metrics.values()))

    def gates(self) -> dict[str, int]:
        """How many gates passed, failed and were inconclusive (empty when not scored)."""
        counts = {"passed": 0, "failed": 0, "inconclusive": 0}
        for outcome in self.summary.thresholds if self.summary else []:
            counts[outcome.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """The row as plain data (``runs list --json``)."""
        metric = self.first_metric
        summary = self.summary
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "pipeline": self.pipeline,
            "started_at": iso(self.started_at),
            "status": self.status,
            "manifest_status": self.manifest_status,
            "backend": self.backend,
            "model": self.model,
            "config_hash": self.config_hash,
            "metric": None
            if metric is None
            else {
                "name": metric.name,
                "mean": metric.mean,
                "ci_low": metric.ci_low,
                "ci_high": metric.ci_high,
                "n": metric.n,
            },
            "gates": self.gates() if summary else None,
            "cost_usd": summary.cost_usd if summary else None,
            "n_results": summary.n_results if summary else None,
            "n_cached": summary.n_cached if summary else None,
            "problem": self.problem,
        }


def iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime | None:
    """An ISO time as the manifests write it (``2026-12-01T00:55:04.912Z``); None if unreadable."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def stamp_time(run_id: str) -> datetime | None:
    """The UTC second a run id starts with (``20261201T005504Z-…``)."""
    found = _STAMP.match(run_id)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def _pipeline_from_id(run_id: str) -> str:
    """``<stamp>-<pipeline>-<hash8>[-N]`` -> pipeline (for a run without a readable manifest)."""
    rest = _STAMP.sub("", run_id, count=1)
    rest = _SUFFIX.sub("", rest) if re.search(r"-[0-9a-f]{8}-\d+$", rest) else rest
    return re.sub(r"-[0-9a-f]{8}$", "", rest) or run_id


def read_run(path: Path) -> RunInfo:
    """One run's catalogue line; a missing or corrupt file is noted, never raised."""
    run = RunDir(path)
    run_id = path.name
    problems: list[str] = []
    manifest: RunManifest | None = None
    summary: Summary | None = None
    if run.manifest.is_file():
        try:
            manifest = read_model(run.manifest, RunManifest)
        except (ArtifactError, OSError) as exc:
            problems.append(str(exc))
    else:
        problems.append("no manifest.json")
    if run.summary.is_file():
        try:
            summary = read_model(run.summary, Summary)
        except (ArtifactError, OSError) as exc:
            problems.append(str(exc))
    started = None
    if manifest is not None:
        timing = manifest.timings.get("run") or next(iter(manifest.timings.values()), None)
        started = parse_time(timing.started_at) if timing else None
    started = started or stamp_time(run_id)
    pipeline = (manifest.pipeline if manifest else None) or (summary.pipeline if summary else None)
    return RunInfo(
        run_id=run_id,
        path=path,
        pipeline=pipeline or _pipeline_from_id(run_id),
        started_at=started,
        status=_status(run, manifest, summary),
        manifest_status=manifest.status if manifest else None,
        backend=manifest.backend if manifest else None,
        model=manifest.model if manifest else None,
        config_hash=manifest.config_hash if manifest else None,
        summary=summary,
        problem="; ".join(problems) or None,
    )


def _status(run: RunDir, manifest: RunManifest | None, summary: Summary | None) -> str:
    if manifest is None:
        return "unknown" if summary is None else ("passed" if summary.passed else "failed")
    status = manifest.status
    if status in ("running", "unscored"):
        # Only these can be in progress (the runner, or the evaluator scoring). Probe the lock
        # only when its file exists: a run that never held it is not running, and a probe
        # would create the file (the viewer writes nothing).
        if (run.path / RUN_LOCK).exists() and run_in_progress(run):
            return "running"
        return "interrupted" if status == "running" else "unscored"
    if status == "completed":
        if summary is None:
            return "unscored"
        return "passed" if summary.passed else "failed"
    if status == "failed":
        return "error"
    return status  # interrupted, budget_exhausted


def _stat_key(path: str) -> tuple[float, ...]:
    key: list[float] = []
    for name in ("manifest.json", "summary.json"):
        try:
            stat = os.stat(os.path.join(path, name))
        except OSError:
            key += [-1.0, -1.0]
        else:
            key += [stat.st_mtime_ns, stat.st_size]
    return tuple(key)


@dataclass
class Catalog:
    """The runs of one workspace, re-read only where a manifest or summary changed.

    Thread-safe: the viewer's request threads share one catalogue.
    """

    workspace: Workspace
    _cache: dict[str, tuple[tuple[float, ...], RunInfo]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, root: str | Path) -> Catalog:
        return cls(Workspace(root))

    def runs(self) -> list[RunInfo]:
        """Every run directory of the workspace, oldest first."""
        runs_dir = self.workspace.runs_dir
        try:
            with os.scandir(runs_dir) as scan:
                entries = [(e.name, e.path) for e in scan if e.is_dir() and not e.name.startswith(".")]
        except FileNotFoundError:
            entries = []
        except NotADirectoryError:
            raise ArtifactError(f"{runs_dir}: not a directory") from None
        found: list[RunInfo] = []
        with self._lock:
            seen = set()
            for name, path in entries:
                key = _stat_key(path)
                cached = self._cache.get(name)
                if cached is not None and cached[0] == key and cached[1].status not in _LIVE:
                    info = cached[1]
                else:
                    info = read_run(Path(path))
                    self._cache[name] = (key, info)
                seen.add(name)
                found.append(info)
            for gone in set(self._cache) - seen:
                del self._cache[gone]
        return sorted(found, key=lambda info: info.order)

    def get(self, run_id: str) -> RunInfo | None:
        return next((info for info in self.runs() if info.run_id == run_id), None)


# A status that can change without either file changing (a process takes or drops the lock).
_LIVE = frozenset({"running", "interrupted", "unscored"})


def scan_runs(root: str | Path) -> list[RunInfo]:
    """Every run of the workspace at ``root``, oldest first (one pass, nothing kept)."""
    return Catalog.of(root).runs()


def newest_first(runs: Iterable[RunInfo]) -> list[RunInfo]:
    return sorted(runs, key=lambda info: info.order, reverse=True)
