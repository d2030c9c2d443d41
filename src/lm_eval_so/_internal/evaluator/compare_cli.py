"""``lm-eval-so compare RUN_A RUN_B``: is candidate B worse than baseline A beyond noise?

Prints the comparison (Markdown by default) or writes it with ``--out``. A run is a directory
or a short reference in ``--workspace-dir`` (default ``./workspace``): ``latest``, ``latest~1``,
``PIPELINE@latest``, a unique run-id prefix; ``compare latest~1 latest`` checks the last change.
Exit codes: 0, or 1 with ``--fail-on-regression`` when some metric dropped significantly; 2 for
a bad run path or reference, two runs with no sample or metric in common, or an ``--alpha``
outside (0, 1).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from ..common.cli_support import EXIT_OK, EXIT_THRESHOLDS, info, standalone_main
from ..common.refs import HELP as REF_HELP
from ..common.refs import resolve_run
from ..common.workspace import atomic_write_text
from .compare import ALPHA, compare_runs
from .compare_render import RENDERERS


def significance_level(text: str) -> float:
    """``--alpha``: a finite number strictly between 0 and 1 (argparse exits 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value < 1):
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, exclusive (got {text!r})")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", metavar="RUN_A", help=f"baseline run: {REF_HELP}")
    parser.add_argument("run_b", metavar="RUN_B", help=f"candidate run: {REF_HELP}")
    parser.add_argument(
        "--workspace-dir", metavar="DIR", help="where short references look (default: ./workspace)"
    )
    parser.add_argument("--format", choices=["md", "html", "json"], default="md", help="output format")
    parser.add_argument("--out", metavar="PATH", help="write here instead of standard output")
    parser.add_argument(
        "--alpha", type=significance_level, default=ALPHA, help=f"significance level (default {ALPHA})"
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a metric dropped significantly (not on mere noise)",
    )


def run(args: argparse.Namespace) -> int:
    run_a = resolve_run(args.run_a, args.workspace_dir)
    run_b = resolve_run(args.run_b, args.workspace_dir)
    comparison = compare_runs(run_a, run_b, alpha=args.alpha)
    text = RENDERERS[args.format](comparison)
    if args.out:
        atomic_write_text(Path(args.out), text)
        info(f"comparison: {args.out}")
    else:
        print(text, end="")
    regressed = [m.name for m in comparison.metrics if m.regressed]
    if regressed:
        info(f"significant regression in: {', '.join(regressed)}")
    return EXIT_THRESHOLDS if args.fail_on_regression and regressed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("lm-eval-so compare", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
