"""report.html in a real browser (headless Chromium): the table script runs, model markup never does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from lm_eval_so.evaluator import evaluate_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"
)

# Each payload would change the title or add a marker element if it ever executed.
PAYLOADS = [
    "<script>document.title='PWNED';document.body.setAttribute('data-pwned','1')</script>",
    "<img src=x onerror=\"document.title='PWNED'\">",
    "</div></td></tr></table><script>document.title='PWNED'</script>",
    "<svg onload=\"document.body.setAttribute('data-pwned','2')\"></svg>",
]


def dump_dom(page: Path, profile: Path, fragment: str = "") -> str:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={profile}", "--dump-dom", page.as_uri() + fragment,
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return proc.stdout


@pytest.fixture
def report(tmp_path: Path) -> Path:
    samples = [sample(f"s{i}", input=f"q{i}", expected="yes") for i in range(4)]
    samples += [sample(f"x{i}", input=p, expected="yes") for i, p in enumerate(PAYLOADS)]
    results = [ok(f"s{i}", "yes" if i % 2 else "no", latency_ms=100.0 * (4 - i)) for i in range(4)]
    results += [ok(f"x{i}", p, latency_ms=50.0 + i) for i, p in enumerate(PAYLOADS)]
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: exact_match\n  report: {formats: [html]}\n", tmp_path)
    evaluate_run(config, built.run, built.dataset)
    return built.run.path / "report.html"


def test_report_renders_sorts_and_never_runs_model_markup(report: Path, tmp_path: Path) -> None:
    dom = dump_dom(report, tmp_path / "profile", "#sort=latency")
    # The table script ran (it marks the body) and sorted by latency, ascending.
    assert 'data-ready="1"' in dom
    assert 'data-sorted="latency"' in dom
    ids = re.findall(r'<tr(?: class="failed")?>\s*<td>([sx]\d)</td>', dom)
    assert len(ids) == 8
    assert ids[:4] == ["x0", "x1", "x2", "x3"]  # 50-53 ms
    assert ids[4:] == ["s3", "s2", "s1", "s0"]  # 100-400 ms
    # No payload executed: the title is ours and no marker attribute exists.
    title = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    assert title is not None and "PWNED" not in title.group(1)
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert "PWNED" not in dom.split("</head>", 1)[0]
    # The payloads are on the page, as text.
    assert "&lt;script&gt;document.title='PWNED'" in dom


def test_report_descending_sort_from_the_address(report: Path, tmp_path: Path) -> None:
    dom = dump_dom(report, tmp_path / "profile", "#sort=-latency")
    ids = re.findall(r'<tr(?: class="failed")?>\s*<td>([sx]\d)</td>', dom)
    assert ids[:4] == ["s0", "s1", "s2", "s3"]
    assert 'aria-sort="descending"' in dom
