"""``lm-eval-so cache [--workspace-dir DIR] [PIPELINE] stats|clear``: the response cache.

The workspace is ``--workspace-dir``, else the one named by the pipeline, else ``./workspace``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..common.cli_support import EXIT_OK, info, standalone_main


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["stats", "clear"], help="show statistics, or delete every entry")
    parser.add_argument(
        "pipeline", nargs="?", type=Path, default=None, help="pipeline.yaml whose workspace to use"
    )
    parser.add_argument("--workspace-dir", type=Path, default=None, help="workspace root")


def run(args: argparse.Namespace) -> int:
    from ..common.workspace import Workspace
    from . import cache

    workspace = Workspace(_workspace_root(args))
    if args.action == "clear":
        removed = cache.clear(workspace.cache_dir)
        info(f"cache: removed {removed} entries from {cache.cache_path(workspace.cache_dir)}")
        return EXIT_OK
    found = cache.stats(workspace.cache_dir)
    print(f"cache: {found.path}")
    print(f"entries: {found.entries}")
    print(f"size: {found.size_bytes} bytes")
    return EXIT_OK


def _workspace_root(args: argparse.Namespace) -> Path:
    if args.workspace_dir is not None:
        return Path(args.workspace_dir)
    if args.pipeline is not None:
        from ..common.config import load_config

        return load_config(args.pipeline).workspace
    return Path("workspace")


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("lm-eval-so cache", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
