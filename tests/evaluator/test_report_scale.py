"""report.html at scale: texts clipped with a marker, one page of rows in the HTML, every row
(within a byte budget) in a JSON data island that no text can break out of, and a page whose
size does not grow past a bound whatever the run's size. Behaviour only: timings live in
benchmarks/bench_report_html.py."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so._internal.common.records import DatasetSample, RunResult, ScoreRecord, Summary
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.reports import html_report
from lm_eval_so._internal.evaluator.reports.base import ReportData, RowList, SampleRow, SampleRows
from lm_eval_so._internal.evaluator.reports.html_report import HtmlReporter

MARKER = re.compile(r"… \[clipped: ([\d,]+) characters in all; full text in report\.json\]")


class MadeRows(SampleRows):
    """``n`` rows made afresh on every pass (one long text object shared), nothing held.

    Every ``fail_every``-th row fails. Ids are ``s0``, ``s1``…
    """

    def __init__(self, n: int, output: str = "answer", fail_every: int = 10) -> None:
        self.n, self.output, self.fail_every = n, output, fail_every

    def __iter__(self) -> Iterator[SampleRow]:
        for i in range(self.n):
            passed = i % self.fail_every != 0
            yield SampleRow(
                DatasetSample.model_construct(
                    id=f"s{i}", input=f"question {i}", expected="answer", messages=[]
                ),
                RunResult.model_construct(
                    sample_id=f"s{i}",
                    repeat=0,
                    output=self.output,
                    error=None,
                    latency_ms=float(i % 500),
                    cost_usd=0.0001,
                    cached=False,
                ),
                {"exact_match": ScoreRecord.model_construct(score=float(passed), passed=passed)},
            )

    def __len__(self) -> int:
        return self.n


@pytest.fixture
def summary(tmp_path: Path) -> Summary:
    """A real summary with one exact_match metric (reporters only lay it out)."""
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
    return evaluate_run(load("  metrics:\n    - type: exact_match\n", tmp_path), built.run, built.dataset)


def write(summary: Summary, rows: SampleRows, path: Path) -> str:
    HtmlReporter().write(ReportData(summary, rows, {}), path)
    return path.read_text(encoding="utf-8")


def island(page: str) -> list[list[object]]:
    match = re.search(r'<script type="application/json" id="sample-data">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def sample_body(page: str) -> str:
    """The sample table's <tbody>: the rows the HTML itself draws."""
    start = page.index("<tbody", page.index('<table id="samples"'))
    return page[start : page.index("</tbody>", start)]


def body_rows(page: str) -> int:
    return sample_body(page).count("<tr")


def test_clip_length_shrinks_as_the_run_grows() -> None:
    assert [html_report.clip_length(n) for n in (1, 1_000, 4_000, 20_000, 40_000, 10**6)] == [
        2000, 2000, 2000, 400, 200, 200,
    ]  # fmt: skip


def test_long_texts_are_clipped_and_the_page_stays_small(summary: Summary, tmp_path: Path) -> None:
    """The issue's case: 20,000 rows of 10 KB outputs made a 298.5 MB page that never loaded."""
    n, long = 20_000, "y" * 10_240
    page = write(summary, MadeRows(n, output=long), tmp_path / "report.html")
    clip = html_report.clip_length(n)
    assert clip == 400
    # Each row carries at most `clip` characters of its output: ~0.5 KB a row, not 10 KB.
    assert len(page.encode()) < n * 600 + 1_000_000
    rows = island(page)
    assert len(rows) == n  # every row is on the page, for search, filter and sort
    assert all(row[5] == ["y" * clip, 10_240] for row in rows)  # [clipped text, full length]
    # The first page, drawn as HTML, ends each clipped text with the marker.
    assert body_rows(page) == html_report.PAGE_ROWS
    markers = MARKER.findall(sample_body(page))
    assert markers == ["10,240"] * html_report.PAGE_ROWS
    assert "report.json holds every text in full" in page


def test_short_texts_are_not_clipped(summary: Summary, tmp_path: Path) -> None:
    page = write(summary, MadeRows(3, output="z" * 2000), tmp_path / "report.html")
    assert [row[5] for row in island(page)] == ["z" * 2000] * 3
    assert MARKER.search(page) is None


def test_the_html_holds_one_page_and_the_island_every_row_failing_first(
    summary: Summary, tmp_path: Path
) -> None:
    page = write(summary, MadeRows(250), tmp_path / "report.html")
    assert body_rows(page) == 100
    ids = [row[0] for row in island(page)]
    failing = [f"s{i}" for i in range(0, 250, 10)]
    assert ids == failing + [f"s{i}" for i in range(250) if i % 10]
    first_page = re.findall(r"<tr[^>]*>\s*<td>(s\d+)", sample_body(page))
    assert first_page == ids[:100]
    assert 'id="omitted"' not in page


def test_the_page_has_a_size_bound_whatever_n(
    summary: Summary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the data budget, rows (passing ones last) are counted, not embedded."""
    budget = 64 * 1024
    monkeypatch.setattr(html_report, "DATA_BUDGET", budget)
    n = 5_000  # ~120 bytes a row: 600 KB of rows for a 64 KB budget
    page = write(summary, MadeRows(n), tmp_path / "report.html")
    data = re.search(r'id="sample-data">(.*?)</script>', page, re.DOTALL)
    assert data is not None and len(data.group(1).encode()) <= budget
    # The island budget, plus the first page and the summary: a bound of its own, far below N.
    assert len(page.encode()) < budget + 200_000
    rows = island(page)
    embedded = len(rows)
    assert 300 < embedded < n
    assert [row[0] for row in rows[:500]] == [f"s{i}" for i in range(0, n, 10)]  # all 500 failing
    omitted = re.search(r'<p class="fail" id="omitted" data-omitted="(\d+)">(.*?)</p>', page)
    assert omitted is not None and int(omitted.group(1)) == n - embedded
    assert f"{n - embedded:,} of {n:,} results (0 failing) are not on this page" in omitted.group(2)
    assert "report.json has them all" in omitted.group(2)
    # With the real budget the same run fits whole.
    monkeypatch.undo()
    assert len(island(write(summary, MadeRows(n), tmp_path / "all.html"))) == n
    assert html_report.PAGE_BOUND <= 40 * 2**20


PAYLOADS = [
    "</script><script>alert(1)</script>",
    "</SCRIPT >",
    "<!--<script>",
    "a & b <b> ]]> \u2028 \u2029 end",
    "nul \x00 lone \ud800",
]


def test_no_text_can_break_out_of_the_data_island(summary: Summary, tmp_path: Path) -> None:
    rows = [
        SampleRow(
            DatasetSample.model_construct(id=p, input=p, expected=[p, p], messages=[]),
            RunResult.model_construct(
                sample_id=p, repeat=0, output=p, error=None, latency_ms=1.0, cost_usd=None, cached=False
            ),
            {},
        )
        for p in PAYLOADS
    ]
    page = write(summary, RowList(rows), tmp_path / "report.html")
    start = page.index('id="sample-data">') + len('id="sample-data">')
    data = page[start : page.index("</script>", start)]
    # Nothing inside can end the element, open a comment or a nested script.
    assert not re.search(r"</script|<!--|<script", data, re.IGNORECASE)
    assert "<" not in data and ">" not in data and "&" not in data
    assert "\u2028" not in data and "\u2029" not in data
    # ...and it reads back as the texts, exactly (NUL and a lone surrogate made printable).
    texts = [row[5] for row in json.loads(data)]
    shown = [p.replace("\x00", "\u2400").replace("\ud800", "\ufffd") for p in PAYLOADS]
    assert texts == shown
    assert [row[4] for row in json.loads(data)] == [[p, p] for p in shown]
    # The whole page holds exactly two scripts: the data island and ours (allowed by hash).
    assert len(re.findall(r"<script", page, re.IGNORECASE)) == 2


def test_writing_keeps_memory_flat_as_n_grows(summary: Summary, tmp_path: Path) -> None:
    """Rows stream through: the writer's peak hardly moves from 500 rows to 5,000."""

    def peak(n: int) -> int:
        data = ReportData(summary, MadeRows(n, output="o" * 300), {})
        tracemalloc.start()
        try:
            HtmlReporter().write(data, tmp_path / f"r{n}.html")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(10)  # the first report compiles the template: not the rows' cost
    small, big = peak(500), peak(5_000)
    # What grows with N: the numbers kept for the histograms (8 bytes a score and a latency),
    # 72 KB here; the page itself is 2 MB, the rows' texts 1.5 MB.
    assert big - small < 300_000, (small, big)
