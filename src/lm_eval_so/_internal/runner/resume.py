"""Continuing an interrupted run: repair the results file, then learn what is already done.

results.jsonl is appended and flushed line by line, so a kill -9 loses at most the line being
written. That torn tail (no final newline, or not a valid record) is cut off before anything is
appended; the pair it belonged to simply runs again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from ..common.records import RunResult


def repair_tail(path: Path) -> int:
    """Truncate a torn last line; returns the number of bytes removed."""
    if not path.exists():
        return 0
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        keep = _end_of_last_good_line(handle, size)
        if keep < size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        return size - keep


def _end_of_last_good_line(handle: BinaryIO, size: int) -> int:
    """Offset just after the last complete, valid line."""
    block = 1 << 16
    start = max(0, size - block)
    handle.seek(start)
    tail: bytes = handle.read()
    while start > 0 and tail.count(b"\n") < 2:  # the last line is longer than one block
        start = max(0, start - block)
        handle.seek(start)
        tail = handle.read()
    end = len(tail)
    if not tail.endswith(b"\n"):
        end = tail.rfind(b"\n") + 1  # 0 when the file holds a single torn line
    else:
        # Complete but corrupt (a crash between write and flush of a later block): drop it too.
        line_start = tail.rfind(b"\n", 0, end - 1) + 1
        if not _valid(tail[line_start : end - 1]):
            end = line_start
    return start + end


def _valid(line: bytes) -> bool:
    if not line.strip():
        return True
    try:
        RunResult.model_validate_json(line)
    except ValidationError:
        return False
    return True
