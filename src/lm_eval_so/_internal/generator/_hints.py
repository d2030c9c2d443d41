"""Small helpers for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, options: Iterable[str], *, fmt: str = "{!r}") -> str:
    """``" (did you mean 'question'?)"`` when a close match exists, else ``""``."""
    candidates = list(options)
    # A case slip ("Question" for "question") is the commonest typo: try it first.
    close = [c for c in candidates if c.lower() == word.lower()][:1]
    close = close or difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {fmt.format(close[0])}?)" if close else ""


def listing(names: Iterable[str]) -> str:
    return ", ".join(names) or "(none)"
