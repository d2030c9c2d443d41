"""``lm-eval-so view`` in a real browser (Playwright driving Debian's headless Chromium).

Against a workspace of 24 real runs of three pipelines plus a two-cell experiment (see
viewer_kit.py): the index sorts and filters, a run page shows the report with the prompt sent
and the parameters, two picked runs open their comparison, the trend draws each run's mean and
interval, new runs show up live, and the static export works from ``file://``. Model markup
never runs, and the console stays clean. Each test saves screenshots of what it visited in its
tmp directory.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from viewer_kit import PAYLOADS, Built

from lm_eval_so import run_pipeline
from lm_eval_so._internal.common.catalog import Catalog
from lm_eval_so._internal.viewer.export import export_site
from lm_eval_so._internal.viewer.server import ViewerServer, serve

expect: Any = None


@pytest.fixture(autouse=True)
def _expect(browser: Any) -> None:
    global expect
    from playwright.sync_api import expect as playwright_expect

    expect = playwright_expect


class View:
    """One browser page that records console errors, page errors and failed requests."""

    def __init__(self, browser: Any, shots: Path, *, script: bool = True) -> None:
        self.context = browser.new_context(
            java_script_enabled=script, viewport={"width": 1360, "height": 900}
        )
        self.page = self.context.new_page()
        self.shots = shots
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", self._request_failed)

    def _request_failed(self, request: Any) -> None:
        # A reload or navigation cancels the live poll's fetch if one is in flight; Chromium
        # reports that as net::ERR_ABORTED. That is the page leaving, not the server failing
        # (a refused or broken reply is ERR_CONNECTION_* / ERR_EMPTY_RESPONSE, still an error).
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-viewer-ready='1']", state="attached", timeout=30_000)
        return self.page

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def clean(self) -> None:
        """No console error, and nothing a payload would have done if it had run."""
        assert self.errors == []
        assert "PWNED" not in self.page.title()
        assert self.page.get_attribute("body", "data-pwned") is None

    def visible_rows(self) -> list[str]:
        return [
            row.get_attribute("data-run")
            for row in self.page.locator("#runs tbody tr").all()
            if row.is_visible()
        ]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def view(browser: Any, tmp_path: Path) -> Any:
    opened = View(browser, tmp_path)
    yield opened
    opened.close()


def run_ids(built: Built, pipeline: str) -> list[str]:
    return [p.name for p in built.runs[pipeline]]


# --------------------------------------------------------------------------- index


def test_index_lists_sorts_and_filters(view: View, server: ViewerServer, built: Built) -> None:
    page = view.open(server.url)
    assert page.title() == "runs · lm-eval-so"
    total = len(built.all_runs) + 1  # and the interrupted one
    expect(page.locator("#runs tbody tr")).to_have_count(total)
    assert page.text_content("#shown") == str(total)
    headers = [h.strip(" ▲▼") for h in page.locator("#runs thead th").all_inner_texts()]
    assert headers == ["select", "run", "pipeline", "when (UTC)", "backend/model", "status",
                       "first metric · mean [95% CI]", "gates", "cost", "from cache"]  # fmt: skip
    # Newest first by default; the first row's cells read as `runs list` prints them.
    newest = Catalog.of(built.workspace).runs()[-1]
    assert view.visible_rows()[0] == newest.run_id
    first = page.locator("#runs tbody tr").first.locator("td").all_inner_texts()
    assert first[1] == newest.run_id and first[2] == newest.pipeline
    assert re.fullmatch(r"exact_match \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", first[6])
    assert first[7] == "1 passed" and first[8] == "$0.0000" and first[9] == "0/12"
    view.shot("index")

    # Sort by run id, ascending then descending.
    page.click("#runs th[data-sort='run']")
    assert page.get_attribute("#runs", "data-sorted") == "run"
    ids = view.visible_rows()
    assert ids == sorted(ids, key=lambda i: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", i)])
    page.click("#runs th[data-sort='run']")
    # The page sorts naturally ("…-7c5…" before "…-6949…", as 7 < 6949): the last of the
    # ascending order comes first, which a plain max() of the strings would not always be.
    assert view.visible_rows()[0] == ids[-1] and page.get_attribute("#runs", "data-sorted") == "-run"
    # Sort by the first metric's mean, highest first.
    page.click("#runs th[data-sort='metric']")
    means = [
        float(t.split()[1])
        for t in page.locator("#runs tbody tr td:nth-child(7)").all_inner_texts()
        if t != "-"
    ]
    assert means == sorted(means, reverse=True)

    # Filter: pipeline, status, text, and all three kept in the address.
    page.select_option("#pipeline-filter", "router")
    assert len(view.visible_rows()) == 7 and page.text_content("#shown") == "7"
    page.select_option("#status-filter", "interrupted")
    assert view.visible_rows() == [built.interrupted.name if built.interrupted else ""]
    page.select_option("#pipeline-filter", "")
    page.select_option("#status-filter", "failed")
    failed = view.visible_rows()
    assert len(failed) == 4 and all("-qa-" in r for r in failed)
    page.select_option("#status-filter", "")
    page.fill("#q", "apps:sloppy")
    expect(page.locator("#shown")).to_have_text("3")
    assert {r.split("-")[1] for r in view.visible_rows()} == {"qa", "grid.sloppy"}
    view.shot("index-filtered")
    page.fill("#q", "no such thing")
    expect(page.locator("#no-match")).to_be_visible()
    page.fill("#q", "sloppy")
    page.reload()
    page.wait_for_selector("body[data-viewer-ready='1']", state="attached")
    assert page.input_value("#q") == "sloppy" and page.text_content("#shown") == "3"
    view.clean()


# --------------------------------------------------------------------------- run page


def test_a_run_page_shows_the_report_the_prompt_and_the_parameters(
    view: View, server: ViewerServer, built: Built
) -> None:
    sloppy = run_ids(built, "qa")[1]  # apps:sloppy: wrong on q03, q06, q09, q12
    page = view.open(server.url)
    page.click(f"#runs a[href='runs/{sloppy}.html']")
    page.wait_for_selector("body[data-ready='1'][data-viewer-ready='1']", state="attached")
    assert page.url == f"{server.url}runs/{sloppy}.html"
    # Today's report.html content: header, metrics with their interval, gates, the sample table.
    assert page.text_content("h1") == "qa"
    assert page.locator("header .badge.fail").inner_text() == "FAILED"
    metric = page.locator("h2:has-text('Metrics') + table tbody tr").first.inner_text()
    assert "exact_match" in metric and "0.667" in metric and "0.391 – 0.862" in metric
    assert "✗ exact_match>=0.7" in metric
    expect(page.locator("#samples tbody tr")).to_have_count(12)
    ids = [c.split("\n")[0] for c in page.locator("#samples tbody tr td:first-child").all_inner_texts()]
    assert ids[:4] == ["q03", "q06", "q09", "q12"]
    # The prompt panel starts on the first row (failing first) and follows a click.
    assert page.text_content("#prompt-sample") == "for sample q03"
    assert page.locator("#prompt-messages .viewer-role").all_inner_texts() == ["USER"]
    assert page.locator("#prompt-messages .viewer-text").all_inner_texts() == ["3"]
    page.locator("#samples tbody tr", has_text="q05").click()
    expect(page.locator("#prompt-sample")).to_have_text("for sample q05")
    assert page.locator("#prompt-messages .viewer-text").all_inner_texts() == ["5"]
    # The parameters and the resolved pipeline.yaml of the run.
    params = dict(
        zip(
            page.locator("#run-params th").all_inner_texts(),
            page.locator("#run-params td").all_inner_texts(),
            strict=True,
        )
    )
    assert params["backend"] == "python" and params["model"] == "apps:sloppy" and params["concurrency"] == "2"
    assert params["generation parameters"] == "none set: the backend's defaults"
    assert params["dataset"].startswith("qa @ ") and params["dataset"].endswith("12 samples")
    page.click("details.viewer-config summary")
    assert "function: apps:sloppy" in page.inner_text("#run-config")
    view.shot("run")
    # Navigation: back to the index, and on to the comparison with the previous run.
    page.click("#compare-previous")
    page.wait_for_selector("#verdict")
    assert page.url == f"{server.url}compare/{run_ids(built, 'qa')[0]}/{sloppy}.html"
    view.clean()


def test_a_run_without_a_summary_still_shows_its_prompt_and_results(
    view: View, server: ViewerServer, built: Built
) -> None:
    assert built.interrupted is not None
    page = view.open(f"{server.url}runs/{built.interrupted.name}.html")
    assert "This run is not scored (status: interrupted)" in page.inner_text("#run-problem")
    expect(page.locator("#samples tbody tr")).to_have_count(4)
    page.locator("#samples tbody tr", has_text="r3").click()
    assert page.locator("#prompt-messages .viewer-text").all_inner_texts() == ["invoice is wrong"]
    view.shot("run-interrupted")
    view.clean()


# --------------------------------------------------------------------------- compare


def test_two_selected_runs_open_their_comparison(view: View, server: ViewerServer, built: Built) -> None:
    qa = run_ids(built, "qa")  # [0] apps:double, [3] apps:worse
    page = view.open(server.url)
    expect(page.locator("#compare-button")).to_be_disabled()
    # Selected newest first: the comparison still takes the older run as A, the baseline.
    page.check(f"#runs input[value='{qa[3]}']")
    assert page.text_content("#compare-note") == "select one more run"
    page.check(f"#runs input[value='{qa[0]}']")
    assert page.text_content("#compare-note") == f"A: {qa[0]} · B: {qa[3]}"
    page.click("#compare-button")
    page.wait_for_selector("#verdict")
    assert page.url == f"{server.url}compare/{qa[0]}/{qa[3]}.html"
    # The verdict reads in words; 6 of 12 went pass -> fail (McNemar p = 2/64).
    assert page.text_content("#verdict-text") == "B is worse than A"
    assert "significant regression in exact_match" in page.inner_text("#verdict")
    row = page.locator("#compare-metrics tbody tr").first.locator("td").all_inner_texts()
    assert row == ["exact_match", "1.0000", "0.5000", "-0.5000", row[4], "0.0312", "6 / 0", "12", "regressed"]
    # What changed in the config: the function, and the hash that follows from it.
    diff = page.inner_text("#config-diff")
    assert "-  function: apps:double" in diff and "+  function: apps:worse" in diff
    # Every flip with its input and expected answer beside both outputs.
    flips = page.locator("table.flips").first.locator("tbody tr")
    expect(flips).to_have_count(6)
    cells = flips.first.locator("td").all_inner_texts()
    assert cells == ["q02", "exact_match", "2", "4", "4", "wrong"]
    assert page.locator("h2", has_text="Fixes: failed in A, passed in B: 0").count() == 1
    view.shot("compare")
    # Both run pages are a click away.
    page.click("#link-b")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert page.url == f"{server.url}runs/{qa[3]}.html"
    view.clean()


# --------------------------------------------------------------------------- trend and experiment


def test_the_trend_draws_each_run_with_its_interval_and_gate(
    view: View, server: ViewerServer, built: Built, browser: Any
) -> None:
    page = view.open(server.url)
    page.click("#pipelines-table a[href='trends/qa.html']")
    page.wait_for_selector("figure.trend svg")
    assert page.text_content("h1").startswith("Trend: qa")
    chart = page.locator("figure.trend").first
    assert chart.get_attribute("data-metric") == "exact_match"
    expect(chart.locator("circle.pt")).to_have_count(10)
    expect(chart.locator("circle.pt.failed")).to_have_count(4)  # sloppy and worse: below 0.7
    expect(chart.locator("circle.pt.passed")).to_have_count(6)
    expect(chart.locator("line.ci")).to_have_count(10)
    assert chart.locator("text.gate-label").text_content() == "gate ≥ 0.7"
    tips = chart.locator("circle.pt title").all_text_contents()
    assert (
        tips[1].startswith(f"{run_ids(built, 'qa')[1]} · ")
        and "exact_match 0.667 [0.391, 0.862] · gate failed" in tips[1]
    )
    assert page.inner_text("figcaption") == "exact_match 10 runs, gate failed in 4"
    expect(page.locator("#trend-runs tbody tr")).to_have_count(10)
    view.shot("trend")
    chart.locator("a.point").nth(3).click()
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert page.url == f"{server.url}runs/{run_ids(built, 'qa')[3]}.html"
    view.clean()
    # The chart is plain SVG: it draws the same without any script.
    still = View(browser, view.shots, script=False)
    try:
        still.page.goto(f"{server.url}trends/qa.html")
        expect(still.page.locator("figure.trend circle.pt")).to_have_count(10)
        assert still.errors == []
    finally:
        still.close()


def test_the_experiment_grid(view: View, server: ViewerServer, built: Built) -> None:
    assert built.experiment is not None
    page = view.open(server.url)
    page.click(f"#experiments-table a[href='experiments/{built.experiment.name}.html']")
    page.wait_for_selector("#grid")
    rows = page.locator("#grid tbody tr")
    expect(rows).to_have_count(2)
    assert rows.nth(0).get_attribute("data-cell") == "base" and "(baseline)" in rows.nth(0).inner_text()
    sloppy = rows.nth(1).inner_text()
    assert "0.667" in sloppy and "Δ -0.333" in sloppy and "no significant difference" in sloppy
    assert "Best cell: none." in page.inner_text("#best")
    view.shot("experiment")
    rows.nth(1).locator("a", has_text="compare with baseline").click()
    page.wait_for_selector("#verdict")
    assert page.url.endswith(
        f"/compare/{run_ids(built, 'grid.base')[0]}/{run_ids(built, 'grid.sloppy')[0]}.html"
    )
    view.clean()


# --------------------------------------------------------------------------- inert model text


def test_model_markup_never_runs_on_any_page(view: View, server: ViewerServer, built: Built) -> None:
    payload = run_ids(built, "payload")  # [2] answered with another sample's markup
    page = view.open(f"{server.url}runs/{payload[0]}.html")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    cells = {
        row.locator("td").first.inner_text().split("\n")[0]: row.locator("td").all_text_contents()
        for row in page.locator("#samples tbody tr").all()
    }
    for index, text in enumerate(PAYLOADS[:3]):
        assert cells[f"x{index}"][1:4] == [text, text, text]  # input, expected, output: as text
    # The system prompt's markup and each sample's payload, drawn by the page and by the script.
    messages = page.locator("#prompt-messages .viewer-text").all_text_contents()
    assert messages[0] == "Repeat the text. <b>bold</b> & <i>system</i>"
    page.locator("#samples tbody tr", has_text="x1").click()
    expect(page.locator("#prompt-sample")).to_have_text("for sample x1")
    assert page.locator("#prompt-messages .viewer-text").all_text_contents()[1] == PAYLOADS[1]
    assert page.locator("#viewer-run b, #viewer-run img, #viewer-run svg, #samples tbody img").count() == 0
    view.shot("payload-run")
    view.clean()

    page = view.open(f"{server.url}compare/{payload[1]}/{payload[2]}.html")
    flips = page.locator("table.flips").first.locator("tbody tr")
    expect(flips).to_have_count(3)  # x0, x1 and x2; x3 was wrong in both
    first = flips.first.locator("td").all_text_contents()
    assert first[2:] == [PAYLOADS[0], PAYLOADS[0], PAYLOADS[0], PAYLOADS[1]]  # input, expected, A, B
    assert page.locator("table.flips img, table.flips svg, table.flips script").count() == 0
    view.shot("payload-compare")
    view.clean()


# --------------------------------------------------------------------------- live


def test_a_run_that_finishes_appears_without_a_restart(
    view: View, built: Built, tmp_path: Path, browser: Any
) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(built.workspace, copy)
    live = serve(copy)
    live.start_background()
    try:
        page = view.open(live.url)
        before = page.locator("#runs tbody tr").count()
        page.select_option("#pipeline-filter", "router")  # the view state survives the refresh
        result = run_pipeline(built.folder / "router.yaml", workspace_dir=copy)
        new_row = page.locator(f"#runs tbody tr[data-run='{Path(str(result.run_dir)).name}']")
        expect(new_row).to_be_visible(timeout=15_000)
        expect(page.locator("#runs tbody tr")).to_have_count(before + 1)
        assert page.input_value("#pipeline-filter") == "router" and len(view.visible_rows()) == 8
        assert int(page.get_attribute("body", "data-refreshes") or 0) >= 1
        view.shot("index-live")
        view.clean()
    finally:
        live.shutdown()
        live.server_close()


# --------------------------------------------------------------------------- static export


def test_the_export_opens_from_file_with_working_links(view: View, built: Built, tmp_path: Path) -> None:
    site = tmp_path / "site"
    counts = export_site(built.workspace, site)
    assert counts["runs"] == len(built.all_runs) + 1 and counts["trends"] == 5 and counts["experiments"] == 1
    page = view.open((site / "index.html").as_uri())
    expect(page.locator("#runs tbody tr")).to_have_count(len(built.all_runs) + 1)
    view.shot("export-index")
    qa = run_ids(built, "qa")
    # A run page, by its relative link, and back.
    page.click(f"#runs a[href='runs/{qa[2]}.html']")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert page.url == (site / "runs" / f"{qa[2]}.html").as_uri()
    expect(page.locator("#samples tbody tr")).to_have_count(12)
    page.click("#compare-previous")  # exported: each run against the previous run of its pipeline
    page.wait_for_selector("#verdict")
    assert page.url == (site / "compare" / qa[1] / f"{qa[2]}.html").as_uri()
    assert page.text_content("#verdict-text") == "No significant change"  # 4 fixes: too few to tell
    view.shot("export-compare")
    page.click("#link-a")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    page.click("#viewer-nav a[href$='trends/qa.html']")
    expect(page.locator("figure.trend circle.pt")).to_have_count(10)
    page.click("nav.top a.brand")
    page.wait_for_selector("body[data-viewer-ready='1']", state="attached")
    # The picker opens an exported pair, and says so for a pair that was not exported.
    page.check(f"#runs input[value='{qa[4]}']")
    page.check(f"#runs input[value='{qa[3]}']")
    page.click("#compare-button")
    page.wait_for_selector("#verdict")
    assert page.url == (site / "compare" / qa[3] / f"{qa[4]}.html").as_uri()
    page.go_back()
    page.wait_for_selector("body[data-viewer-ready='1']", state="attached")
    checked = page.locator("#runs input[name='run']:checked")
    while checked.count():
        checked.first.uncheck()
    page.check(f"#runs input[value='{qa[0]}']")
    page.check(f"#runs input[value='{qa[9]}']")
    page.click("#compare-button")
    expect(page.locator("#compare-note")).to_contain_text("This export holds no comparison of these two runs")
    assert page.url.startswith((site / "index.html").as_uri())
    view.clean()
