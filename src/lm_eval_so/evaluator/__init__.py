"""The Evaluator: score a run's results, gate them on thresholds, write summary and reports.

    from lm_eval_so.evaluator import evaluate_run
    summary = evaluate_run(config, run_dir, dataset_path)

It reads only artifacts (``dataset.jsonl``, ``results.jsonl``) and never imports the other
stages. Jinja2 is imported only when an HTML report is written.
"""

from .evaluate import evaluate_run, score_one, write_reports
from .metrics import Metric, MetricScore, build_metric
from .reports import ReportData, Reporter, SampleRow
from .stats import (
    Z95,
    mean,
    normal_interval,
    percentile,
    percentiles,
    std,
    summarize,
    wilson_interval,
)
from .thresholds import RunFigures, all_passed, check_gates

__all__ = [
    "Z95",
    "Metric",
    "MetricScore",
    "ReportData",
    "Reporter",
    "RunFigures",
    "SampleRow",
    "all_passed",
    "build_metric",
    "check_gates",
    "evaluate_run",
    "mean",
    "normal_interval",
    "percentile",
    "percentiles",
    "score_one",
    "std",
    "summarize",
    "wilson_interval",
    "write_reports",
]
