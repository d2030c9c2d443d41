"""The response cache: one SQLite file in ``<workspace>/cache/``, shared by every run and process.

Key = sha256 of the backend's identity (backend, model, ``runner.options`` and whatever else
the backend declares decides its answers: the endpoint of an HTTP server, the hash of a GGUF
file, the hash of the user's code; see ``Backend.identity``) + mode + params + the full request
+ the repeat index, so a different server, an edited app, repeats or temperature sampling never
collapse into one answer. Only successful answers are stored, each with the latency, token usage
and cost of the call that produced it, so a replayed result reports what really happened when
it was made (and says ``cached: true``). WAL mode and a generous busy timeout make it safe for
several processes at once (pytest-xdist workers, two CLIs): SQLite serialises the writers,
readers never block.

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
from typing import Any, Literal

from filelock import FileLock

from ..common.config import RunnerConfig
from ..common.records import Usage
from ..models.base import Backend, Completion, Request

CACHE_FILE = "responses.sqlite3"
BUSY_TIMEOUT_MS = 60_000
# Version 2 of the table: keys include the backend's identity, and rows keep the original
# call's latency and cost; usage columns are NULL when the server reported no usage.
_TABLE = "answers_v2"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_TABLE} (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    finish_reason TEXT,
    model TEXT,
    latency_ms REAL NOT NULL,
    cost_usd REAL,
    created REAL NOT NULL
)
"""
# Version 1 keyed answers without the endpoint or code identity: its rows may answer for a
# different server or an edited function, so they are dropped rather than trusted.
_LEGACY_TABLES = ("responses",)


@dataclass(frozen=True)
class CacheStats:
    path: Path
    entries: int
    size_bytes: int


CacheMode = Literal["read_write", "read_only", "off"]


def cache_mode(config: RunnerConfig, backend: Backend | type[Backend]) -> CacheMode:
    """``runner.cache`` when the pipeline (or an override) sets it, else the backend's default.

    Backends that cannot see everything their answers depend on (``cache_by_default = False``,
    the python backend) replay cached answers only when asked to.
    """
    if "cache" in config.model_fields_set:
        return config.cache
    return "read_write" if backend.cache_by_default else "off"


def cache_path(cache_dir: Path) -> Path:
    return cache_dir / CACHE_FILE


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer and the figures of the call that produced it."""

    completion: Completion
    latency_ms: float
    cost_usd: float | None


class KeyMaker:
    """Builds cache keys; the part shared by every request of a run is serialised once.

    ``identity`` is the backend's :meth:`~lm_eval_so._internal.models.base.Backend.identity`.
    """

    def __init__(self, identity: dict[str, Any], mode: str, params: dict[str, Any]) -> None:
        head = json.dumps(
            [identity, mode, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        self._head = head.encode("utf-8", "surrogatepass")

    def key(self, request: Request) -> str:
        if request.mode == "chat":
            body: Any = [[m.role, m.content] for m in request.messages]
        else:
            body = request.prompt
        blob = json.dumps([body, request.repeat], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(self._head + b"\x00" + blob.encode("utf-8", "surrogatepass")).hexdigest()


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
            for legacy in _LEGACY_TABLES:
                db.execute(f"DROP TABLE IF EXISTS {legacy}")
        return cls(db, path)

    def get(self, key: str) -> CachedAnswer | None:
        row = self._db.execute(
            "SELECT text, prompt_tokens, completion_tokens, total_tokens, finish_reason, model, "
            f"latency_ms, cost_usd FROM {_TABLE} WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        usage = (
            None
            if row[1] is None
            else Usage.model_construct(prompt_tokens=row[1], completion_tokens=row[2], total_tokens=row[3])
        )
        completion = Completion(text=row[0], usage=usage, finish_reason=row[4], model=row[5], attempts=0)
        return CachedAnswer(completion, latency_ms=row[6], cost_usd=row[7])

    def put(self, key: str, completion: Completion, latency_ms: float, cost_usd: float | None) -> None:
        """Store a successful answer with the latency (ms) and cost (USD, None: unknown) it had."""
        usage = completion.usage
        tokens = (
            (None, None, None)
            if usage is None
            else (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        )
        self._db.execute(
            f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                completion.text,
                *tokens,
                completion.finish_reason,
                completion.model,
                latency_ms,
                cost_usd,
                time.time(),
            ),
        )

    def close(self) -> None:
        self._db.close()


def stats(cache_dir: Path) -> CacheStats:
    path = cache_path(cache_dir)
    if not path.exists():
        return CacheStats(path, 0, 0)
    cache = ResponseCache.open(cache_dir)
    try:
        (entries,) = cache._db.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()
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
        (entries,) = cache._db.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()
        cache._db.execute(f"DELETE FROM {_TABLE}")
        cache._db.execute("VACUUM")
    finally:
        cache.close()
    return int(entries)
