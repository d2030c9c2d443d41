"""The content hash of a file: how datasets, shards and model weights are identified."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time: a large file is never held whole


def file_sha256(path: Path) -> str:
    """Hex sha256 of the bytes of ``path``, read in 1 MiB chunks.

    Raises ``OSError`` (``FileNotFoundError``, ``IsADirectoryError`` ...) as ``open`` does;
    callers turn it into their own error naming the file's role.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
