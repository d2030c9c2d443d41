"""Generator: raw CSV/JSONL/JSON -> a versioned ``dataset.jsonl`` in the workspace."""

from .generate import (
    BuiltDataset,
    DatasetRef,
    build_dataset,
    generate_dataset,
    load_dataset,
    save_dataset,
)
from .sources import Source, SourceRow

__all__ = [
    "BuiltDataset",
    "DatasetRef",
    "Source",
    "SourceRow",
    "build_dataset",
    "generate_dataset",
    "load_dataset",
    "save_dataset",
]
