"""Token usage as servers and apps report it, read in one place.

Accepts a mapping (JSON replies, llama-cpp-python, a python app's ``{"usage": {...}}``) or an
object with attributes (SDK models). Prompt and completion tokens must be whole, non-negative
numbers; anything else (missing, ``null``, a string, a negative count) is *unknown usage*
(None), never a made-up 0, so cost stays honest (see ``pricing.cost_of``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..common.records import Usage


def parse_usage(raw: Any) -> Usage | None:
    """``{"prompt_tokens": 3, "completion_tokens": 2}`` -> ``Usage(3, 2, 5)``; unknown -> None.

    ``total_tokens`` is taken when given and consistent, else prompt + completion.
    """
    if raw is None:
        return None

    def get(key: str) -> Any:
        return raw.get(key) if isinstance(raw, Mapping) else getattr(raw, key, None)

    prompt, completion = _count(get("prompt_tokens")), _count(get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    total = _count(get("total_tokens"))
    if total is None or total < prompt + completion:
        total = prompt + completion
    return Usage.model_construct(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value < 0 or value != int(value):
        return None
    return int(value)
