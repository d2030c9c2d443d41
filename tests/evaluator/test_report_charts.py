"""Histograms in report.html: counts, bins, and what the page carries for sorting."""

from __future__ import annotations

import re
from pathlib import Path

from evalkit import failed, load, make_run, ok, sample

from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.reports.charts import BINS, HEIGHT, histogram


def test_binary_histogram_has_a_fail_and_a_pass_bar() -> None:
    chart = histogram([1.0, 1.0, 1.0, 0.0], binary=True)
    assert [b.count for b in chart.bars] == [1, 3]
    assert chart.bars[1].height == HEIGHT and chart.bars[0].height == round(HEIGHT / 3, 2)
    assert chart.bars[0].label == "fail: 1" and (chart.low, chart.high) == ("fail", "pass")


def test_continuous_histogram_bins_every_value() -> None:
    values = [i / 99 for i in range(100)]
    chart = histogram(values, binary=False)
    assert len(chart.bars) == BINS and sum(b.count for b in chart.bars) == 100
    assert [b.count for b in chart.bars] == [10] * 10
    assert (chart.low, chart.high) == ("0", "1")
    same = histogram([0.5, 0.5], binary=False)  # no spread: one full bin, no division by zero
    assert sum(b.count for b in same.bars) == 2
    assert histogram([], binary=False).bars == []


def test_report_has_a_chart_per_metric_and_sortable_columns(tmp_path: Path) -> None:
    samples = [sample("a"), sample("b"), sample("c")]
    results = [ok("a", "a", latency_ms=10.0), ok("b", "b", latency_ms=30.0), failed("c")]
    built = make_run(tmp_path, samples, results)
    config = load("  metrics:\n    - type: exact_match\n    - type: f1\n", tmp_path)
    evaluate_run(config, built.run, built.dataset)
    page = (built.run.path / "report.html").read_text(encoding="utf-8")
    labels = re.findall(r'aria-label="histogram of ([\w]+)"', page)
    assert labels == ["exact_match", "f1", "latency"]
    assert "<title>pass: 1</title>" in page and "<title>fail: 2</title>" in page
    for column in ("id", "exact_match", "f1", "latency", "cost"):
        assert f'data-col="{column}"' in page
    assert 'data-value="30.0"' in page and "$0.0010" in page and "$0.00100" not in page
    assert page.index("<td>c</td>") < page.index("<td>a</td>")  # failing first
