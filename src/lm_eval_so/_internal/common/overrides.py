"""``--set dotted.key=value``: the command line's way to change one field of a pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from .errors import ConfigError


def parse_override(text: str) -> tuple[str, Any]:
    """``"runner.params.temperature=0.7"`` -> ``("runner.params.temperature", 0.7)``.

    The value is read as a YAML scalar or flow collection (``0.7``, ``true``, ``null``,
    ``[a, b]``, ``{rpm: 60}``), so it means what it would mean in pipeline.yaml. Raises
    :class:`ConfigError` for text without ``=`` or with an empty key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: expected dotted.key=value, e.g. runner.params.temperature=0.7")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({exc.__class__.__name__})") from None
    return key, value


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Every ``--set`` in order; a later one for the same key wins."""
    return dict(parse_override(item) for item in items)
