"""One short message per problem, as the CLI prints it: what a pytest user reads, not a traceback.

Our own errors (:class:`~lm_eval_so._internal.common.errors.LmEvalError`) already name file, line and
field, or sample and cause: their text is the message. Anything else escaping a pipeline (a
third-party backend, metric or reporter that raises, a bug of ours) becomes one line naming the
exception and where it was raised; ``LM_EVAL_SO_DEBUG=1`` adds the traceback, as for the CLI.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from ..common.errors import LmEvalError

DEBUG_ENV = "LM_EVAL_SO_DEBUG"
#: What the CLI prints before every error; collection errors read the same.
ERROR_PREFIX = "lm-eval-so: error: "


def debugging() -> bool:
    return bool(os.environ.get(DEBUG_ENV))


def describe(exc: BaseException) -> str:
    """The message of ``exc``: its text if it is ours, else type, text and origin on one line."""
    if isinstance(exc, LmEvalError):
        return str(exc)
    # One line, whatever the exception's own text looks like (pydantic's spans several).
    detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if debugging():
        return f"unexpected {text}\n" + "".join(traceback.format_exception(exc)).rstrip()
    origin = _origin(exc)
    where = f" (raised {origin})" if origin else ""
    return f"unexpected {text}{where}; {DEBUG_ENV}=1 shows the traceback"


def _origin(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f"in {frame.name} at {_short_path(frame.filename)}:{frame.lineno}"


def _short_path(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        pass
    # An installed package reads as its import path, not as the interpreter's directory.
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1 :])
    return filename
