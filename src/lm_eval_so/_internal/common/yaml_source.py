"""YAML loading that remembers where every value came from.

pydantic reports errors by location (``("runner", "params", "temperature")``); to turn that into
``pipeline.yaml:14: runner.params.temperature: ...`` we keep a map from location to line while
composing the document. ``${VAR}`` / ``${VAR:-default}`` interpolation happens here too, so an
unset variable is reported at the line that uses it.

The document loads exactly as ``yaml.safe_load`` loads it (anchors, aliases, merge keys
``<<:``), with four refusals, each a :class:`ConfigError` naming file and line:

* a key written twice in one mapping (``yaml.safe_load`` would keep the last silently; a key
  that a merge key brings in and the mapping then sets is an override, not a duplicate);
* nesting deeper than :data:`MAX_DEPTH` levels, aliases expanded (a 5,000-deep ``[[[...]]]``
  would exhaust Python's stack), and an alias inside the node it names (a recursive alias);
* aliases that expand to more than :data:`MAX_ALIAS_NODES` values in all (an "alias bomb": a
  few hundred bytes of ``&a [*b, *b, ...]`` that would expand to millions of values);
* text that is not text: control characters, bytes that are not UTF-8 (or UTF-16 with a BOM),
  NUL characters and unpaired surrogates (``"\\ud800"``) in values, integers too long for
  Python to read.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .redact import SECRET_NAME

Loc = tuple[str | int, ...]

#: Deepest nesting accepted, aliases expanded. Real pipelines nest fewer than 10 levels.
MAX_DEPTH = 100
#: Values that aliases may add to a document, in all. Reusing a block of settings through an
#: anchor a few dozen times stays far below; an alias bomb crosses it after a few lines.
MAX_ALIAS_NODES = 10_000

# ``$${`` escapes a literal ``${``; any other ``${`` must start a reference. A default may not
# hold ``${`` (references do not nest) nor ``}``.
_VAR = re.compile(r"\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-((?:(?!\$\{)[^}])*))?\})?")
_NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")
# The line breaks PyYAML counts (its marks, and so every line we report, count these).
_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


@dataclass
class YamlSource:
    """A parsed YAML document with the line of every location in it."""

    path: Path | None
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # interpolated values that are secret

    @property
    def name(self) -> str:
        return self.path.name if self.path else "<config>"

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing location that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.name}:{line}" if line else self.name


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path, env: Mapping[str, str] | None = None) -> YamlSource:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory with no pipeline.yaml in it") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_yaml(decode_yaml(data, path.name), path, env)


def decode_yaml(data: bytes, name: str) -> str:
    """The text of a YAML file: UTF-8 (a BOM is dropped), or UTF-16 when it starts with a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not data.startswith(b"\xff\xfe\x00\x00"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ConfigError(f"{name}: starts with a UTF-16 byte-order mark but is not UTF-16") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = len(_BREAK.findall(data[: exc.start].decode("utf-8", "replace"))) + 1
        raise ConfigError(
            f"{name}:{line}: not valid UTF-8 (byte {data[exc.start]:#04x}); save the file as UTF-8"
        ) from None


def parse_yaml(text: str, path: Path | None = None, env: Mapping[str, str] | None = None) -> YamlSource:
    source = YamlSource(path=path, data=None)
    try:
        loader = _Loader(text, source.name)
    except yaml.reader.ReaderError as exc:
        # Raised while the text is first checked, before any mark exists: count the lines.
        raise ConfigError(_reader_problem(exc, text, source.name)) from None
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_keys(node, (), source, set())
            source.data = loader.construct_document(node)
            _index_lines(node, (), source, loader)
    except yaml.reader.ReaderError as exc:
        raise ConfigError(_reader_problem(exc, text, source.name)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source.name}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source.name}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    source.data = _interpolate(source.data, (), source, os.environ if env is None else env)
    return source


# --------------------------------------------------------------------------- the loader


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses deep nesting, recursive aliases and alias bombs.

    While composing, each finished node's expanded size and height are recorded (an alias
    is only a reference, so this costs nothing extra); an alias then adds the size of what it
    names to a running total, and its height to the current depth.
    """

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self._name = name
        self._depth = 0
        self._size: dict[int, int] = {}
        self._height: dict[int, int] = {}
        self._alias_nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)  # an undefined alias raises
            if node is None or id(node) not in self._size:  # named node still being composed: contains itself
                raise ConfigError(
                    f"{self._name}:{line}: invalid YAML: the alias *{event.anchor} is inside the "
                    f"node &{event.anchor} it names (a recursive alias); this would never end"
                )
            if self._depth + self._height[id(node)] > MAX_DEPTH:
                raise ConfigError(f"{self._name}:{line}: invalid YAML: {_too_deep()}")
            self._alias_nodes += self._size[id(node)]
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise ConfigError(
                    f"{self._name}:{line}: invalid YAML: aliases (here *{event.anchor}) expand to "
                    f"more than {MAX_ALIAS_NODES:,} values in all; a pipeline never needs that many "
                    "(is this an alias bomb?)"
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ConfigError(f"{self._name}:{line}: invalid YAML: {_too_deep()}")
        node = super().compose_node(parent, index)
        self._depth -= 1
        if node is None:
            return None
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        self._size[id(node)] = 1 + sum(self._size[id(child)] for child in children)
        self._height[id(node)] = 1 + max((self._height[id(child)] for child in children), default=0)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # e.g. a date 2024-13-45: not a YAML error
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r}: {exc}", node.start_mark
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return int(super().construct_yaml_int(node))
        except ValueError:
            digits = sum(c.isdigit() for c in str(node.value))
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {digits:,} digits is more than any setting takes "
                f"(Python reads at most {sys.get_int_max_str_digits():,})",
                node.start_mark,
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep (aliases expanded); a pipeline never needs that"


def _line_at(text: str, position: int) -> int:
    return len(_BREAK.findall(text, 0, position)) + 1


def _reader_problem(exc: yaml.reader.ReaderError, text: str, name: str) -> str:
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    kind = "NUL" if char == 0 else "a control character"
    return (
        f"{name}:{_line_at(text, exc.position)}: invalid YAML: character U+{char:04X} ({kind}) is not "
        "allowed in YAML; is the file binary, or in an encoding other than UTF-8?"
    )


# --------------------------------------------------------------------------- keys and lines

_MERGE = "tag:yaml.org,2002:merge"


def _check_keys(node: yaml.Node, loc: Loc, source: YamlSource, seen_nodes: set[int]) -> None:
    """Refuse a key written twice in one mapping; each node is checked once, aliases or not.

    Runs before construction, which folds merge keys (``<<: *base``) into the mapping: a key
    the mapping sets after merging it in overrides it, as in ``yaml.safe_load``.
    """
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, Any], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                _check_keys(value_node, loc, source, seen_nodes)
                continue
            child = (*loc, str(key_node.value)) if isinstance(key_node, yaml.ScalarNode) else loc
            if isinstance(key_node, yaml.ScalarNode):
                key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if key in first:
                    raise ConfigError(
                        f"{source.name}:{line}: {format_loc(child)}: duplicate key "
                        f"(first defined on line {first[key]})"
                    )
                first[key] = line
            _check_keys(value_node, child, source, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_keys(item, (*loc, index), source, seen_nodes)


def _index_lines(node: yaml.Node, loc: Loc, source: YamlSource, loader: _Loader) -> None:
    """Record the line of every location, after construction folded the merge keys in.

    A mapping then lists merged pairs first and its own after them; as in the constructed
    dict, the last pair of a key wins, and its line (where that value is written) is kept.
    """
    source.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        winners: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                winners[_key(key_node, loader)] = (key_node, value_node)
        for key, (key_node, value_node) in winners.items():
            source.lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), source, loader)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), source, loader)


def _key(node: yaml.ScalarNode, loader: _Loader) -> str | int:
    """The key as the constructed dict (and so pydantic's error locations) has it."""
    key = loader.construct_object(node)
    return key if isinstance(key, (str, int)) else str(key)


# --------------------------------------------------------------------------- values


def _interpolate(value: Any, loc: Loc, source: YamlSource, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str):
                _check_text(key, (*loc, key), source, "the key")
        return {k: _interpolate(v, (*loc, k), source, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*loc, i), source, env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    value = _join_surrogate_pairs(value)
    _check_text(value, loc, source, "the value")
    if "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name is None:
            raise ConfigError(
                f"{source.where(loc)}: {format_loc(loc)}: malformed variable reference "
                f"{_reference_at(value, match.start())!r}; write ${{NAME}} or ${{NAME:-default}} (NAME: "
                "letters, digits and _, not starting with a digit), or $${ for a literal ${"
            )
        resolved = env.get(name)
        if resolved is None or (resolved == "" and default is not None):
            if default is None:
                raise ConfigError(
                    f"{source.where(loc)}: {format_loc(loc)}: environment variable {name} is not set"
                    f" (use ${{{name}:-default}} to give a default)"
                )
            resolved = default
        if SECRET_NAME.search(name) and resolved:
            source.secrets.add(resolved)
        return resolved

    result = _VAR.sub(substitute, value)
    _check_text(result, loc, source, "the value (after interpolation)")
    return result


def _reference_at(text: str, start: int) -> str:
    """The malformed reference as written: up to its ``}``, or a few characters on."""
    end = text.find("}", start)
    end = start + 30 if end < 0 or end - start > 30 else end + 1
    return text[start:end]


def _join_surrogate_pairs(text: str) -> str:
    """``"\\ud83d\\ude00"`` written JSON-style reads as two halves in YAML: join them into the
    one character they encode (an unpaired half stays, and is refused)."""
    if not _NOT_TEXT.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _check_text(text: str, loc: Loc, source: YamlSource, what: str) -> None:
    """NUL characters and unpaired surrogates (from ``"\\0"``, ``"\\ud800"``) are not text."""
    found = _NOT_TEXT.search(text)
    if found is None:
        return
    char = found.group(0)
    kind = "a NUL character" if char == "\0" else f"an unpaired surrogate (U+{ord(char):04X}): not text"
    raise ConfigError(f"{source.where(loc)}: {format_loc(loc) or '<top>'}: {what} holds {kind}; remove it")
