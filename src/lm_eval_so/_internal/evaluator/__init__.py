"""The Evaluator: score a run's results, gate them on thresholds, write summary and reports.

    from lm_eval_so._internal.evaluator import evaluate_run
    summary = evaluate_run(config, run_dir, dataset_path)

It reads only artifacts (``dataset.jsonl``, ``results.jsonl``) and never imports the other
stages. Jinja2 is imported only when an HTML report is written.
"""

from .bootstrap import bootstrap_mean_interval, paired_bootstrap_interval
from .compare import Comparison, MetricDelta, compare_runs, find_baseline
from .evaluate import evaluate_run, score_one, write_reports
from .metrics import Metric, MetricContext, MetricScore, MetricUsage, build_metric
from .passk import pass_at_k
from .reports import ReportData, Reporter, RowList, SampleRow, SampleRows
from .significance import mcnemar_exact
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
    "Comparison",
    "Metric",
    "MetricContext",
    "MetricDelta",
    "MetricScore",
    "MetricUsage",
    "ReportData",
    "Reporter",
    "RowList",
    "RunFigures",
    "SampleRow",
    "SampleRows",
    "all_passed",
    "bootstrap_mean_interval",
    "build_metric",
    "check_gates",
    "compare_runs",
    "evaluate_run",
    "find_baseline",
    "mcnemar_exact",
    "mean",
    "normal_interval",
    "paired_bootstrap_interval",
    "pass_at_k",
    "percentile",
    "percentiles",
    "score_one",
    "std",
    "summarize",
    "wilson_interval",
    "write_reports",
]
