"""Build the versioned dataset from ``generator`` config and store it in the workspace.

    <workspace>/datasets/<dataset_id>/<sha12>/dataset.jsonl, manifest.json

The content hash is the sha256 of the exact ``dataset.jsonl`` bytes, so the same source and
config always land in the same directory, which is then reused rather than rewritten.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.config import PipelineConfig
from ..common.digest import file_sha256
from ..common.errors import ArtifactError, DatasetError
from ..common.records import DatasetManifest, DatasetSample
from ..common.redact import Redactor
from ..common.workspace import (
    DatasetDir,
    Workspace,
    atomic_write_json,
    iso_now,
    iter_jsonl,
    read_model,
)
from .mapping import columns_of, make_samples, plan_columns
from .payload import Payload, select_lines
from .prompts import PromptRenderer
from .sources import resolve_source


@dataclass
class BuiltDataset:
    """A built dataset: its exact ``dataset.jsonl`` bytes (spooled, not objects) and provenance.

    The bytes live in a temporary file until :meth:`close` (or the end of a ``with`` block);
    :attr:`samples` and :attr:`payload` load everything and are meant for small datasets.
    """

    content_hash: str  # sha256 of the payload, i.e. of dataset.jsonl
    source_sha256: str
    dataset_id: str
    source: Path
    generator: dict[str, Any]  # the generator config, as plain (redacted) data
    lines: Payload = field(repr=False)  # the exact dataset.jsonl bytes

    @property
    def n_samples(self) -> int:
        return self.lines.count

    def iter_samples(self) -> Iterator[DatasetSample]:
        """The samples, parsed one at a time from the payload."""
        for line in self.lines.lines():
            yield DatasetSample.model_validate_json(line)

    @property
    def samples(self) -> list[DatasetSample]:
        return list(self.iter_samples())

    @property
    def payload(self) -> bytes:
        return b"".join(self.lines.chunks())

    def manifest(self) -> DatasetManifest:
        return DatasetManifest(
            dataset_id=self.dataset_id,
            content_hash=self.content_hash,
            n_samples=self.n_samples,
            source=str(self.source),
            source_sha256=self.source_sha256,
            created_at=iso_now(),
            generator=self.generator,
        )

    def close(self) -> None:
        self.lines.close()

    def __enter__(self) -> BuiltDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class DatasetRef:
    """A dataset stored in a workspace."""

    dataset_id: str
    content_hash: str
    path: Path  # dataset.jsonl
    manifest_path: Path
    n_samples: int
    reused: bool

    @property
    def directory(self) -> Path:
        return self.path.parent


# --------------------------------------------------------------------------- build


def build_dataset(config: PipelineConfig) -> BuiltDataset:
    """Read, map, render, shuffle and limit; nothing is written to the workspace.

    The source is read twice: once for its columns (JSON rows need not share their keys, and
    placeholders are checked against all of them), then once more to make the samples, so no
    list of rows or samples is ever held.
    """
    gen = config.generator
    path = gen.source
    source_sha256 = _sha256_source(path)
    source = resolve_source(path, gen.format)
    columns = columns_of(source.read(path), path.name)
    plan = plan_columns(gen.fields, columns, path.name)
    origin = config.path.name if config.path else None
    prompt = PromptRenderer(gen.prompt, columns, path.name, origin)
    samples = make_samples(lambda: source.read(path), plan, prompt)
    seed = (config.seed if gen.seed is None else gen.seed) if gen.shuffle else None
    lines = select_lines(_serialized(samples), shuffle_seed=seed, limit=gen.limit)
    return BuiltDataset(
        content_hash=lines.sha256,
        source_sha256=source_sha256,
        dataset_id=gen.resolved_dataset_id,
        source=path,
        generator=_as_dict(Redactor(config.secrets).obj(gen.model_dump(mode="json"))),
        lines=lines,
    )


def _serialized(samples: Iterable[DatasetSample]) -> Iterator[bytes]:
    for sample in samples:
        yield (sample.model_dump_json() + "\n").encode("utf-8")


def _sha256_source(path: Path) -> str:
    try:
        if path.is_dir():
            raise DatasetError(f"{path}: is a directory, not a source file (generator.source)")
        if path.exists() and not path.is_file():
            # A FIFO or a device: it cannot be read twice, and /dev/zero would never end.
            raise DatasetError(f"{path}: is not a regular file (generator.source)")
        return file_sha256(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: source file not found (generator.source)") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read source file: {exc.strerror or exc}") from None


def _as_dict(data: Any) -> dict[str, Any]:
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------- store


def save_dataset(built: BuiltDataset, workspace: Workspace) -> DatasetRef:
    """Store ``built`` in the workspace, or reuse the identical dataset already there.

    A workspace that cannot be written (a file in the way, no permission, a read-only disk)
    is an :class:`ArtifactError` naming the path, raised before any run directory exists.
    """
    target = workspace.dataset_dir(built.dataset_id, built.content_hash)
    try:
        reused = _holds(target, built.content_hash) or not _publish(built, target)
    except OSError as exc:
        failed = exc.filename or target.path
        raise ArtifactError(
            f"{failed}: cannot write the dataset into the workspace {workspace.root}: {exc.strerror or exc}"
        ) from None
    return DatasetRef(
        dataset_id=built.dataset_id,
        content_hash=built.content_hash,
        path=target.dataset,
        manifest_path=target.manifest,
        n_samples=built.n_samples,
        reused=reused,
    )


def generate_dataset(config: PipelineConfig, workspace: Workspace) -> DatasetRef:
    """:func:`build_dataset` then :func:`save_dataset`."""
    with build_dataset(config) as built:
        return save_dataset(built, workspace)


def load_dataset(path: Path) -> list[DatasetSample]:
    """The samples of a ``dataset.jsonl`` (or of the dataset directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = DatasetDir(path).dataset
    return list(iter_jsonl(path, DatasetSample))


def _publish(built: BuiltDataset, target: DatasetDir) -> bool:
    """Write into a temporary sibling, then rename it into place; False if another won the race.

    Readers (other pytest-xdist workers, a concurrent CLI) see no directory or a complete one.
    """
    target.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.path.name}.", suffix=".tmp", dir=target.path.parent))
    try:
        staged = DatasetDir(tmp)
        _write_payload(staged.dataset, built.lines)
        atomic_write_json(staged.manifest, built.manifest())
        try:
            os.rename(tmp, target.path)
        except OSError as exc:
            # POSIX says ENOTEMPTY or EEXIST when the target exists; Windows FileExistsError.
            if not (isinstance(exc, FileExistsError) or exc.errno in (errno.EEXIST, errno.ENOTEMPTY)):
                raise
            if _holds(target, built.content_hash):
                return False
            raise
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already after a successful rename


def _holds(target: DatasetDir, content_hash: str) -> bool:
    """True when ``target`` already stores exactly this dataset; an error if it stores another."""
    if not target.path.exists():
        return False
    # Published directories are complete (rename is atomic), so any mismatch means a hand edit.
    try:
        recorded = read_model(target.manifest, DatasetManifest).content_hash
        actual = file_sha256(target.dataset)
    except (ArtifactError, FileNotFoundError):
        recorded = actual = "unreadable"
    if recorded != content_hash or actual != content_hash:
        raise ArtifactError(
            f"{target.path}: does not hold the dataset its name says (dataset.jsonl or "
            "manifest.json was edited or removed); delete the directory to regenerate it"
        )
    return True


def _write_payload(path: Path, payload: Payload) -> None:
    # Binary, not text mode: the bytes on disk must be exactly the hashed ones on every platform.
    with path.open("wb") as handle:
        payload.copy_to(handle)
        handle.flush()
        os.fsync(handle.fileno())
