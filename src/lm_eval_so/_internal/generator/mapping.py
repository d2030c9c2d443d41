"""Map source rows to :class:`DatasetSample` records (``generator.fields``).

Values become text as written in the source: a JSON ``1.10`` is the text ``"1.10"`` (not
``"1.1"``), ``1e3`` stays ``"1e3"``. A reference (``expected``) is either absent (no column,
``null``, ``""`` or ``[]``: no reference for this sample) or has visible text; a blank one
(``" "``, or a blank item in a list of answers) is an error naming the file and row, because
``contains`` would find it in every output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..common.config import FieldMap
from ..common.errors import DatasetError
from ..common.idtable import IdTable
from ..common.records import DatasetSample
from ..common.text import is_blank
from ._hints import did_you_mean, listing
from .prompts import PromptRenderer
from .sources import SourceRow, json_kind, json_text


@dataclass(frozen=True)
class ColumnPlan:
    """Which source column feeds each sample field; ``None``: not in this dataset."""

    id: str | None
    input: str
    expected: str | None

    @property
    def mapped(self) -> set[str]:
        return {c for c in (self.id, self.input, self.expected) if c is not None}


def columns_of(rows: Iterable[SourceRow], source_name: str) -> list[str]:
    """Every column, in order of first appearance (JSON rows need not share their keys).

    An error when there are no rows at all.
    """
    seen: dict[str, None] = {}
    empty = True
    for row in rows:
        empty = False
        seen.update(dict.fromkeys(row.values))
    if empty:
        raise DatasetError(f"{source_name}: no rows: the source holds no samples")
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


def make_samples(
    read: Callable[[], Iterable[SourceRow]], plan: ColumnPlan, prompt: PromptRenderer
) -> Iterator[DatasetSample]:
    """The samples of ``read()``'s rows, in order, one at a time.

    Duplicate ids are caught with an :class:`IdTable` of hashes, not a set of strings; a hash
    match (a duplicate, or very rarely a collision) reads the rows again to find the first
    row with the same id, which the error names.
    """
    seen = IdTable()
    for number, row in enumerate(read(), start=1):
        sample = make_sample(row, number, plan, prompt)
        if next(seen.candidates(sample.id), None) is not None:
            first = _first_location(read(), plan, sample.id, number)
            if first is not None:
                raise DatasetError(f"{row.location}: duplicate id {sample.id!r} (first at {first})")
        seen.add(sample.id, number)
        yield sample


def _first_location(rows: Iterable[SourceRow], plan: ColumnPlan, sample_id: str, before: int) -> str | None:
    """Where the first of the rows before row ``before`` with this id is; None if none is."""
    for number, row in enumerate(rows, start=1):
        if number >= before:
            return None
        if sample_id_of(row, number, plan) == sample_id:
            return row.location
    return None


def sample_id_of(row: SourceRow, number: int, plan: ColumnPlan) -> str:
    return str(number) if plan.id is None else _required(row, plan.id, "id")


def make_sample(row: SourceRow, number: int, plan: ColumnPlan, prompt: PromptRenderer) -> DatasetSample:
    sample_id = sample_id_of(row, number, plan)
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
    if value is None or (isinstance(value, str) and is_blank(value)):
        raise DatasetError(f"{row.location}: column {column!r} (generator.fields.{field}) is empty")
    return _scalar(value, row.location, column)


def _expected(row: SourceRow, column: str) -> str | list[str] | None:
    """The reference: None when absent (the evaluator knows whether a metric needs one)."""
    value = row.values.get(column)
    if value is None or value == "" or value == []:
        return None
    where = f"{row.location}: column {column!r} (generator.fields.expected)"
    if isinstance(value, list):  # several acceptable answers
        answers = [_scalar(item, row.location, column) for item in value]
        for index, answer in enumerate(answers, start=1):
            if is_blank(answer):
                raise DatasetError(
                    f"{where}: answer {index} of {len(answers)} is blank ({answer!r}); every "
                    "acceptable answer needs visible text, or `contains` finds it in any output"
                )
        return answers
    answer = _scalar(value, row.location, column)
    if is_blank(answer):
        raise DatasetError(
            f"{where} is blank ({answer!r}); write the answer, or leave the cell empty for "
            "no reference (`contains` would find a blank one in any output)"
        )
    return answer


def _scalar(value: Any, location: str, column: str) -> str:
    """Strings stay as they are; JSON numbers and booleans become their text as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json_text(value)
    raise DatasetError(f"{location}: column {column!r}: expected text or a number, got {json_kind(value)}")
