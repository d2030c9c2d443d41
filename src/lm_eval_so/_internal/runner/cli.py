"""``lm-eval-so runner PIPELINE_YAML --dataset DATASET_JSONL [--workspace-dir DIR]``

Runs one dataset through the pipeline's backend. Progress and the summary go to stderr; stdout
carries only the run directory, so scripts can chain: ``lm-eval-so evaluator "$(... runner ...)"``.
Failed calls are results, not a crash: the exit code is 0 once the run completes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from ..common.cli_support import EXIT_OK, info, standalone_main
from ..common.config import load_config
from ..common.text import usd
from ..common.workspace import Workspace
from .engine import RunnerStats
from .progress import Progress
from .stage import dataset_file, dataset_info, run_stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", type=Path, help="pipeline.yaml (or its folder)")
    parser.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help="dataset.jsonl from the generator (or its folder)",
    )
    parser.add_argument(
        "--workspace-dir", type=Path, default=None, help="workspace root (default: the pipeline's)"
    )
    parser.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue this interrupted run")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.pipeline)
    workspace = Workspace(args.workspace_dir if args.workspace_dir is not None else config.workspace)
    model = config.runner.model or "(default)"
    info(f"runner: {config.name}: backend {config.runner.backend}, model {model}")
    total = dataset_info(dataset_file(args.dataset))["n_samples"] * config.runner.repeats
    progress = Progress(total, sys.stderr, interactive=sys.stderr.isatty())
    outcome = asyncio.run(run_stage(config, args.dataset, workspace, on_result=progress, resume=args.resume))
    info(summary_line(outcome.stats))
    print(outcome.run.path, flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main(
        "lm-eval-so runner",
        "Run a dataset through the pipeline's backend; print the run directory.",
        add_arguments,
        run,
        argv,
    )


def summary_line(stats: RunnerStats) -> str:
    cost = usd(stats.cost_usd)
    usage = stats.usage
    unknown = f", usage unknown for {stats.n_usage_unknown}" if stats.n_usage_unknown else ""
    return (
        f"runner: {stats.n_requests} results ({stats.n_cached} from cache), {stats.n_errors} errors, "
        f"{usage.total_tokens} tokens ({usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion{unknown}), cost {cost}, {stats.wall_seconds:.2f}s, "
        f"cache {stats.cache_hits} hits / {stats.cache_misses} misses"
        + (f", {stats.resumed} resumed" if stats.resumed else "")
        + (" -- STOPPED: runner.max_cost_usd reached" if stats.stopped == "budget_exhausted" else "")
    )


if __name__ == "__main__":
    sys.exit(main())
