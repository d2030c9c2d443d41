"""Helpers for generator tests: write real source files, build configs around them.

Plain functions in a uniquely named module rather than a conftest.py: other test modules do
``from conftest import ...``, which a second conftest.py on sys.path would shadow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lm_eval_so._internal.common.config import PipelineConfig
from lm_eval_so._internal.common.errors import DatasetError
from lm_eval_so._internal.generator import build_dataset


def write(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` as UTF-8, byte for byte (no newline translation)."""
    path = directory / name
    path.write_bytes(text.encode("utf-8"))
    return path


def make_config(source: Path, *, pipeline_seed: int = 0, **generator: Any) -> PipelineConfig:
    """A validated config for ``source``; keyword arguments are ``generator`` keys.

    Built with ``model_validate`` rather than from YAML: the generator needs no plugins loaded.
    """
    data = {
        "name": "t",
        "seed": pipeline_seed,
        "workspace": str(source.parent / "ws"),
        "generator": {"source": str(source), **generator},
    }
    return PipelineConfig.model_validate(data)


def build_error(config: PipelineConfig) -> str:
    """The message of the DatasetError that building ``config`` raises."""
    with pytest.raises(DatasetError) as info:
        build_dataset(config)
    return str(info.value)
