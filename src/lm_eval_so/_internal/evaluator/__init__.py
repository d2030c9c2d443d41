"""The Evaluator: score a run's results, gate them on thresholds, write summary and reports.

    from lm_eval_so._internal.evaluator import evaluate_run
    summary = evaluate_run(config, run_dir, dataset_path)

It reads only artifacts (``dataset.jsonl``, ``results.jsonl``) and never imports the other
stages. Jinja2 is imported only when an HTML report is written.
"""

# Only what the other layers use; everything else is imported from its own module, so that
# scoring a run does not load comparison, significance or bootstrap code it never calls.
from .evaluate import evaluate_run, score_one, write_reports
from .metrics import Metric, MetricScore, build_metric

__all__ = ["Metric", "MetricScore", "build_metric", "evaluate_run", "score_one", "write_reports"]
