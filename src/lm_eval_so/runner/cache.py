"""The response cache: one SQLite file in ``<workspace>/cache/``, shared by every run and process.

Key = sha256 of backend + model + mode + params + the full request + the repeat index, so
repeats and temperature sampling never collapse into one answer. Only successful answers are
stored. WAL mode and a generous busy timeout make it safe for several processes at once
(pytest-xdist workers, two CLIs): SQLite serialises the writers, readers never block.

Calls are synchronous on purpose: a lookup or an insert takes microseconds, far less than the
thread hop an executor would cost on every request.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..common.errors import ArtifactError
from ..common.records import Usage
from .backends.base import Completion, Request

CACHE_FILE = "responses.sqlite3"
BUSY_TIMEOUT_MS = 60_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    finish_reason TEXT,
    model TEXT,
    created REAL NOT NULL
)
"""


class CacheMiss(ArtifactError):
    """Strict replay (``runner.cache: read_only``) found no stored answer for a request."""


@dataclass(frozen=True)
class CacheStats:
    path: Path
    entries: int
    size_bytes: int


def cache_path(cache_dir: Path) -> Path:
    return cache_dir / CACHE_FILE


class KeyMaker:
    """Builds cache keys; the part shared by every request of a run is serialised once."""

    def __init__(self, backend: str, model: str | None, mode: str, params: dict[str, Any]) -> None:
        head = json.dumps([backend, model, mode, params], sort_keys=True, separators=(",", ":"))
        self._head = head.encode()

    def key(self, request: Request) -> str:
        if request.mode == "chat":
            body: Any = [[m.role, m.content] for m in request.messages]
        else:
            body = request.prompt
        blob = json.dumps([body, request.repeat], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(self._head + b"\x00" + blob.encode()).hexdigest()


class ResponseCache:
    """Get and put completions by key. Open with :meth:`open`, close when the run ends."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self.hits = self.misses = 0

    @classmethod
    def open(cls, cache_dir: Path) -> ResponseCache:
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_path(cache_dir)
        # Switching a new database to WAL takes an exclusive lock that SQLite's busy handler
        # does not always wait for ("database is locked" when two processes start together),
        # so opening and initialising is serialised between processes; later use is not.
        with FileLock(str(path) + ".lock"):
            # isolation_level=None: autocommit, each insert is its own short transaction, so no
            # process ever holds the write lock while it waits on the network.
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a process crash; only a power loss may drop
            # the last answers, which are then simply asked again.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
        return cls(db, path)

    def get(self, key: str) -> Completion | None:
        row = self._db.execute(
            "SELECT text, prompt_tokens, completion_tokens, total_tokens, finish_reason, model "
            "FROM responses WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        usage = Usage.model_construct(prompt_tokens=row[1], completion_tokens=row[2], total_tokens=row[3])
        return Completion(text=row[0], usage=usage, finish_reason=row[4], model=row[5], attempts=0)

    def put(self, key: str, completion: Completion) -> None:
        usage = completion.usage
        tokens = (
            (0, 0, 0)
            if usage is None
            else (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens,
            )
        )
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, completion.text, *tokens, completion.finish_reason, completion.model, time.time()),
        )

    def close(self) -> None:
        self._db.close()


def stats(cache_dir: Path) -> CacheStats:
    path = cache_path(cache_dir)
    if not path.exists():
        return CacheStats(path, 0, 0)
    cache = ResponseCache.open(cache_dir)
    try:
        (entries,) = cache._db.execute("SELECT COUNT(*) FROM responses").fetchone()
    finally:
        cache.close()
    size = sum(p.stat().st_size for p in cache_dir.glob(CACHE_FILE + "*") if p.is_file())
    return CacheStats(path, int(entries), size)


def clear(cache_dir: Path) -> int:
    """Delete every stored answer; returns how many there were."""
    if not cache_path(cache_dir).exists():
        return 0
    cache = ResponseCache.open(cache_dir)
    try:
        (entries,) = cache._db.execute("SELECT COUNT(*) FROM responses").fetchone()
        cache._db.execute("DELETE FROM responses")
        cache._db.execute("VACUUM")
    finally:
        cache.close()
    return int(entries)
