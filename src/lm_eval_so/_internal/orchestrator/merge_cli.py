"""``lm-eval-so merge SHARD_RUN... [--out WORKSPACE] [--allow-partial] [--dataset PATH]``.

Builds one run per pipeline from the runs of ``run --shard I/N`` (see
:mod:`lm_eval_so._internal.orchestrator.merge`), scores it and evaluates its gates. Prints each summary on
stderr and each merged run directory on stdout (one per line). Exit codes, as ``run``: 0 every
gate of every merged run held, 1 a gate failed (a partial merge always fails), 2 the shards do
not merge (the message names the culprit; nothing is written) or another usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..common.cli_support import EXIT_OK, EXIT_THRESHOLDS, info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shards",
        metavar="SHARD_RUN",
        nargs="+",
        help="a shard's run directory, or a directory holding shard runs (e.g. downloaded CI artifacts)",
    )
    parser.add_argument(
        "--out",
        metavar="WORKSPACE",
        help="workspace to write the merged run in (default: the first shard's workspace)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="merge the shards that exist (missing or unfinished ones allowed); the run then does not pass",
    )
    parser.add_argument(
        "--dataset",
        metavar="PATH",
        help="the dataset.jsonl the shards ran on (default: the path in their manifests)",
    )
    parser.add_argument(
        "--config",
        metavar="PIPELINE_YAML",
        help="score with this pipeline.yaml, which must hash like the shards' (default: their resolved copy)",
    )


def run(args: argparse.Namespace) -> int:
    from ..evaluator.cli import format_summary
    from .merge import merge_shards

    results = merge_shards(
        args.shards,
        workspace_dir=args.out,
        allow_partial=args.allow_partial,
        dataset=args.dataset,
        config=args.config,
    )
    for result in results:
        assert result.summary is not None and result.run_dir is not None
        info(format_summary(result.summary))
        info(_provenance(result.run_dir))
    for result in results:
        print(result.run_dir)
    return EXIT_OK if all(result.passed for result in results) else EXIT_THRESHOLDS


def _provenance(run_dir: Path) -> str:
    from ..common.records import RunManifest
    from ..common.workspace import RunDir, read_model

    manifest = read_model(RunDir(run_dir).manifest, RunManifest)
    merge = manifest.merge
    if merge is None:
        return f"merged run: {run_dir}"
    hosts = sorted({shard.host for shard in merge.shards})
    text = (
        f"merged {len(merge.shards)} of {merge.count} shards (group {merge.group}, "
        f"hosts {', '.join(hosts)}) into {run_dir}"
    )
    if merge.partial:
        text += f"\n  PARTIAL  {merge.partial}"
    return text
