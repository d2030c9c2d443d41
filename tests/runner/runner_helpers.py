"""Shared helpers of the runner tests: configs, datasets and results on disk."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lm_eval_so._internal.common.config import PipelineConfig
from lm_eval_so._internal.common.records import DatasetManifest, DatasetSample, Message, RunResult
from lm_eval_so._internal.common.workspace import iter_jsonl, write_jsonl
from lm_eval_so._internal.runner import RunnerStats, run_samples

KEY = "sk-test-runner-0123456789abcdef"


def make_config(base_dir: Path, **runner: Any) -> PipelineConfig:
    """A validated pipeline whose directory (for relative paths) is ``base_dir``."""
    config = PipelineConfig.model_validate(
        {
            "name": "runner_test",
            "workspace": str(base_dir / "workspace"),
            "generator": {"source": str(base_dir / "data.csv")},
            "runner": runner,
        }
    )
    config._path = base_dir / "pipeline.yaml"
    return config


def openai_config(base_dir: Path, base_url: str | None, **runner: Any) -> PipelineConfig:
    settings = {"backend": "openai", "model": "gpt-4o-mini", "base_url": base_url, **runner}
    return make_config(base_dir, **settings)


def sample(sample_id: str, text: str, *, system: str | None = None) -> DatasetSample:
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=text))
    return DatasetSample(id=sample_id, input=text, messages=messages, metadata={"n": sample_id})


def samples(n: int, prefix: str = "question") -> list[DatasetSample]:
    return [sample(f"s{i}", f"{prefix} {i}") for i in range(n)]


def run(
    config: PipelineConfig, items: Iterable[DatasetSample], path: Path, **kwargs: Any
) -> tuple[RunnerStats, list[RunResult]]:
    stats = asyncio.run(run_samples(config, items, path, **kwargs))
    return stats, list(iter_jsonl(path, RunResult))


def write_dataset(folder: Path, items: Sequence[DatasetSample]) -> Path:
    """A dataset.jsonl with its manifest, as the generator would leave it."""
    path = folder / "dataset.jsonl"
    write_jsonl(path, items)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = DatasetManifest(
        dataset_id="runner_ds",
        content_hash=digest,
        n_samples=len(items),
        source="data.csv",
        source_sha256="0" * 64,
        created_at="2025-01-01T00:00:00Z",
        generator={},
    )
    (folder / "manifest.json").write_text(manifest.model_dump_json())
    return path


def run_module(
    module: str, args: Sequence[str | os.PathLike[str]], *, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` with a clean OPENAI_* environment plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LM_EVAL_SO_"))}
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=cwd,
        timeout=120,
    )
