"""Text normalisers shared by the string metrics (``normalize: [strip, lower, ...]``).

The steps always run in one fixed order, whatever order the config lists them in:
``numbers`` must see the digits before ``punctuation`` removes their separators, and ``strip``
runs last because removing punctuation can leave spaces at the ends.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

Step = Literal["strip", "lower", "punctuation", "whitespace", "numbers"]
STEPS: tuple[Step, ...] = get_args(Step)

# A numeral not glued to a word: "1,000.50", "-3.0", "42", ".5". Thousands separators only in
# groups of three, so "1,2" (a list) stays alone. A preceding "." or "," means we are inside a
# longer token ("1.2.3", "a,1") and must not start there.
_NUMBER = re.compile(r"(?<![\w.,])([-+]?)(?:(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?|(\.\d+))(?!\w|[.,]\d)")


def _canonical_number(match: re.Match[str]) -> str:
    sign, whole, fraction, bare_fraction = match.groups()
    text = f"{sign}{(whole or '0').replace(',', '')}{fraction or bare_fraction or ''}"
    try:
        value = Decimal(text)
    except InvalidOperation:  # cannot happen for what the pattern matches; keep the text
        return match.group(0)
    if value == 0:
        return "0"  # also folds "-0" and "0.00"
    # normalize() drops trailing zeros ("1000.50" -> "1000.5") but may switch to exponent form
    # ("1E+3"); the "f" format turns that back into plain digits.
    return format(value.normalize(), "f")


def canonical_numbers(text: str) -> str:
    """``"1,000.50"`` -> ``"1000.5"``, ``"3.0"`` -> ``"3"``, ``"+7"`` -> ``"7"``."""
    return _NUMBER.sub(_canonical_number, text)


def remove_punctuation(text: str) -> str:
    """Drop every Unicode punctuation character (categories P*), not only ASCII ones.

    A "." or "," between two digits is part of a number and stays: otherwise "3.5" would
    equal "35".
    """
    kept = []
    for i, char in enumerate(text):
        if unicodedata.category(char).startswith("P") and not _inside_number(text, i):
            continue
        kept.append(char)
    return "".join(kept)


def _inside_number(text: str, i: int) -> bool:
    return text[i] in ".," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()


def collapse_whitespace(text: str) -> str:
    """Runs of any whitespace become one space; the ends are trimmed."""
    return " ".join(text.split())


_ORDERED: tuple[tuple[Step, Callable[[str], str]], ...] = (
    ("numbers", canonical_numbers),
    ("punctuation", remove_punctuation),
    # casefold, not lower: "Straße" and "STRASSE" should compare equal.
    ("lower", str.casefold),
    ("whitespace", collapse_whitespace),
    ("strip", str.strip),
)


def normalizer(steps: Iterable[Step]) -> Callable[[str], str]:
    """One function applying ``steps`` in the fixed order above."""
    wanted = set(steps)
    chain = [fn for name, fn in _ORDERED if name in wanted]

    def apply(text: str) -> str:
        for fn in chain:
            text = fn(text)
        return text

    return apply
