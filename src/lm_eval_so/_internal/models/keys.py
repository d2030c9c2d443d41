"""Reading a key or token from the environment, the same way for every backend."""

from __future__ import annotations

import os

from ..common.errors import BackendError

# What an HTTP header can carry: visible ASCII (a key or token never holds anything else).
_HEADER_SAFE = frozenset(map(chr, range(0x21, 0x7F)))


def secret_from(name: str, setting: str = "runner.api_key_env") -> str | None:
    """The value of the variable ``name``, without surrounding whitespace; None when unset or blank.

    Raises :class:`BackendError` naming ``setting`` and the variable (never the value) when the
    key holds what no HTTP header can carry: a line break inside it, a control or a non-ASCII
    character. Such a key failed every sample with an error that did not say the key was the
    cause ("Forbidden control character", or a connection error before anything was sent).
    """
    value = (os.environ.get(name) or "").strip()
    if not value:
        return None
    bad = sorted({c for c in value if c not in _HEADER_SAFE})
    if bad:
        shown = ", ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad[:5])
        raise BackendError(
            f"{setting}: the environment variable {name} holds {shown}, which an HTTP header cannot "
            "carry; a key is visible ASCII only (check how the variable was exported)"
        )
    return value
