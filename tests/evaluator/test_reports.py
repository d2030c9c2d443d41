"""report.html (escaped, self-contained, failing first) and report.json (matches the summary)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.reports.html_report import HtmlReporter
from lm_eval_so._internal.evaluator.reports.json_report import JsonReporter

SCRIPT = "<script>alert(1)</script>"
CONFIG = "  metrics:\n    - type: exact_match\n      threshold: 0.5\n    - type: contains\n"


@pytest.fixture
def hostile_run(tmp_path: Path) -> Path:
    """A run whose inputs, expected answers, outputs and errors all carry markup."""
    samples = [
        sample("ok-1", input="What is 1+1?", expected="2"),
        sample("xss-in", input=f"Say {SCRIPT} & Tom & Jerry", expected="fine"),
        sample("xss-expected", input="plain", expected=[SCRIPT, "A & B"]),
        sample("boom", input="plain", expected="x"),
    ]
    results = [
        ok("ok-1", "2"),
        ok("xss-in", f"{SCRIPT} <img src=x onerror=alert(2)> & more"),
        ok("xss-expected", "nothing"),
        failed("boom", kind="ServerError", message=f"500 {SCRIPT}"),
    ]
    built = make_run(tmp_path, samples, results)
    evaluate_run(load(CONFIG, tmp_path), built.run, built.dataset)
    return built.run.path


def test_html_escapes_every_model_and_dataset_text(hostile_run: Path) -> None:
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "Tom &amp; Jerry" in html and "Tom & Jerry" not in html
    assert "A &amp; B" in html
    assert "500 &lt;script&gt;" in html  # error messages too


def test_html_is_self_contained(hostile_run: Path) -> None:
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    # Exactly one script that runs, our own inline table script (no src), allowed by its hash
    # in the CSP; and the rows' data island, which is data (type application/json), not code.
    assert re.findall(r"<script[^>]*>", html, re.IGNORECASE) == [
        '<script type="application/json" id="sample-data">',
        "<script>",
    ]
    assert "<link" not in html.lower()
    code = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert code is not None
    digest = base64.b64encode(hashlib.sha256(code.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert "innerHTML" not in code.group(1) and "insertAdjacentHTML" not in code.group(1)
    assert "eval(" not in code.group(1) and "document.write" not in code.group(1)
    assert "@import" not in html and "url(" not in html


def test_html_content_and_failing_samples_first(hostile_run: Path) -> None:
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert "FAILED" in html  # exact_match mean 0.25 < 0.5
    for text in ("eval_test", "test-model", "exact_match&gt;=0.5", "wilson", "ServerError"):
        assert text in html, text
    ids = ["ok-1", "xss-in", "xss-expected", "boom"]
    order = sorted(ids, key=lambda sid: html.index(f"<td>{sid}</td>"))
    # Failing samples first, in run order within each group.
    assert order == ["xss-in", "xss-expected", "boom", "ok-1"]


def test_report_json_matches_the_summary(hostile_run: Path) -> None:
    report = json.loads((hostile_run / "report.json").read_text(encoding="utf-8"))
    summary = json.loads((hostile_run / "summary.json").read_text(encoding="utf-8"))
    assert report["summary"] == summary
    assert report["run"]["model"] == "test-model"
    rows = {row["id"]: row for row in report["samples"]}
    assert list(rows) == ["ok-1", "xss-in", "xss-expected", "boom"]  # run order
    assert rows["ok-1"]["scores"] == {
        "exact_match": {"score": 1.0, "passed": True},
        "contains": {"score": 1.0, "passed": True},
    }
    assert rows["xss-in"]["output"].startswith(SCRIPT)  # JSON keeps the raw text
    assert rows["xss-expected"]["expected"] == [SCRIPT, "A & B"]
    assert rows["boom"]["error"]["type"] == "ServerError" and rows["boom"]["output"] is None
    assert set(rows["boom"]) >= {"input", "latency_ms", "cost_usd", "repeat"}


def test_reporters_are_registered_through_entry_points() -> None:
    assert registry.get("reporters", "html") is HtmlReporter
    assert registry.get("reporters", "json") is JsonReporter


def test_the_template_ships_inside_the_package() -> None:
    from importlib.resources import files

    template = files("lm_eval_so._internal.evaluator.reports") / "templates" / "report.html.j2"
    assert template.is_file()


def test_jinja2_is_only_imported_for_html(tmp_path: Path) -> None:
    built = make_run(tmp_path, [sample("a")], [ok("a", "a")])
    (tmp_path / "pipeline.yaml").write_text("")  # placeholder; the config is built in code
    code = f"""
import sys
from pathlib import Path
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.common.config import load_config
from lm_eval_so._internal.common.workspace import RunDir
from lm_eval_so._internal.evaluator import evaluate_run
registry.register("backends", "stub", object)
config = load_config({{"name": "t", "generator": {{"source": "x.csv"}},
                      "runner": {{"backend": "stub"}},
                      "evaluator": {{"report": {{"formats": ["json"]}}}}}})
evaluate_run(config, RunDir(Path({str(built.run.path)!r})), Path({str(built.dataset)!r}))
print("jinja2" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
