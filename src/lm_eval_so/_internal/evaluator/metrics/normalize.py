"""Text normalisers shared by the string metrics (``normalize: [strip, lower, ...]``).

Every normaliser first puts text in Unicode Normalization Form C, whatever steps are listed:
canonically equivalent strings (``"Café"`` precomposed, or ``e`` + U+0301) always compare
equal. The evaluator also hands every metric, plugins included, its texts in NFC (see
:class:`~lm_eval_so._internal.evaluator.metrics.base.Metric`); this module is the one place that says how.
The opt-in step ``nfkc`` goes further and folds compatibility forms (full-width ``４２`` to
``42``, the ligature ``ﬁ`` to ``fi``), which can change meaning, so it is never implied.

The steps always run in one fixed order, whatever order the config lists them in: ``nfkc``
first (so the other steps see plain characters), ``numbers`` must see the digits before
``punctuation`` removes their separators, and ``strip`` runs last because removing
punctuation can leave spaces at the ends.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from ...common.errors import DatasetError
from ...common.records import DatasetSample
from ...common.text import nfc

Step = Literal["strip", "lower", "punctuation", "whitespace", "numbers", "nfkc"]
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


def fold_case(text: str) -> str:
    """Case-insensitive form: ``casefold`` (``"Straße"`` = ``"STRASSE"``), then NFC again.

    Case folding can decompose (``"ǰ"`` folds to ``j`` + U+030C), so the result is
    re-composed: the idea of the Unicode Standard's canonical caseless match (section 3.13,
    D145: normalise, fold, normalise again), with NFC where the standard writes NFD.
    """
    return nfc(text.casefold())


def compatibility_form(text: str) -> str:
    """NFKC: full-width and other compatibility characters become their plain equivalents."""
    return unicodedata.normalize("NFKC", text)


_ORDERED: tuple[tuple[Step, Callable[[str], str]], ...] = (
    ("nfkc", compatibility_form),
    ("numbers", canonical_numbers),
    ("punctuation", remove_punctuation),
    # casefold, not lower: "Straße" and "STRASSE" should compare equal.
    ("lower", fold_case),
    ("whitespace", collapse_whitespace),
    ("strip", str.strip),
)


def normalizer(steps: Iterable[Step]) -> Callable[[str], str]:
    """One function applying NFC, then ``steps`` in the fixed order above."""
    wanted = set(steps)
    chain = [nfc, *(fn for name, fn in _ORDERED if name in wanted)]

    def apply(text: str) -> str:
        for fn in chain:
            text = fn(text)
        return text

    return apply


def normalized_references(
    sample: DatasetSample, norm: Callable[[str], str], metric: str, steps: Iterable[Step]
) -> list[str]:
    """The sample's expected answers through ``norm``; a DatasetError if one normalises to "".

    ``"?"`` with ``punctuation`` or ``"..."`` is no reference at all once normalised: as a
    ``contains`` needle the empty string is found in every output, and as an ``exact_match``
    target it passes an empty answer. Such a sample is refused, naming it, the reference and
    the steps, rather than scored.
    """
    normalised = []
    for text in sample.expected_list():
        got = norm(text)
        if not got:
            listed = ", ".join(name for name, _ in _ORDERED if name in set(steps)) or "none"
            raise DatasetError(
                f"sample {sample.id!r}: expected {text!r} is empty after normalisation "
                f"(normalize: [{listed}]), so {metric} would score it against any output; "
                "fix the reference or drop a normalize step"
            )
        normalised.append(got)
    return normalised


def nfc_json(value: Any) -> Any:
    """A JSON value with every string (keys included) in NFC, e.g. a JSON Schema's ``enum``."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list):
        return [nfc_json(item) for item in value]
    if isinstance(value, dict):
        return {nfc(str(key)): nfc_json(item) for key, item in value.items()}
    return value
