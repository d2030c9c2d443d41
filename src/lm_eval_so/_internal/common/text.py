"""Text facts every layer must agree on: what counts as blank, and the canonical form.

The generator refuses blank references and the evaluator refuses them again (a dataset.jsonl
may be written by hand); both ask :func:`is_blank`, so they cannot disagree. Metrics compare
text in Unicode Normalization Form C (:func:`nfc`): ``"Café"`` typed as one code point and as
``e`` + combining acute are the same answer.
"""

from __future__ import annotations

import math
import unicodedata


def is_blank(text: str) -> bool:
    """True when ``text`` has nothing visible: only whitespace and invisible format characters.

    Format characters (Unicode category ``Cf``: zero-width space, byte-order mark, joiners)
    count as blank too: a cell holding only ``"\\u200b"`` is as empty as one holding ``" "``.
    """
    return all(char.isspace() or unicodedata.category(char) == "Cf" for char in text)


def nfc(text: str) -> str:
    """``text`` in Unicode Normalization Form C (canonical composition); unchanged if it is.

    Canonically equivalent strings (precomposed ``é`` and ``e`` + U+0301) become identical.
    NFC never changes meaning; the compatibility forms (NFKC) do, so those are opt-in.
    """
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def usd(value: float | None, unknown: str = "unknown") -> str:
    """A cost in US dollars for people: ``$0.0123``; ``unknown`` when it cannot be known.

    Four decimals, except that a cost above zero which would round to ``$0.0000`` gets two
    significant digits (``$0.0000021``): written as ``$0.0000`` it would look free.
    ``$0.0000`` is only ever zero.
    """
    if value is None:
        return unknown
    return f"${_dollars(value)}"


def usd_delta(value: float | None, unknown: str = "-") -> str:
    """A signed difference of costs: ``+$0.0123``, ``-$0.0000021``; ``unknown`` if unknowable."""
    if value is None:
        return unknown
    return f"{'-' if value < 0 else '+'}${_dollars(abs(value))}"


def _dollars(value: float) -> str:
    if abs(value) > 0 and round(value, 4) == 0:
        return f"{value:.{1 - math.floor(math.log10(abs(value)))}f}"
    return f"{value:.4f}"
