"""Render ``generator.prompt`` into chat messages.

``{name}`` is a placeholder when ``name`` is an identifier: any source column, or ``input``,
``expected`` and ``id`` (the mapped values, which win over a column of the same name).
``{{`` and ``}}`` are literal braces. Any other brace is kept as written, so a template may hold
JSON (``{"answer": ...}``) without escaping — friendlier than :meth:`str.format`, which fails on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..common.config import PromptConfig
from ..common.errors import DatasetError
from ..common.records import Message
from ._hints import did_you_mean, listing
from .sources import json_text

MAPPED = ("id", "input", "expected")
# `[^\W\d]\w*` is an identifier in any script, so columns like `frage` or `質問` work too.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^\W\d]\w*)\}")


class Template:
    """One template string, parsed once into literal text and placeholder names."""

    def __init__(self, text: str, field: str) -> None:
        self.field = field
        # Even indices are literal text, odd indices are placeholder names.
        self._parts: list[str] = []
        literal: list[str] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            literal.append(text[pos : match.start()])
            pos = match.end()
            if match.group(1) is None:  # `{{` or `}}`
                literal.append(match.group(0)[0])
            else:
                self._parts += ["".join(literal), match.group(1)]
                literal = []
        literal.append(text[pos:])
        self._parts.append("".join(literal))

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(self._parts[1::2]))

    def check(self, columns: Sequence[str], source_name: str, origin: str | None = None) -> None:
        """Fail on the first placeholder that is neither a column nor a mapped field."""
        available = [*MAPPED, *(c for c in columns if c not in MAPPED)]
        for name in self.names:
            if name in available:
                continue
            prefix = f"{origin}: " if origin else ""
            hint = did_you_mean(name, available, fmt="{{{}}}")
            raise DatasetError(
                f"{prefix}{self.field}: unknown placeholder {{{name}}}{hint}; available: "
                f"{{id}}, {{input}}, {{expected}} and the columns of {source_name}: "
                f"{listing(columns)} (write {{{{ and }}}} for literal braces)"
            )

    def render(self, values: Mapping[str, Any], location: str) -> str:
        out = list(self._parts)
        for index in range(1, len(out), 2):
            name = out[index]
            if name not in values:
                # Only JSON/JSONL rows can lack a column that other rows have.
                raise DatasetError(f"{location}: {self.field}: no column {name!r} in this row")
            out[index] = as_text(values[name])
        return "".join(out)


def as_text(value: Any) -> str:
    """How a value reads inside a prompt: strings as they are, other JSON values as JSON.

    Numbers read as written in the source (``1.10``, ``1e3``), also inside lists and objects.
    """
    return "" if value is None else json_text(value)


class PromptRenderer:
    """``generator.prompt`` checked against the source's columns once, then rendered per row."""

    def __init__(
        self,
        prompt: PromptConfig,
        columns: Sequence[str],
        source_name: str,
        origin: str | None = None,
    ) -> None:
        self.system = Template(prompt.system, "generator.prompt.system") if prompt.system else None
        self.user = Template(prompt.template, "generator.prompt.template")
        for template in (self.system, self.user):
            if template is not None:
                template.check(columns, source_name, origin)

    def render(self, values: Mapping[str, Any], location: str) -> list[Message]:
        messages = []
        if self.system is not None:
            messages.append(Message(role="system", content=self.system.render(values, location)))
        messages.append(Message(role="user", content=self.user.render(values, location)))
        return messages
