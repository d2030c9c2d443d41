"""JSON metrics: ``json_valid`` (the output parses) and ``json_schema`` (it validates).

A model often wraps JSON in a Markdown fence; ``strip_fences`` (on by default) accepts that.
``json_schema`` needs the ``jsonschema`` package (extra ``[metrics]``), imported lazily.
The output arrives in Unicode NFC (as every metric's text does) and the schema's strings are
put in NFC too, so an ``enum`` or ``const`` written with combining accents still matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...common.errors import ConfigError
from ...common.records import DatasetSample, RunResult
from .base import Metric, MetricScore
from .extras import require
from .normalize import nfc_json

_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def parse_json(text: str, strip_fences: bool) -> tuple[Any, str | None]:
    """The parsed value and None, or None and the parser's complaint."""
    if strip_fences and (fenced := _FENCE.match(text)):
        text = fenced.group(1)
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at line {exc.lineno} column {exc.colno}"


class JsonValidOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strip_fences: bool = Field(True, description="Accept JSON inside a ```json fence.")


class JsonValid(Metric):
    """The output is valid JSON."""

    name: ClassVar[str] = "json_valid"
    Options = JsonValidOptions
    options: JsonValidOptions
    requires_expected: ClassVar[bool] = False

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        _, error = parse_json(result.output or "", self.options.strip_fences)
        return MetricScore(float(error is None), error is None, {"error": error} if error else {})


class JsonSchemaOptions(JsonValidOptions):
    schema_: dict[str, Any] | None = Field(None, alias="schema", description="The JSON Schema, inline.")
    schema_file: str | None = Field(None, description="A JSON Schema file, relative to pipeline.yaml.")

    @model_validator(mode="after")
    def _one_schema(self) -> JsonSchemaOptions:
        if (self.schema_ is None) == (self.schema_file is None):
            raise ValueError("give exactly one of `schema` and `schema_file`")
        if self.schema_ is not None:
            check_schema(self.schema_)
        return self


def check_schema(schema: dict[str, Any]) -> None:
    jsonschema = require("jsonschema", "metrics", "json_schema")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None


class JsonSchema(Metric):
    """The output is JSON that validates against a JSON Schema."""

    name: ClassVar[str] = "json_schema"
    Options = JsonSchemaOptions
    options: JsonSchemaOptions
    requires_expected: ClassVar[bool] = False

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._validator: Any = None

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        value, error = parse_json(result.output or "", self.options.strip_fences)
        if error is not None:
            return MetricScore(0.0, False, {"error": f"not JSON: {error}"})
        problems = sorted(self._get_validator().iter_errors(value), key=lambda e: list(e.path))
        if problems:
            first = problems[0]
            where = "/".join(str(p) for p in first.path) or "(root)"
            return MetricScore(0.0, False, {"error": f"{where}: {first.message}", "errors": len(problems)})
        return MetricScore(1.0, True)

    @classmethod
    def check_at_load(cls, options: BaseModel, base_dir: Path) -> Iterable[tuple[str, str]]:
        """A ``schema_file`` reads, parses and is a valid JSON Schema."""
        assert isinstance(options, JsonSchemaOptions)
        if options.schema_file is None:
            return []
        try:
            read_schema_file(options.schema_file, base_dir)
        except ConfigError as exc:
            return [("schema_file", str(exc))]
        return []

    def _get_validator(self) -> Any:
        if self._validator is None:
            jsonschema = require("jsonschema", "metrics", "json_schema")
            schema = self.options.schema_
            if schema is None:
                try:
                    schema = read_schema_file(self.options.schema_file or "", self.context.base_dir)
                except ConfigError as exc:
                    raise ConfigError(f"json_schema: {exc}") from None
            schema = nfc_json(schema)
            self._validator = jsonschema.validators.validator_for(schema)(schema)
        return self._validator


def read_schema_file(name: str, base_dir: Path) -> dict[str, Any]:
    """The JSON Schema in ``name`` (relative to the pipeline's folder), checked."""
    path = Path(name).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"cannot read schema_file {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"cannot read schema_file {path}: it is a directory") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"cannot read schema_file {path}: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"schema_file {path}: a JSON Schema is an object, not {type(schema).__name__}")
    try:
        check_schema(schema)
    except ValueError as exc:
        raise ConfigError(f"schema_file {path}: {exc}") from None
    return schema
