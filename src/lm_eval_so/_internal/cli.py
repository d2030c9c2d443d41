"""The ``lm-eval-so`` command. Sub-commands delegate to the layers; this file only wires them.

    lm-eval-so run pipeline.yaml [--dry-run] [--workspace-dir DIR] [--model NAME] [--limit N]
                                 [--cache MODE | --no-cache] [--set dotted.key=value ...]
    lm-eval-so gen-dataset pipeline.yaml            -> prints dataset.jsonl path
    lm-eval-so runner pipeline.yaml --dataset PATH  -> prints the run directory
    lm-eval-so evaluator RUN_DIR                    -> scores, summary, reports
    lm-eval-so run --resume RUN_DIR                 -> continue an interrupted run
    lm-eval-so run pipeline.yaml --shard I/N        -> run shard I of N (auto/N, auto: from the env)
    lm-eval-so merge SHARD_RUN... [--out DIR]       -> one scored, gated run from the shards
    lm-eval-so cache stats|clear [--workspace-dir DIR]

Exit codes: 0 every gate held, 1 a gate failed (or the run stopped early), 2 usage or config
error (a dry run whose plan is NOT READY too), 3 internal error. A shard (``--shard``) is not
gated on its own partial data: 0 it ran every pair it owns, 1 it stopped early (the budget),
2 and 3 as usual; ``merge`` evaluates the gates.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import __version__
from .common.cli_support import (
    EXIT_OK,
    EXIT_THRESHOLDS,
    EXIT_USAGE,
    guarded,
    info,
    own_process,
    positive_int,
    set_quiet,
    stdout_gone,
)
from .common.errors import ConfigError
from .common.text import usd

if TYPE_CHECKING:
    from .orchestrator import ExperimentResult, PipelineResult


def _run_command(args: argparse.Namespace) -> int:
    # Imported here so `lm-eval-so --help` stays fast.
    from .orchestrator import ExperimentResult, run_pipeline

    pipeline = args.pipeline
    if args.resume is not None:
        args.resume = _resume_dir(args)
    if pipeline is None:
        if args.resume is None:
            raise ConfigError("run: give the pipeline.yaml (or --resume RUN_DIR)")
        from .common.provenance import original_config_path

        pipeline = original_config_path(args.resume)
    shard = None
    if args.shard is not None:
        from .common.shard import parse_shard

        shard = parse_shard(args.shard)
        if args.cell is not None:
            raise ConfigError("run: --shard and --cell do not go together (a matrix cell is not sharded)")
    if args.cell is not None:
        return _run_cell(args, pipeline)
    result = run_pipeline(
        pipeline,
        workspace_dir=args.workspace_dir,
        dry_run=args.dry_run,
        resume=args.resume,
        overrides=run_overrides(args) or None,
        shard=shard,
    )
    if isinstance(result, ExperimentResult):
        return _report_experiment(result)
    if result.summary is None and result.run_dir is not None:
        return _report_shard(result)
    return _report_run(result)


def _report_shard(result: PipelineResult) -> int:
    """A shard's run: what it ran, where; 0 when it ran every pair it owns (no gate is judged)."""
    from .common.records import RunManifest
    from .common.shard import GATES_BY_MERGE
    from .common.workspace import RunDir, read_model
    from .runner.stage import stopped_early

    assert result.run_dir is not None
    manifest = read_model(RunDir(result.run_dir).manifest, RunManifest)
    shard = manifest.shard
    assert shard is not None
    done, errors = manifest.counts.get("requests", 0), manifest.counts.get("errors", 0)
    info(
        f"{manifest.pipeline}: shard {shard.index}/{shard.count} (group {shard.group}, host {shard.host}): "
        f"{done} of {shard.planned} results, {errors} errors; {GATES_BY_MERGE}"
    )
    stopped = stopped_early(result.run_dir)
    if stopped:
        info(stopped)
    print(result.run_dir)
    return EXIT_THRESHOLDS if manifest.status == "budget_exhausted" else EXIT_OK


def _resume_dir(args: argparse.Namespace) -> str:
    """``--resume``: a run directory, or a short reference (``latest``, ``PIPELINE@latest``, a
    run-id prefix) in ``--workspace-dir``, else the pipeline's workspace, else ./workspace."""
    from pathlib import Path

    from .common.refs import is_short_ref, resolve_run

    ref = str(args.resume)
    if Path(ref).is_dir() or not is_short_ref(ref):
        return ref
    workspace = args.workspace_dir
    if workspace is None and args.pipeline is not None:
        from .common.matrix import Experiment, load_pipeline

        loaded = load_pipeline(args.pipeline)
        first = next(iter(loaded.cells.values())) if isinstance(loaded, Experiment) else loaded
        workspace = first.workspace
    return str(resolve_run(ref, workspace))


def _report_run(result: PipelineResult) -> int:
    from .evaluator.cli import format_summary
    from .runner.stage import stopped_early

    if result.plan is not None:
        print(result.plan.render())
        if not result.plan.ready:
            print("dry run: NOT READY: the run would fail to start (see credentials above)")
            return EXIT_USAGE
        print(dry_run_note(result.plan.imports_code))
        return EXIT_OK
    assert result.summary is not None and result.run_dir is not None
    info(format_summary(result.summary))
    report = result.report_path("html")
    if report is not None:
        info(f"report: {report}")
    stopped = stopped_early(result.run_dir)
    if stopped:
        info(stopped)
    print(result.run_dir)
    return EXIT_OK if result.passed else EXIT_THRESHOLDS


def _run_cell(args: argparse.Namespace, pipeline: str) -> int:
    """``--cell NAME``: one cell of a matrix pipeline, as an ordinary run."""
    from .common.matrix import Experiment, load_pipeline
    from .orchestrator.experiment import run_experiment_async

    loaded = load_pipeline(pipeline)
    if not isinstance(loaded, Experiment):
        raise ConfigError(f"{pipeline}: --cell needs a pipeline with a matrix: section")
    experiment = loaded.with_overrides(run_overrides(args) or None)
    result = asyncio.run(
        run_experiment_async(
            experiment, workspace_dir=args.workspace_dir, dry_run=args.dry_run, cell=args.cell
        )
    )
    if result.plans:
        return _report_run(PipelineResult(experiment.name, "", True, plan=result.plans[args.cell]))
    return _report_run(result.cell(args.cell))


def _report_experiment(result: ExperimentResult) -> int:
    from .evaluator.cli import format_summary

    if result.dry_run:
        print(render_grid(result))
        ready = all(plan.ready for plan in result.plans.values())
        print("dry run: NOT READY (see credentials above)" if not ready else dry_run_note(False))
        return EXIT_OK if ready else EXIT_USAGE
    for name, cell in result.cells.items():
        assert cell.summary is not None
        info(f"--- cell {name}{' (baseline)' if name == result.baseline else ''}")
        info(format_summary(cell.summary))
    if result.stopped:
        info(f"STOPPED: {result.stopped}")
    if result.comparison is not None:
        path = result.report_path("md")
        if path is not None:
            info(path.read_text(encoding="utf-8").rstrip())
        info(f"experiment: {result.directory}")
    verdict = "PASSED" if result.passed else "FAILED"
    info(f"{result.name}: {verdict} ({len(result.cells)} cells)")
    print(result.directory or "")
    return EXIT_OK if result.passed else EXIT_THRESHOLDS


def render_grid(result: ExperimentResult) -> str:
    """A dry run of a matrix: one line per cell with its requests, estimated cost and readiness."""
    rows = [("cell", "backend", "model", "requests", "est. cost", "credentials")]
    for name, plan in result.plans.items():
        cost = usd(plan.est_cost_usd)
        label = f"{name} (baseline)" if name == result.baseline else name
        rows.append(
            (label, plan.backend, plan.model or "(default)", str(plan.n_requests), cost, plan.credentials)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    total = sum(plan.n_requests for plan in result.plans.values())
    lines.append(f"{len(result.plans)} cells, {total} requests")
    return "\n".join(lines)


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "run a pipeline end to end (generator, runner, evaluator)"
    parser = sub.add_parser("run", help=text, description=text)
    parser.add_argument(
        "pipeline", nargs="?", help="path to pipeline.yaml (or its directory); optional with --resume"
    )
    parser.add_argument("--dry-run", action="store_true", help="validate and print the plan; call no model")
    parser.add_argument("--workspace-dir", help="workspace directory (default: the config's `workspace`)")
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue an interrupted run in its own directory (same config required); also a short "
        "reference: latest, PIPELINE@latest, a run-id prefix",
    )
    parser.add_argument("--cell", metavar="NAME", help="a matrix pipeline: run only this cell")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="run only shard I of N (0-based) of dataset x repeats; auto/N or auto read "
        "JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID/COUNT (Slurm); "
        "combine the shards with `lm-eval-so merge`",
    )
    parser.add_argument("--model", metavar="NAME", help="run against this model (runner.model)")
    parser.add_argument("--limit", metavar="N", type=positive_int, help="at most N samples (generator.limit)")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        metavar="MODE",
        choices=["read_write", "read_only", "off"],
        help="response cache (runner.cache): read_write, read_only (strict replay) or off",
    )
    cache.add_argument(
        "--no-cache",
        action="store_const",
        const="off",
        dest="cache",
        help="ask the model afresh (--cache off)",
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one field, e.g. --set runner.params.temperature=0.7 (repeatable)",
    )
    parser.set_defaults(handler=_run_command)


def dry_run_note(imported_code: bool) -> str:
    """What a dry run did, truthfully: it writes nothing, but checking code means importing it."""
    note = "dry run: no model was called, no dataset or run was written"
    if imported_code:
        note += "; the modules named by `function:` were imported (their top-level code ran) to check them"
    return note


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The dotted-path overrides of ``run``'s switches; ``--set`` is applied last."""
    from .common.overrides import parse_overrides

    overrides: dict[str, Any] = {}
    if args.model is not None:
        overrides["runner.model"] = args.model
    if args.limit is not None:
        overrides["generator.limit"] = args.limit
    if args.cache is not None:
        overrides["runner.cache"] = args.cache
    overrides.update(parse_overrides(args.overrides))
    return overrides


# Each sub-command's module, imported only when that command runs (or its --help is asked for):
# `lm-eval-so run` need not pay for the viewer, the catalog or compare at start-up.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("gen-dataset", ".generator.cli", "build the versioned dataset; prints its path"),
    ("runner", ".runner.cli", "run a dataset through the backend; prints the run directory"),
    ("evaluator", ".evaluator.cli", "score a run, write summary and reports"),
    ("compare", ".evaluator.compare_cli", "compare two runs: per-metric deltas, significance, flips"),
    ("merge", ".orchestrator.merge_cli", "merge shard runs (run --shard I/N) into one scored, gated run"),
    ("plugins", "..plugins._cli", "list installed backends, metrics, reporters and sources"),
    ("cache", ".runner.cache_cli", "response cache: show statistics or clear it"),
    ("runs", ".runs_cli", "the workspace's runs: list, show one, prune old ones"),
    ("init", ".init_cli", "write a starter pipeline.yaml and data.csv (refuses to overwrite)"),
    ("view", ".viewer.cli", "browse a workspace's runs in a local, read-only web page"),
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, importing every sub-command's module; with ``only``, just that one's.

    ``only=""`` imports none: the top-level help and argparse's "invalid choice" error need only
    the names and help lines, which every sub-command keeps either way.
    """
    parser = argparse.ArgumentParser(
        prog="lm-eval-so",
        description="LLM evaluations as tests: one pipeline.yaml, from raw data to gated reports.",
    )
    parser.add_argument("--version", action="version", version=f"lm-eval-so {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run(sub)
    for one in sub.choices.values():
        _add_quiet(one)
    for name, module_name, text in COMMANDS:
        stage = sub.add_parser(name, help=text, description=text)
        if only is None or only == name:
            module = importlib.import_module(module_name, __package__)
            module.add_arguments(stage)
            stage.set_defaults(handler=module.run)
        _add_quiet(stage)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names, if it names a known one (top-level options take no value)."""
    for arg in argv:
        if not arg.startswith("-"):
            known = arg == "run" or any(arg == name for name, _, _ in COMMANDS)
            return arg if known else None
    return None


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    # -q works before or after the sub-command; SUPPRESS keeps the top-level value otherwise.
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only errors on stderr"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(argv) or "")
    args = parser.parse_args(argv)  # usage errors exit 2 from argparse itself
    set_quiet(args.quiet)
    # Third-party loggers stay at WARNING: an HTTP library logs request URLs at INFO, and a
    # URL may carry what it should not. Only lm-eval-so's own progress logs at INFO.
    logging.basicConfig(level=logging.WARNING, format="lm-eval-so: %(message)s", stream=sys.stderr)
    ours = logging.getLogger("lm_eval_so")
    before = ours.level
    ours.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return guarded(lambda: int(args.handler(args)))
    finally:
        ours.setLevel(before)  # main() called in-process (tests, notebooks) leaves no trace
        set_quiet(False)


def entry() -> int:
    """The console script and ``python -m lm_eval_so``: :func:`main` in a process of its own."""
    own_process()
    code = main()
    try:
        sys.stdout.flush()  # here, not at exit, where a closed pipe ends in a traceback
    except BrokenPipeError:
        code = stdout_gone()
    # The interpreter's last collection at exit would walk every module, class and schema
    # once more (~40 ms measured); they are about to go anyway.
    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(entry())
