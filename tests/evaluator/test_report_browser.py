"""report.html in a real browser (Playwright driving Debian's headless Chromium): the table
script pages, searches and sorts every row, long texts are clipped with a marker, and model
markup never runs, whether a row is drawn by the page itself or by the script."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.reports import html_report

# Debian's chromium; Playwright drives it and never downloads a browser of its own.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"
)
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

# Each payload would change the title or add a marker attribute if it ever executed; the
# last ones target the JSON data island (closing the element, or opening a comment in it).
PAYLOADS = [
    "<script>document.title='PWNED';document.body.setAttribute('data-pwned','1')</script>",
    "<img src=x onerror=\"document.title='PWNED'\">",
    "</div></td></tr></table><script>document.title='PWNED'</script>",
    "<svg onload=\"document.body.setAttribute('data-pwned','2')\"></svg>",
    "</script><script>document.title='PWNED'</script>",
    "<!--<script>document.title='PWNED'</script>-->",
    "</SCRIPT ><img src=x onerror=\"document.title='PWNED'\">",
    '\u2028line\u2029separators & "quotes" ]]> \\u003c/script\\u003e',
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Page:
    """A report open in a fresh page, collecting console errors (a CSP violation is one)."""

    def __init__(self, browser: Any, report: Path, fragment: str = "", script: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=script)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(report.as_uri() + fragment)
        if script:
            self.page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)

    def ids(self) -> list[str]:
        """The id cell of each row in the table's body, as the reader sees it."""
        return [
            cell.split("\n")[0].strip()
            for cell in self.page.locator("#samples tbody tr td:first-child").all_inner_texts()
        ]

    def rows(self) -> list[list[str]]:
        return [
            [td.text_content() or "" for td in row.locator("td").all()]
            for row in self.page.locator("#samples tbody tr").all()
        ]

    def untouched(self) -> None:
        """No payload ran: our title, no marker attribute, no element made from model text."""
        assert "PWNED" not in self.page.title()
        assert self.page.get_attribute("body", "data-pwned") is None
        assert self.page.locator("#samples tbody img, #samples tbody svg, #samples tbody script").count() == 0
        assert self.errors == []

    def close(self) -> None:
        self.context.close()


def _evaluate(tmp_path: Path, samples: list[Any], results: list[Any]) -> Path:
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: exact_match\n  report: {formats: [html]}\n", tmp_path)
    evaluate_run(config, built.run, built.dataset)
    return built.run.path / "report.html"


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """Eight rows: the payload rows (x*) pass, the others fail or pass by turns."""
    samples = [sample(f"s{i}", input=f"q{i}", expected="yes") for i in range(4)]
    samples += [sample(f"x{i}", input=p, expected=p) for i, p in enumerate(PAYLOADS[:4])]
    results = [ok(f"s{i}", "yes" if i % 2 else "no", latency_ms=100.0 * (4 - i)) for i in range(4)]
    results += [ok(f"x{i}", p, latency_ms=50.0 + i) for i, p in enumerate(PAYLOADS[:4])]
    return _evaluate(tmp_path, samples, results)


@pytest.fixture
def big_report(tmp_path: Path) -> Path:
    """250 rows: 120 failing (r0…r119), then passing ones; the payloads and a long output pass
    and so sit on the last page, drawn only by the script."""
    samples, results = [], []
    for i in range(240):
        samples.append(sample(f"r{i}", input=f"question {i}", expected="yes"))
        answer = "no" if i < 120 else "yes"
        # Half-millisecond latencies: the page and the script must round them alike (1,001 ms).
        latency = 1000.0 + i + (0.5 if i % 2 else 0.0)
        results.append(ok(f"r{i}", answer, latency_ms=latency) if i != 7 else failed("r7"))
    samples.append(sample("needle", input="find the haystack row", expected="yes"))
    results.append(ok("needle", "yes", latency_ms=1.0))
    samples.append(sample("long", input="a long answer", expected="L" * 5000))
    results.append(ok("long", "L" * 5000, latency_ms=2.0))
    for i, payload in enumerate(PAYLOADS):
        samples.append(sample(f"x{i}", input=payload, expected=payload))
        results.append(ok(f"x{i}", payload, latency_ms=3.0 + i))
    return _evaluate(tmp_path, samples, results)


def test_report_renders_sorts_and_never_runs_model_markup(browser: Any, report: Path) -> None:
    view = Page(browser, report, "#sort=latency")
    try:
        # The table script ran (it marks the body) and sorted by latency, ascending.
        assert view.page.get_attribute("#samples", "data-sorted") == "latency"
        ids = view.ids()
        assert ids[:4] == ["x0", "x1", "x2", "x3"]  # 50-53 ms
        assert ids[4:] == ["s3", "s2", "s1", "s0"]  # 100-400 ms
        view.untouched()
        # The payloads are on the page, as text, exactly.
        outputs = {row[0]: row[3] for row in view.rows()}
        assert outputs["x0"] == PAYLOADS[0] and outputs["x2"] == PAYLOADS[2]
    finally:
        view.close()


def test_report_descending_sort_from_the_address(browser: Any, report: Path) -> None:
    view = Page(browser, report, "#sort=-latency")
    try:
        assert view.ids()[:4] == ["s0", "s1", "s2", "s3"]
        assert view.page.get_attribute("th[data-col='latency']", "aria-sort") == "descending"
    finally:
        view.close()


def test_the_document_holds_one_page_of_rows(browser: Any, big_report: Path) -> None:
    view = Page(browser, big_report)
    try:
        page = view.page
        assert html_report.PAGE_ROWS == 100
        assert page.locator("#samples tbody tr").count() == 100
        assert page.text_content("#page-label") == "page 1 of 3 (rows 1–100)"
        assert view.ids()[:3] == ["r0", "r1", "r2"]  # failing first
        page.locator(".pager").last.locator("[data-step='1']").click()
        assert page.locator("#samples tbody tr").count() == 100
        assert view.ids()[0] == "r100"
        page.locator(".pager").first.locator("[data-step='1']").click()
        assert page.locator("#samples tbody tr").count() == 50  # 250 rows in all
        assert page.text_content("#page-label") == "page 3 of 3 (rows 201–250)"
        assert page.locator(".pager").first.locator("[data-step='1']").is_disabled()
        page.select_option("#page-size", "25")
        assert page.locator("#samples tbody tr").count() == 25
        view.untouched()
    finally:
        view.close()


def test_search_finds_a_row_on_a_later_page(browser: Any, big_report: Path) -> None:
    view = Page(browser, big_report)
    try:
        page = view.page
        assert "needle" not in view.ids()  # it is on the last page
        page.fill("#filter", "HAYSTACK")  # case-insensitive, in the input text
        playwright_api.expect(page.locator("#samples tbody tr")).to_have_count(1)
        assert view.ids() == ["needle"]
        assert page.text_content("#shown") == "1 of 250"
        page.fill("#filter", "question 23")  # 23, 230…239: 11 rows, on pages 1 and 3
        playwright_api.expect(page.locator("#samples tbody tr")).to_have_count(11)
        page.fill("#filter", "")
        page.check("#failing-only")
        playwright_api.expect(page.locator("#samples tbody tr")).to_have_count(100)
        assert page.text_content("#shown") == "120 of 250"
        assert page.text_content("#page-label") == "page 1 of 2 (rows 1–100)"
        view.untouched()
    finally:
        view.close()


def test_sorting_covers_every_row_not_just_the_page(browser: Any, big_report: Path) -> None:
    view = Page(browser, big_report)
    try:
        page = view.page
        page.click("th[data-col='latency']")  # ascending: the passing rows of the last page
        assert view.ids()[:3] == ["needle", "long", "x0"]
        page.click("th[data-col='latency']")  # descending: r7's 5 s error, then r239
        assert view.ids()[:2] == ["r7", "r239"]
        assert page.get_attribute("#samples", "data-sorted") == "-latency"
        page.click("th[data-col='id']")  # numbers inside ids sort as numbers: r2 < r10
        ids = view.ids()
        assert ids[:5] == ["long", "needle", "r0", "r1", "r2"] and ids[12] == "r10"
    finally:
        view.close()


def test_long_texts_are_clipped_with_a_marker(browser: Any, big_report: Path) -> None:
    view = Page(browser, big_report, "#q=a long answer")
    try:
        row = view.page.locator("#samples tbody tr")
        playwright_api.expect(row).to_have_count(1)
        clip = html_report.clip_length(250)
        assert clip == 2000
        marker = "… [clipped: 5,000 characters in all; full text in report.json]"
        expected, output = row.locator("td").nth(2), row.locator("td").nth(3)
        for cell in (expected, output):
            assert cell.locator(".text").text_content() == "L" * clip
            assert (cell.text_content() or "").endswith(marker)
        assert marker.replace("5,000", "N") in (view.page.text_content("#clip-note") or "")
    finally:
        view.close()


def test_model_markup_stays_text_when_the_script_draws_the_row(browser: Any, big_report: Path) -> None:
    view = Page(browser, big_report, "#page=3")
    try:
        page = view.page
        assert page.text_content("#page-label") == "page 3 of 3 (rows 201–250)"
        cells = {row[0]: row for row in view.rows()}
        for i, payload in enumerate(PAYLOADS):
            row = cells[f"x{i}"]
            assert row[1] == payload and row[2] == payload and row[3] == payload  # input, expected, output
        view.untouched()
        # Searching inside the payloads draws them again; still text.
        page.fill("#filter", "</script>")
        playwright_api.expect(page.locator("#samples tbody tr")).to_have_count(4)
        view.untouched()
    finally:
        view.close()


def test_the_first_page_reads_the_same_without_the_script(browser: Any, big_report: Path) -> None:
    with_script, without = Page(browser, big_report), Page(browser, big_report, script=False)
    try:
        assert without.page.get_attribute("body", "data-ready") is None
        assert without.page.is_visible("#nojs-note") and not with_script.page.is_visible("#nojs-note")
        # The page itself draws the first 100 rows (failing first), as the script then does.
        assert len(without.rows()) == 100
        assert without.rows() == with_script.rows()
        without.untouched()
    finally:
        with_script.close()
        without.close()


def test_rows_past_the_data_budget_are_counted_above_the_table(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(html_report, "DATA_BUDGET", 4 * 1024)  # room for ~60 of the 250 rows
    samples = [sample(f"r{i}", input=f"question {i}", expected="yes") for i in range(250)]
    results = [ok(f"r{i}", "no" if i < 20 else "yes") for i in range(250)]
    view = Page(browser, _evaluate(tmp_path, samples, results))
    try:
        page = view.page
        embedded = page.locator("#samples tbody tr").count()
        assert 20 < embedded < 100
        assert view.ids()[:20] == [f"r{i}" for i in range(20)]  # every failing row made it
        note = page.locator("#omitted")
        assert note.is_visible()
        assert note.text_content() == (
            f"{250 - embedded} of 250 results (0 failing) are not on this page, "
            "to keep its data under 4 KiB: report.json has them all."
        )
        # Moved above the search box, where a search that finds nothing is read.
        assert page.evaluate("document.getElementById('omitted').nextElementSibling.className") == "controls"
        view.untouched()
    finally:
        view.close()
