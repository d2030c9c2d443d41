"""Source readers: turn a raw file into rows of ``column -> value``.

Built-ins (CSV, JSONL, JSON) register through the ``lm_eval_so.sources`` entry points, the same
way a third-party plugin does. A plugin subclasses :class:`Source`::

    class ParquetSource(Source):
        format = "parquet"
        suffixes = (".parquet",)

        def read(self, path: Path) -> Iterator[SourceRow]:
            ...

and declares ``[project.entry-points."lm_eval_so.sources"] parquet = "pkg.mod:ParquetSource"``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from ..common.errors import DatasetError, PluginError
from ..common.registry import CORE_DIST, registry

#: Deepest nesting of a JSON value accepted in a row. Deeper values cannot be written to
#: dataset.jsonl (pydantic stops at ~250 levels) and real data never nests this far.
MAX_JSON_DEPTH = 100

# The csv module refuses fields over 128 KiB by default; a long document in one cell is real
# data. The limit is process-wide, so it is only ever raised, never lowered.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


@dataclass(frozen=True)
class SourceRow:
    """One record of a source file.

    ``location`` is for humans and error messages: ``"raw.csv:7"`` (the physical line where the
    record starts) or ``"data.json: item 3"``. ``values`` maps column names to values; built-in
    readers give strings (CSV) or JSON values (JSON, JSONL), whose numbers remember the text
    they were written as (:class:`JsonInt`, :class:`JsonFloat`): ``1.10`` becomes the text
    ``"1.10"``, not ``"1.1"``, wherever it is turned into text. A plugin source that wants its
    numbers kept as written yields them as strings.
    """

    location: str
    values: dict[str, Any]


class Source(ABC):
    """A reader for one file format.

    Subclasses set ``format`` (the name users write in ``generator.format``) and ``suffixes``
    (lower-case, with the dot, e.g. ``(".csv",)``; used to infer the format from the file name),
    and implement :meth:`read`. They are instantiated with no arguments. :meth:`read` raises
    :class:`~lm_eval_so.DatasetError` with a one-line message naming the file and
    line for anything wrong in the file; it never needs to check that mapped columns exist.
    """

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def read(self, path: Path) -> Iterator[SourceRow]:
        """Yield the rows of ``path`` in file order.

        Called more than once per build (the generator reads columns first, then samples,
        rather than holding every row), so it must read the file afresh each time.
        """


def read_text(path: Path) -> str:
    """The file's text, decoded as UTF-8 (a BOM is dropped), with friendly errors.

    Available to plugins that parse text formats.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: source file not found (generator.source)") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read source file: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Decode the whole file at once so the offset, and so the line, is exact.
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(
            f"{path.name}:{line}: not valid UTF-8 (byte {data[exc.start]:#04x}); {_save_as_utf8(data)}"
        ) from None


def _save_as_utf8(start: bytes) -> str:
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the file is UTF-16 (it starts with a UTF-16 byte-order mark): save it as UTF-8"
    return "save the file as UTF-8"


# --------------------------------------------------------------------------- built-ins


class CsvSource(Source):
    """Comma-separated values with a header row; every value is a string."""

    format = "csv"
    suffixes = (".csv",)

    def read(self, path: Path) -> Iterator[SourceRow]:
        try:
            yield from self._rows(path)
        except UnicodeDecodeError:
            read_text(path)  # decodes the whole file to name the exact line, and raises
            raise

    def _rows(self, path: Path) -> Iterator[SourceRow]:
        # Streamed from the file, not read whole: a big source must not sit in memory as text.
        # newline="" keeps line breaks inside quoted fields intact, as the csv module requires.
        with _open_text(path) as handle:
            reader = csv.reader(handle, strict=True)
            header: list[str] | None = None
            header_line = 0
            end = 0  # last physical line consumed: the next record starts just after it
            while True:
                start = end + 1
                try:
                    fields = next(reader, None)
                except csv.Error as exc:
                    # Name the line where the bad record starts: an unclosed quote runs to the end.
                    raise DatasetError(f"{path.name}:{start}: malformed CSV: {exc}") from None
                end = reader.line_num
                if fields is None:
                    break
                if _blank(fields):
                    continue
                if any("\0" in field for field in fields):
                    raise DatasetError(
                        f"{path.name}:{start}: a NUL character (\\0) in the data: is this a binary or "
                        "UTF-16 file? save it as UTF-8 text"
                    )
                if header is None:
                    header, header_line = _check_header(fields, path.name, start), start
                    continue
                if len(fields) != len(header):
                    raise DatasetError(
                        f"{path.name}:{start}: row has {len(fields)} fields, the header "
                        f"(line {header_line}) has {len(header)}"
                    )
                yield SourceRow(f"{path.name}:{start}", dict(zip(header, fields, strict=True)))
        if header is None:
            raise DatasetError(f"{path.name}: empty CSV file: a header row is required")


def _open_text(path: Path) -> io.TextIOWrapper:
    """``path`` as UTF-8 text (a BOM is dropped), lines split as ``newline=""`` does."""
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DatasetError(f"{path}: source file not found (generator.source)") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read source file: {exc.strerror}") from None


def _blank(fields: list[str]) -> bool:
    # An empty line reads as []; a line of spaces as one whitespace-only field.
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _check_header(fields: list[str], name: str, line: int) -> list[str]:
    seen: set[str] = set()
    for column in fields:
        if column in seen:
            raise DatasetError(f"{name}:{line}: the header names column {column!r} twice")
        seen.add(column)
    return fields


class JsonInt(int):
    """A JSON integer that remembers its text (``-0`` stays ``-0``); otherwise an ``int``."""

    written: str

    def __new__(cls, text: str) -> JsonInt:
        number = super().__new__(cls, text)
        number.written = text
        return number


class JsonFloat(float):
    """A JSON number with a fraction or exponent that remembers its text (``1.10``, ``1e3``)."""

    written: str

    def __new__(cls, text: str) -> JsonFloat:
        number = super().__new__(cls, text)
        number.written = text
        return number


class JsonValueError(DatasetError):
    """A JSON text that parses but holds something no sample can: see :func:`parse_json`."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def parse_json(text: str) -> Any:
    """``json.loads`` keeping every number's written text (see :class:`SourceRow`).

    Raises :class:`json.JSONDecodeError` for text that is not JSON, and
    :class:`JsonValueError` for JSON that is no sample's data: ``NaN``/``Infinity`` (not JSON
    numbers), integers longer than Python reads, values nested deeper than
    :data:`MAX_JSON_DEPTH`, and strings holding an unpaired surrogate escape (``"\\ud800"``:
    not text, and no UTF-8 file can store it).
    """
    try:
        value = json.loads(text, parse_int=_json_int, parse_float=JsonFloat, parse_constant=_json_constant)
    except RecursionError:
        raise JsonValueError(_TOO_DEEP, _deep_line(text)) from None
    except JsonValueError as exc:
        exc.line = _line_of(_BIG_INT, text)
        raise
    try:
        check_json_value(value)
    except JsonValueError as exc:
        exc.line = _deep_line(text) if str(exc) == _TOO_DEEP else _line_of(_LONE_SURROGATE, text)
        raise
    return value


_TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep"
_BIG_INT = re.compile(rf"\d{{{sys.get_int_max_str_digits() + 1},}}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<![0-9a-fA-F]{4})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}\n]')


def _line_of(pattern: re.Pattern[str], text: str) -> int | None:
    found = pattern.search(text)
    return None if found is None else text.count("\n", 0, found.start()) + 1


def _json_int(text: str) -> JsonInt:
    try:
        return JsonInt(text)
    except ValueError:
        raise JsonValueError(
            f"an integer of {len(text.lstrip('-')):,} digits is longer than Python reads "
            f"({sys.get_int_max_str_digits():,}); write it as a string"
        ) from None


def _json_constant(name: str) -> Any:
    raise JsonValueError(f"{name} is not a JSON number; write null, a number or a string")


def check_json_value(value: Any) -> None:
    """Raise :class:`JsonValueError` when ``value`` nests too deep or holds a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise JsonValueError(_TOO_DEEP)
        if isinstance(item, str):
            _check_surrogates(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_surrogates(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_surrogates(text: str) -> None:
    found = _SURROGATE.search(text)
    if found is not None:
        raise JsonValueError(
            f"the string {text[:40]!r} holds an unpaired surrogate (\\u{ord(found.group(0)):04x}), which "
            "is not text; a surrogate escape must come in a pair (\\ud83d\\ude00)"
        )


def _deep_line(text: str) -> int | None:
    """The line where ``text`` first nests deeper than :data:`MAX_JSON_DEPTH` (strings skipped)."""
    depth, line = 0, 1
    for token in _JSON_TOKEN.finditer(text):
        char = token.group(0)
        if char == "\n":
            line += 1
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return line
        elif char in "]}":
            depth -= 1
    return None


def json_text(value: Any) -> str:
    """A JSON value as text, numbers exactly as written in the source: ``1.10`` -> ``"1.10"``.

    Strings are returned as they are; lists and objects as compact-ish JSON (``[1.10, "a"]``).
    """
    if isinstance(value, str):
        return value
    return _json_literal(value)


def _json_literal(value: Any) -> str:
    if isinstance(value, (JsonInt, JsonFloat)):
        return value.written
    if isinstance(value, list):
        return "[" + ", ".join(_json_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(str(k), ensure_ascii=False)}: {_json_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return json.dumps(value, ensure_ascii=False)


class JsonlSource(Source):
    """One JSON object per line; blank lines are skipped."""

    format = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def read(self, path: Path) -> Iterator[SourceRow]:
        # Line by line from the file; split at b"\n" only, like split("\n") on the text:
        # U+2028 and friends may legally sit inside JSON strings.
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                line = _decode(raw, number, path)
                if not line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    value = parse_json(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
                except JsonValueError as exc:
                    raise DatasetError(f"{where}: {exc}") from None
                if not isinstance(value, dict):
                    raise DatasetError(f"{where}: expected a JSON object, got {json_kind(value)}")
                yield SourceRow(where, value)


def _open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise DatasetError(f"{path}: source file not found (generator.source)") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read source file: {exc.strerror}") from None


def _decode(raw: bytes, number: int, path: Path) -> str:
    try:
        # The first line may start with a BOM, which is dropped as read_text drops it.
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path.name}:{number}: not valid UTF-8 (byte {raw[exc.start]:#04x}); save the file as UTF-8"
        ) from None


class JsonSource(Source):
    """A JSON list of objects, or an object holding exactly one such list (``{"data": [...]}``)."""

    format = "json"
    suffixes = (".json",)

    def read(self, path: Path) -> Iterator[SourceRow]:
        try:
            document = parse_json(read_text(path))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path.name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except JsonValueError as exc:
            line = f":{exc.line}" if exc.line else ""
            raise DatasetError(f"{path.name}{line}: {exc}") from None
        items = _find_items(document, path.name)
        for number, item in enumerate(items, start=1):
            where = f"{path.name}: item {number}"
            if not isinstance(item, dict):
                raise DatasetError(f"{where}: expected a JSON object, got {json_kind(item)}")
            yield SourceRow(where, item)


def _find_items(document: Any, name: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        lists = [key for key, value in document.items() if isinstance(value, list)]
        if len(lists) == 1:
            return list(document[lists[0]])
        if len(lists) > 1:
            raise DatasetError(
                f"{name}: the top-level object has several lists ({', '.join(lists)}); "
                "keep one, or make the file a list of objects"
            )
    raise DatasetError(
        f"{name}: expected a list of objects, or an object with one list of objects "
        f'(like {{"data": [...]}}), got {json_kind(document)}'
    )


def json_kind(value: Any) -> str:
    """How a JSON value reads in an error message: "a list", "a string", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return next((kind for cls, kind in kinds.items() if isinstance(value, cls)), type(value).__name__)


# --------------------------------------------------------------------------- resolution


def resolve_source(path: Path, fmt: str | None) -> Source:
    """The reader for ``path``: ``generator.format`` if given, else the one claiming the suffix."""
    if fmt is not None:
        return _instantiate(registry.get("sources", fmt), fmt)
    name = path.name.lower()
    claims: list[tuple[int, bool, str, Any]] = []
    for plugin in registry.names("sources"):
        try:
            obj = registry.get("sources", plugin)
        except PluginError:
            continue  # a broken plugin must not break formats it does not handle
        for suffix in getattr(obj, "suffixes", ()):
            if name.endswith(suffix.lower()):
                core = registry.info("sources", plugin).dist == CORE_DIST
                claims.append((len(suffix), core, plugin, obj))
    if not claims:
        known = ", ".join(registry.names("sources"))
        raise DatasetError(
            f"{path.name}: cannot tell the format from the suffix {path.suffix or '(none)'!r}; "
            f"set generator.format to one of: {known}"
        )
    # The most specific suffix wins (".csv.gz" over ".gz"); on a tie, the built-in reader.
    _, _, plugin, obj = max(claims, key=lambda claim: claim[:3])
    return _instantiate(obj, plugin)


def _instantiate(obj: Any, name: str) -> Source:
    source = obj() if isinstance(obj, type) else obj
    if not callable(getattr(source, "read", None)):
        raise PluginError(f"source {name!r} ({obj!r}) has no read(path) method")
    return source  # type: ignore[no-any-return]
