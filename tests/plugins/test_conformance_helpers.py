"""The conformance helpers pass the built-ins and catch plugins that break their contract."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from lm_eval_so._internal.evaluator.metrics.builtin import Contains, ExactMatch
from lm_eval_so._internal.evaluator.reports.html_report import HtmlReporter
from lm_eval_so._internal.evaluator.reports.json_report import JsonReporter
from lm_eval_so._internal.generator.sources import CsvSource, JsonlSource
from lm_eval_so.plugins import Backend, Completion, Metric, MetricScore, Request, Source, SourceRow
from lm_eval_so.plugins.testing import (
    ConformanceError,
    check_backend,
    check_metric,
    check_reporter,
    check_source,
    sample,
)


def test_builtin_metrics_conform() -> None:
    scores = check_metric(
        ExactMatch,
        [(sample("q", "Paris"), " paris "), (sample("q", "Paris"), "Lyon")],
        options={"normalize": ["strip", "lower"]},
    )
    assert [s.passed for s in scores] == [True, False]
    assert check_metric(Contains, [(sample("q", "4"), "it is 4")])[0].score == 1.0


@pytest.mark.parametrize("reporter", [JsonReporter, HtmlReporter])
def test_builtin_reporters_conform(reporter: type, tmp_path: Path) -> None:
    path = check_reporter(reporter, tmp_path)
    assert path.suffix == "." + reporter.suffix and "conformance" in path.read_text()


def test_builtin_sources_conform(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("input,expected\nq,a\n")
    (tmp_path / "a.jsonl").write_text('{"input": "q"}\n')
    assert check_source(CsvSource, tmp_path / "a.csv")[0].values == {"input": "q", "expected": "a"}
    assert check_source(JsonlSource, tmp_path / "a.jsonl")[0].location == "a.jsonl:1"


class Upper(Backend):
    name = "upper_test"

    async def complete(self, request: Request) -> Completion:
        return Completion(text=request.prompt.upper())


class NotACompletion(Upper):
    async def complete(self, request: Request) -> Completion:
        return request.prompt  # type: ignore[return-value]


def test_a_conforming_backend_returns_its_completions() -> None:
    completions = check_backend(Upper, [sample("hi", system="be loud")], mode="completion", registered=False)
    assert completions[0].text == "BE LOUD\n\nHI"


def test_a_backend_that_returns_a_string_is_caught() -> None:
    with pytest.raises(
        ConformanceError, match=r"NotACompletion: complete\(\) returned 'hi', not a Completion"
    ):
        check_backend(NotACompletion, [sample("hi")], registered=False)


class ForgetsTheBase(Upper):
    def identity(self) -> dict[str, object]:
        return {"endpoint": "http://h:1/v1"}


class UnserialisableIdentity(Upper):
    def identity(self) -> dict[str, object]:
        return {**super().identity(), "weights": object()}


@pytest.mark.parametrize(
    ("cls", "rule"),
    [
        (ForgetsTheBase, r"ForgetsTheBase: identity\(\) must keep the base identity"),
        (UnserialisableIdentity, r"UnserialisableIdentity: identity\(\) must be JSON-serialisable"),
    ],
)
def test_a_backend_identity_that_breaks_the_cache_key_is_caught(cls: type[Backend], rule: str) -> None:
    with pytest.raises(ConformanceError, match=rule):
        check_backend(cls, [sample("hi")], registered=False)


def test_an_unregistered_backend_is_caught() -> None:
    with pytest.raises(ConformanceError, match=r"lm_eval_so.backends:upper_test: unknown backend"):
        check_backend(Upper, [sample("hi")])


class OutOfRange(Metric):
    name = "out_of_range"
    binary = False

    def score(self, sample, result):  # type: ignore[no-untyped-def]
        return MetricScore(1.5)


class BinaryWithoutPassed(Metric):
    name = "no_passed"

    def score(self, sample, result):  # type: ignore[no-untyped-def]
        return MetricScore(1.0)


@pytest.mark.parametrize(
    ("metric", "rule"),
    [
        (OutOfRange, r"score 1.5 is outside score_range \[0.0, 1.0\]"),
        (BinaryWithoutPassed, "must set passed"),
    ],
)
def test_metrics_that_break_the_contract_are_caught(metric: type[Metric], rule: str) -> None:
    with pytest.raises(ConformanceError, match=rule):
        check_metric(metric, [(sample("q", "a"), "a")], registered=False)


def test_bad_metric_options_are_caught() -> None:
    with pytest.raises(ConformanceError, match=r"options .* rejected"):
        check_metric(ExactMatch, [(sample("q", "a"), "a")], options={"normalise": ["lower"]})


class Lines(Source):
    format = "lines_test"
    suffixes: ClassVar[tuple[str, ...]] = (".txt",)

    def read(self, path: Path):  # type: ignore[no-untyped-def]
        for number, line in enumerate(path.read_text().splitlines(), 1):  # OSError, not DatasetError
            yield SourceRow(f"{path.name}:{number}", {"input": line})


def test_a_source_must_report_a_missing_file_as_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("q\n")
    with pytest.raises(
        ConformanceError, match="a missing file must raise DatasetError, not FileNotFoundError"
    ):
        check_source(Lines, tmp_path / "a.txt")
