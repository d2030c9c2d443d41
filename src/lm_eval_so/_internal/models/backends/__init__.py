"""The built-in backends. Each imports its SDK lazily, so listing them costs nothing.

``EXTRAS`` says which optional dependency each needs: (importable module, extra name). It is
what ``lm-eval-so plugins`` shows as missing, without importing any backend.
"""

from __future__ import annotations

import importlib.util

EXTRAS: dict[str, tuple[str, str]] = {
    "llamacpp": ("llama_cpp", "local"),
    "anthropic": ("anthropic", "anthropic"),
    "gemini": ("google.genai", "gemini"),
    "bedrock": ("boto3", "bedrock"),
    "litellm": ("litellm", "litellm"),
}


def module_missing(module: str) -> bool:
    """True when ``module`` (dotted names too) cannot be imported; nothing is imported to tell."""
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # the parent package of a dotted module is missing
        return True


def missing_extra(backend: str) -> str | None:
    """``"[anthropic]"`` when the built-in ``backend`` needs an extra that is not installed."""
    found = EXTRAS.get(backend)
    if found is None:
        return None
    module, extra = found
    return f"[{extra}]" if module_missing(module) else None
