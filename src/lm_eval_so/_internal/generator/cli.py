"""``lm-eval-so gen-dataset PIPELINE_YAML``.

Builds the versioned dataset and prints only the ``dataset.jsonl`` path on stdout, so scripts
can chain stages: ``DS=$(lm-eval-so gen-dataset p.yaml)``. Status goes to stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..common.cli_support import EXIT_OK, info, standalone_main
from ..common.config import load_config
from ..common.secrets import check_prompts_hold_no_secret
from ..common.workspace import Workspace
from .generate import generate_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", help="path to pipeline.yaml (or its directory)")
    parser.add_argument("--workspace-dir", help="workspace directory (default: the config's `workspace`)")


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.pipeline))
    check_prompts_hold_no_secret(config)  # prompts are stored in clear in dataset.jsonl
    workspace = Workspace(args.workspace_dir if args.workspace_dir else config.workspace)
    ref = generate_dataset(config, workspace)
    state = "reused" if ref.reused else "created"
    info(f"dataset {ref.dataset_id}: {ref.n_samples} samples, {ref.content_hash[:12]} ({state})")
    print(ref.path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return standalone_main(
        "lm-eval-so gen-dataset",
        "Build the versioned dataset of a pipeline; print the dataset.jsonl path.",
        add_arguments,
        run,
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
