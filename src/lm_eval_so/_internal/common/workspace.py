"""The workspace owns the on-disk layout; nothing else invents paths.

    <root>/datasets/<dataset_id>/<sha12>/dataset.jsonl, manifest.json
    <root>/runs/<run_id>/pipeline.yaml, manifest.json, results.jsonl, scores.jsonl,
                         summary.json, report.html, report.json
    <root>/cache/

Runs are never overwritten: a run directory is created with ``exist_ok=False`` and a suffix is
added on a collision. Whole files are written atomically (temporary file + rename); JSONL
streams are appended and flushed line by line so an interruption loses at most a torn last line.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import ArtifactError

M = TypeVar("M", bound=BaseModel)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_now() -> str:
    return utc_now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- file helpers


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_FILE_MODE = 0o666 & ~_umask()


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text handle on a temporary sibling that replaces ``path`` if the block succeeds.

    For files written piece by piece (a 100,000-row report), so the whole text is never held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600 files; artifacts get the usual permissions, like open() gives.
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_jsonl(path: Path) -> Iterator[JsonlWriter]:
    """A JsonlWriter whose file replaces ``path`` only if the block succeeds (e.g. re-scoring)."""
    with atomic_writer(path) as handle, JsonlWriter(path, handle) as writer:
        yield writer


def atomic_write_json(path: Path, data: Any) -> None:
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    atomic_write_text(path, text + "\n")


def read_model(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ArtifactError(f"{path}: not found") from None
    except ValidationError as exc:
        raise ArtifactError(f"{path}: not a valid {model.__name__}: {exc.errors()[0]['msg']}") from None


class JsonlWriter:
    """Appends one record per line and flushes each, so readers and resumes see whole lines."""

    def __init__(self, path: Path, handle: IO[str] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: IO[str] = handle if handle is not None else path.open("a", encoding="utf-8")
        self._owns_handle = handle is None
        self.count = 0

    def write(self, record: BaseModel) -> None:
        self._handle.write(record.model_dump_json() + "\n")
        self._handle.flush()
        self.count += 1

    def write_many(self, records: Iterable[BaseModel]) -> None:
        for record in records:
            self._handle.write(record.model_dump_json() + "\n")
            self.count += 1
        self._handle.flush()

    def close(self) -> None:
        if self._owns_handle:
            self._handle.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_jsonl(path: Path, model: type[M]) -> Iterator[M]:
    """Read records line by line; a bad line is an error naming file and line."""
    for _, record in iter_jsonl_offsets(path, model):
        yield record


def iter_jsonl_offsets(path: Path, model: type[M]) -> Iterator[tuple[int, M]]:
    """Like :func:`iter_jsonl`, with the byte offset where each record's line starts.

    An offset lets a reader index a big file and parse one record again later (seek, readline)
    instead of keeping every record in memory.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ArtifactError(f"{path}: not found") from None
    with handle:
        offset = 0
        for number, line in enumerate(handle, start=1):
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            yield start, parse_jsonl_line(line, model, path, number)


def parse_jsonl_line(line: bytes, model: type[M], path: Path, number: int | None = None) -> M:
    """One JSONL record; an error names the file (and line, when known)."""
    try:
        return model.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<line>"
        where = f"{path}:{number}" if number is not None else str(path)
        raise ArtifactError(f"{where}: not a valid {model.__name__} ({field}: {first['msg']})") from None


def write_jsonl(path: Path, records: Iterable[BaseModel]) -> int:
    """Write a whole JSONL file atomically; returns the number of records."""
    lines = [r.model_dump_json() for r in records]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


# --------------------------------------------------------------------------- layout


RUN_LOCK = ".run.lock"
RESCORES = "rescores"


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory.

    A re-score of a finished run (other metrics or thresholds) is a ``RunDir`` of its own under
    ``<run>/rescores/``: it reads the run's results and manifest (``source``) and writes its
    scores, summary and reports beside them, never over them.
    """

    path: Path
    source: Path | None = None  # for a re-score: the run whose results are scored

    @property
    def run_id(self) -> str:
        return (self.source or self.path).name

    @property
    def config(self) -> Path:
        return (self.source or self.path) / "pipeline.yaml"

    @property
    def manifest(self) -> Path:
        return (self.source or self.path) / "manifest.json"

    @property
    def results(self) -> Path:
        return (self.source or self.path) / "results.jsonl"

    @property
    def is_rescore(self) -> bool:
        return self.source is not None

    def new_rescore(self, config_hash: str) -> RunDir:
        """A fresh directory ``rescores/<utc>-<hash8>`` for scoring this run once more."""
        root = self.path / RESCORES
        root.mkdir(parents=True, exist_ok=True)
        base = f"{utc_now().strftime('%Y%m%dT%H%M%SZ')}-{config_hash[:8]}"
        for attempt in range(1, 10_000):
            name = base if attempt == 1 else f"{base}-{attempt}"
            try:
                (root / name).mkdir()
            except FileExistsError:
                continue
            return RunDir(root / name, source=self.path)
        raise ArtifactError(f"{root}: cannot create a new re-score directory for {base}")

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete the temporary siblings an interrupted atomic write left (``.<name>.*.tmp``).

        Call only while holding :func:`run_lock`: then no other process is writing here.
        """
        removed = []
        for stale in self.path.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
            removed.append(stale)
        return removed

    @property
    def scores(self) -> Path:
        return self.path / "scores.jsonl"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    def report(self, fmt: str, suffix: str | None = None) -> Path:
        return self.path / f"report.{suffix or fmt}"


@dataclass(frozen=True)
class DatasetDir:
    path: Path

    @property
    def dataset(self) -> Path:
        return self.path / "dataset.jsonl"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"


class Workspace:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise ArtifactError(f"{self.root}: the workspace is a file, not a directory")

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def dataset_dir(self, dataset_id: str, content_hash: str) -> DatasetDir:
        return DatasetDir(self.datasets_dir / dataset_id / content_hash[:12])

    def new_run(self, pipeline: str, config_hash: str) -> RunDir:
        """Create a fresh run directory; never reuses an existing one."""
        stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
        base = f"{stamp}-{pipeline}-{config_hash[:8]}"
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            for attempt in range(1, 10_000):
                name = base if attempt == 1 else f"{base}-{attempt}"
                try:
                    (self.runs_dir / name).mkdir()
                except FileExistsError:
                    continue
                return RunDir(self.runs_dir / name)
        except OSError as exc:  # a file in the way, no permission, a read-only disk
            raise ArtifactError(
                f"{exc.filename or self.runs_dir}: cannot create a run directory in the workspace "
                f"{self.root}: {exc.strerror or exc}"
            ) from None
        raise ArtifactError(f"{self.runs_dir}: cannot create a new run directory for {base}")

    def run(self, run_id_or_path: str | Path) -> RunDir:
        """An existing run, by id (in this workspace) or by path."""
        candidate = Path(run_id_or_path)
        if not candidate.is_dir():
            candidate = self.runs_dir / str(run_id_or_path)
        if not candidate.is_dir():
            raise ArtifactError(f"{run_id_or_path}: no such run directory")
        return RunDir(candidate.resolve())

    def runs(self) -> list[RunDir]:
        if not self.runs_dir.is_dir():
            return []
        return [RunDir(p) for p in sorted(self.runs_dir.iterdir()) if p.is_dir()]


@contextmanager
def run_lock(run: RunDir) -> Iterator[None]:
    """Hold the run's OS lock (released by the kernel if the process dies) while it is written.

    Raises :class:`ArtifactError` when another process holds it: that run is in progress.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(run.path / RUN_LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ArtifactError(f"{run.path}: the run is in progress in another process") from None
    try:
        yield
    finally:
        lock.release()


def run_in_progress(run: RunDir) -> bool:
    """True while some process holds ``run``'s lock."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(run.path / RUN_LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False
