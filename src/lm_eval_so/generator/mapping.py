"""Map source rows to :class:`DatasetSample` records (``generator.fields``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..common.config import FieldMap
from ..common.errors import DatasetError
from ..common.records import DatasetSample
from ._hints import did_you_mean, listing
from .prompts import PromptRenderer
from .sources import SourceRow, json_kind


@dataclass(frozen=True)
class ColumnPlan:
    """Which source column feeds each sample field; ``None``: not in this dataset."""

    id: str | None
    input: str
    expected: str | None

    @property
    def mapped(self) -> set[str]:
        return {c for c in (self.id, self.input, self.expected) if c is not None}


def columns_of(rows: Iterable[SourceRow]) -> list[str]:
    """Every column, in order of first appearance (JSON rows need not share their keys)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row.values))
    return list(seen)


def plan_columns(fields: FieldMap, columns: Sequence[str], source_name: str) -> ColumnPlan:
    """Check the configured columns exist; a missing one names file, column and config field."""

    def require(field: str, column: str) -> str:
        if column not in columns:
            raise DatasetError(
                f"{source_name}: column {column!r} (generator.fields.{field}) not found"
                f"{did_you_mean(column, columns)}; columns: {listing(columns)}"
            )
        return column

    # Unset `id` uses an `id` column when there is one (a CSV with ids should keep them), else
    # row numbers. The default `expected` column is optional: a dataset without references is
    # fine. Columns the user named explicitly must exist.
    id_column = fields.id if fields.id is not None or "id" not in columns else "id"
    expected = fields.expected
    if expected is not None and expected not in columns and "expected" not in fields.model_fields_set:
        expected = None
    return ColumnPlan(
        id=None if id_column is None else require("id", id_column),
        input=require("input", fields.input),
        expected=None if expected is None else require("expected", expected),
    )


def make_samples(rows: Sequence[SourceRow], plan: ColumnPlan, prompt: PromptRenderer) -> list[DatasetSample]:
    samples: list[DatasetSample] = []
    first_seen: dict[str, str] = {}  # id -> location, to name both rows of a duplicate
    for number, row in enumerate(rows, start=1):
        sample = make_sample(row, number, plan, prompt)
        if sample.id in first_seen:
            raise DatasetError(
                f"{row.location}: duplicate id {sample.id!r} (first at {first_seen[sample.id]})"
            )
        first_seen[sample.id] = row.location
        samples.append(sample)
    return samples


def make_sample(row: SourceRow, number: int, plan: ColumnPlan, prompt: PromptRenderer) -> DatasetSample:
    sample_id = str(number) if plan.id is None else _required(row, plan.id, "id")
    text = _required(row, plan.input, "input")
    expected = None if plan.expected is None else _expected(row, plan.expected)
    # The mapped values win over source columns of the same name in placeholders.
    values = {**row.values, "id": sample_id, "input": text, "expected": expected}
    return DatasetSample(
        id=sample_id,
        input=text,
        expected=expected,
        messages=prompt.render(values, row.location),
        metadata={k: v for k, v in row.values.items() if k not in plan.mapped},
    )


def _required(row: SourceRow, column: str, field: str) -> str:
    value = row.values.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DatasetError(f"{row.location}: column {column!r} (generator.fields.{field}) is empty")
    return _scalar(value, row.location, column)


def _expected(row: SourceRow, column: str) -> str | list[str] | None:
    # An empty reference is "none for this sample": the evaluator knows whether a metric needs one.
    value = row.values.get(column)
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):  # several acceptable answers
        return [_scalar(item, row.location, column) for item in value]
    return _scalar(value, row.location, column)


def _scalar(value: Any, location: str, column: str) -> str:
    """Strings stay as they are; JSON numbers and booleans become their JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    raise DatasetError(f"{location}: column {column!r}: expected text or a number, got {json_kind(value)}")
