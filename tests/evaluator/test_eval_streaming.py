"""The evaluator streams: samples read by offset, rows re-read from disk, reporters fed lazily."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.common.records import DatasetSample, RunResult, Summary
from lm_eval_so._internal.common.workspace import write_jsonl
from lm_eval_so._internal.evaluator import dataset_index, evaluate, evaluate_run
from lm_eval_so._internal.evaluator.dataset_index import DatasetIndex
from lm_eval_so._internal.evaluator.reports.base import ReportData, RowList, SampleRow, SampleRows
from lm_eval_so._internal.evaluator.reports.html_report import HtmlReporter
from lm_eval_so._internal.evaluator.reports.json_report import JsonReporter
from lm_eval_so._internal.evaluator.reports.markdown_report import MarkdownReporter
from lm_eval_so._internal.evaluator.run_rows import RunRows

CONFIG = "  metrics:\n    - type: exact_match\n  report:\n    formats: [json, html, markdown]\n"
SAMPLES = [sample("a", expected="1"), sample("b", expected="2"), sample("c", expected="3")]
RESULTS = [ok("a", "1"), ok("b", "wrong"), failed("c")]


def test_dataset_index_reads_samples_by_offset(tmp_path: Path) -> None:
    path = tmp_path / "dataset.jsonl"
    write_jsonl(path, SAMPLES)
    with DatasetIndex(path) as index:
        assert len(index) == 3 and "b" in index and "zz" not in index
        assert index.get("c") == SAMPLES[2] and index.get("zz") is None
        assert index.ordinal("b") == 1
        # A small dataset keeps what it parsed: the report reuses scoring's samples.
        assert index.get("a") is index.get("a")


def test_a_big_dataset_index_keeps_no_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset_index, "KEEP_PARSED", 2)
    path = tmp_path / "dataset.jsonl"
    write_jsonl(path, SAMPLES)
    with DatasetIndex(path) as index:
        # It parses afresh on each call: memory does not grow with the dataset.
        assert index.get("a") == index.get("a") and index.get("a") is not index.get("a")


def test_an_unchanged_dataset_is_indexed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dataset.jsonl"
    write_jsonl(path, SAMPLES)
    passes: list[Path] = []
    real = dataset_index.iter_jsonl_offsets
    monkeypatch.setattr(dataset_index, "iter_jsonl_offsets", lambda p, m: passes.append(p) or real(p, m))
    DatasetIndex(path).close()  # the preflight's index
    with DatasetIndex(path) as index:  # scoring's: the same table, no second pass
        assert passes == [path] and index.get("c") == SAMPLES[2] and len(index) == 3
    write_jsonl(path, SAMPLES[:2])  # a changed file is indexed again
    with DatasetIndex(path) as index:
        assert passes == [path, path] and len(index) == 2 and "c" not in index


def test_a_rewrite_that_keeps_size_and_mtime_is_indexed_again(tmp_path: Path) -> None:
    # cp -p, rsync --inplace: same size, mtime set back; the change time still moves.
    path = tmp_path / "dataset.jsonl"
    write_jsonl(path, SAMPLES)
    before = path.stat()
    assert DatasetIndex(path).ordinal("a") == 0
    write_jsonl(path, list(reversed(SAMPLES)))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    with DatasetIndex(path) as index:
        assert index.ordinal("a") == 2 and index.get("a") == SAMPLES[0]


def test_dataset_index_rejects_a_repeated_id(tmp_path: Path) -> None:
    path = tmp_path / "dataset.jsonl"
    write_jsonl(path, [*SAMPLES, sample("b")])
    with pytest.raises(ArtifactError, match="sample id 'b' appears twice"):
        DatasetIndex(path)


def test_reporters_get_rows_streamed_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = make_run(tmp_path, SAMPLES, RESULTS)
    seen: list[ReportData] = []
    real = evaluate.write_reports
    monkeypatch.setattr(
        evaluate, "write_reports", lambda f, data, run: seen.append(data) or real(f, data, run)
    )
    evaluate_run(load(CONFIG, tmp_path), built.run, built.dataset)
    rows = seen[0].rows
    assert isinstance(rows, RunRows) and not isinstance(rows, list)
    first, again = list(rows), list(rows)
    assert [r.sample.id for r in first] == ["a", "b", "c"] == [r.sample.id for r in again]
    assert first[0] is not again[0]  # each pass parses afresh
    assert [r.sample.id for r in rows.failing_first()] == ["b", "c", "a"]
    assert len(rows) == 3


class OnePassRows(SampleRows):
    """Rows built afresh on each pass, counting passes; no list, no indexing."""

    def __init__(self, rows: list[SampleRow]) -> None:
        self._json = [(r.sample.model_dump_json(), r.result.model_dump_json(), r.scores) for r in rows]
        self.passes = 0

    def __iter__(self) -> Iterator[SampleRow]:
        self.passes += 1
        for sample_json, result_json, scores in self._json:
            yield SampleRow(
                DatasetSample.model_validate_json(sample_json),
                RunResult.model_validate_json(result_json),
                dict(scores),
            )

    def __len__(self) -> int:
        return len(self._json)


@pytest.mark.parametrize("reporter", [JsonReporter, HtmlReporter, MarkdownReporter])
def test_reporters_accept_any_reiterable_and_match_a_list(tmp_path: Path, reporter: type) -> None:
    built = make_run(tmp_path, SAMPLES, RESULTS)
    evaluate_run(load(CONFIG, tmp_path), built.run, built.dataset)
    with DatasetIndex(built.dataset) as index:
        listed = list(
            RunRows(built.run.results, built.run.scores, index, ["exact_match"], bytearray(b"\0\1\1"))
        )
    summary = Summary.model_validate_json(built.run.summary.read_bytes())
    data = ReportData(summary, RowList(listed), {"pipeline": "p"})
    streamed = OnePassRows(listed)
    reporter().write(data, tmp_path / "from_list")
    reporter().write(ReportData(data.summary, streamed, data.manifest), tmp_path / "streamed")
    assert (tmp_path / "streamed").read_bytes() == (tmp_path / "from_list").read_bytes()
    assert streamed.passes >= 1


def test_html_puts_failing_rows_first_when_streamed(tmp_path: Path) -> None:
    built = make_run(tmp_path, SAMPLES, RESULTS)
    evaluate_run(load(CONFIG, tmp_path), built.run, built.dataset)
    html = (built.run.path / "report.html").read_text(encoding="utf-8")
    body = html[html.index("<tbody") :]
    positions = [body.index(f">{sid}<") for sid in ("b", "c", "a")]
    assert positions == sorted(positions)
    assert "3 results, 2 failing" in html


def test_a_list_of_rows_still_works(tmp_path: Path) -> None:
    # Code written for the old contract (rows: list) is wrapped, not broken.
    built = make_run(tmp_path, SAMPLES, RESULTS)
    summary = evaluate_run(load(CONFIG, tmp_path), built.run, built.dataset)
    data = ReportData(summary, [], {})  # type: ignore[arg-type]
    assert isinstance(data.rows, RowList) and len(data.rows) == 0
    JsonReporter().write(data, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["samples"] == []
