"""Score an existing run on its own: ``lm-eval-so evaluator RUN_DIR``.

By default the config is the run's resolved ``pipeline.yaml`` (modules resolved next to the
original pipeline) and the dataset path comes from its ``manifest.json``; ``--config`` scores
the run with other metrics or thresholds. A run that was scored already is never rewritten:
the new scores, summary and reports go to ``RUN_DIR/rescores/<utc>-<hash>/``. Prints the
summary on stderr and the directory written on stdout.
Exit codes: 0 thresholds met, 1 not met, 2 usage, config or artifact error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..common.cli_support import EXIT_OK, EXIT_THRESHOLDS, info, standalone_main
from ..common.config import load_config
from ..common.errors import ArtifactError
from ..common.provenance import load_run_config
from ..common.records import RunManifest, Summary
from ..common.refs import HELP as REF_HELP
from ..common.refs import resolve_run
from ..common.text import usd
from ..common.workspace import RunDir, read_model
from .evaluate import evaluate_run, is_scored
from .reports.wording import cache_phrase, cost_phrase, tokens_phrase


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help=f"the run to score: {REF_HELP}")
    parser.add_argument(
        "--workspace-dir", metavar="DIR", help="where a short reference looks (default: ./workspace)"
    )
    parser.add_argument(
        "--config",
        metavar="PIPELINE_YAML",
        help="pipeline to score with (default: RUN_DIR/pipeline.yaml)",
    )
    parser.add_argument(
        "--dataset",
        metavar="PATH",
        help="dataset.jsonl (default: the one named in RUN_DIR/manifest.json)",
    )


def run(args: argparse.Namespace) -> int:
    path = resolve_run(args.run_dir, args.workspace_dir)
    if not path.is_dir():
        raise ArtifactError(f"{path}: no such run directory")
    run_dir = RunDir(path.resolve())
    config_path = Path(args.config) if args.config else run_dir.config
    if not config_path.exists():
        raise ArtifactError(f"{config_path}: not found; pass --config PIPELINE_YAML")
    # The run's own copy resolves modules next to the original pipeline.yaml, as the run did.
    config = load_config(config_path) if args.config else load_run_config(run_dir.path)
    dataset = Path(args.dataset) if args.dataset else dataset_from_manifest(run_dir)
    # A scored run is history: scoring it again (other metrics, other thresholds) writes beside
    # it, in rescores/<utc>-<hash>/, and never over its summary, reports or manifest.
    target = run_dir.new_rescore(config.config_hash()) if is_scored(run_dir) else run_dir
    summary = evaluate_run(config, target, dataset, run_id=run_dir.run_id)
    info(format_summary(summary))
    if target.is_rescore:
        info(f"re-scored beside the run (its own summary is unchanged): {target.path}")
    print(target.path)
    return EXIT_OK if summary.passed else EXIT_THRESHOLDS


def dataset_from_manifest(run_dir: RunDir) -> Path:
    if not run_dir.manifest.exists():
        raise ArtifactError(f"{run_dir.manifest}: not found; pass --dataset PATH")
    manifest = read_model(run_dir.manifest, RunManifest)
    recorded = manifest.dataset.get("path")
    if not recorded:
        raise ArtifactError(f"{run_dir.manifest}: names no dataset path; pass --dataset PATH")
    dataset = Path(str(recorded))
    # A relative path is taken as relative to the run directory, not to wherever we run from.
    return dataset if dataset.is_absolute() else run_dir.path / dataset


def format_summary(summary: Summary) -> str:
    """A plain-text table of metrics, run figures and gates, for the terminal."""
    header: tuple[str, ...] = ("metric", "mean", "95% CI", "n", "pass@k")
    rows: list[tuple[str, ...]] = [
        (
            m.name,
            f"{m.mean:.3f}",
            f"{m.ci_low:.3f}-{m.ci_high:.3f}",
            str(m.n),
            " ".join(f"@{k}={v:.3f}" for k, v in (m.pass_at_k or {}).items()),
        )
        for m in summary.metrics.values()
    ]
    if not any(row[-1] for row in rows):  # no repeats: no pass@k column
        header, rows = header[:-1], [row[:-1] for row in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    ]
    lines.append(
        f"{summary.n_results} results for {summary.n_samples} samples ({cache_phrase(summary)}), "
        f"{summary.n_errors} errors ({summary.error_rate:.1%}), "
        f"{tokens_phrase(summary)}, cost {cost_phrase(summary)}, "
        f"latency p50 {summary.latency_ms.p50:.0f} ms p95 {summary.latency_ms.p95:.0f} ms"
    )
    if summary.judge_calls:
        judge = usd(summary.judge_cost_usd)
        lines.append(f"judge: {summary.judge_calls} calls, cost {judge} (not included above)")
    for outcome in summary.thresholds:
        mark = "PASS" if outcome.passed else "FAIL"
        if outcome.status == "inconclusive":
            mark = f"INCONCLUSIVE ({mark})"
        reason = f": {outcome.reason}" if outcome.reason else ""
        lines.append(f"  {mark}  {outcome.name}{reason}")
    if summary.stopped:
        lines.append(f"  STOPPED  {summary.stopped}")
    lines.append(f"{summary.pipeline}: {'PASSED' if summary.passed else 'FAILED'} ({summary.run_id})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main(
        "lm-eval-so evaluator", "Score a run; write scores, summary and reports.", add_arguments, run, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
