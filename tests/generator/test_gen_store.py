"""save_dataset / load_dataset: layout, reuse without rewriting, atomic publication."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gen_support import make_config, write

from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.common.records import DatasetManifest
from lm_eval_so._internal.common.workspace import Workspace
from lm_eval_so._internal.generator import (
    build_dataset,
    generate_dataset,
    load_dataset,
    save_dataset,
)
from lm_eval_so._internal.generator.generate import _publish

CSV = "id,input,expected\ns1,Capital of France?,Paris\ns2,2+2?,4\n"
OLD = 1_000_000_000  # an mtime far in the past: a rewrite would change it


def test_save_writes_the_documented_layout(tmp_path: Path) -> None:
    built = build_dataset(make_config(write(tmp_path, "raw.csv", CSV), dataset_id="support_v1"))
    ref = save_dataset(built, Workspace(tmp_path / "ws"))
    directory = tmp_path / "ws" / "datasets" / "support_v1" / built.content_hash[:12]
    assert (ref.path, ref.manifest_path) == (
        directory / "dataset.jsonl",
        directory / "manifest.json",
    )
    assert (ref.dataset_id, ref.n_samples, ref.reused) == ("support_v1", 2, False)
    assert hashlib.sha256(ref.path.read_bytes()).hexdigest() == built.content_hash
    manifest = DatasetManifest.model_validate_json(ref.manifest_path.read_text())
    assert (manifest.content_hash, manifest.n_samples) == (built.content_hash, 2)
    assert load_dataset(ref.path) == built.samples
    assert load_dataset(ref.directory) == built.samples
    assert sorted(p.name for p in directory.parent.iterdir()) == [built.content_hash[:12]]


def test_second_save_reuses_without_rewriting(tmp_path: Path) -> None:
    config = make_config(write(tmp_path, "raw.csv", CSV))
    workspace = Workspace(tmp_path / "ws")
    first = generate_dataset(config, workspace)
    for path in (first.path, first.manifest_path):
        os.utime(path, (OLD, OLD))
    second = generate_dataset(config, workspace)
    assert (first.reused, second.reused) == (False, True)
    assert second.path == first.path
    assert first.path.stat().st_mtime == OLD
    assert first.manifest_path.stat().st_mtime == OLD


def test_different_content_gets_its_own_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.csv", CSV)
    workspace = Workspace(tmp_path / "ws")
    plain = generate_dataset(make_config(path), workspace)
    prompted = generate_dataset(make_config(path, prompt={"template": "Q: {input}"}), workspace)
    assert not prompted.reused
    assert plain.directory != prompted.directory
    assert plain.directory.parent == prompted.directory.parent


def test_concurrent_saves_publish_once(tmp_path: Path) -> None:
    built = build_dataset(make_config(write(tmp_path, "raw.csv", CSV)))
    workspace = Workspace(tmp_path / "ws")
    with ThreadPoolExecutor(max_workers=8) as pool:
        refs = list(pool.map(lambda _: save_dataset(built, workspace), range(16)))
    assert [ref.reused for ref in refs].count(False) == 1
    assert {ref.path for ref in refs} == {refs[0].path}
    # No temporary directories are left behind, and the published one is complete.
    assert [p.name for p in refs[0].directory.parent.iterdir()] == [built.content_hash[:12]]
    assert load_dataset(refs[0].path) == built.samples


def test_edited_dataset_is_not_silently_reused(tmp_path: Path) -> None:
    config = make_config(write(tmp_path, "raw.csv", CSV))
    workspace = Workspace(tmp_path / "ws")
    ref = generate_dataset(config, workspace)
    ref.path.write_text(ref.path.read_text().replace("Paris", "Lyon"))
    with pytest.raises(ArtifactError, match="delete the directory to regenerate"):
        generate_dataset(config, workspace)


def test_losing_the_rename_race_counts_as_reuse(tmp_path: Path) -> None:
    # What a process sees when another one published the same dataset after its own check.
    built = build_dataset(make_config(write(tmp_path, "raw.csv", CSV)))
    workspace = Workspace(tmp_path / "ws")
    target = workspace.dataset_dir(built.dataset_id, built.content_hash)
    assert _publish(built, target) is True
    os.utime(target.dataset, (OLD, OLD))
    assert _publish(built, target) is False
    assert target.dataset.stat().st_mtime == OLD
    assert [p.name for p in target.path.parent.iterdir()] == [target.path.name]
