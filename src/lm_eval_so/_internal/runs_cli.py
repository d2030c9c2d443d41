"""``lm-eval-so runs``: the runs of a workspace, listed, shown and pruned.

    lm-eval-so runs list [--pipeline P] [--status S] [--since 7d] [--limit N] [--json]
    lm-eval-so runs show RUN [--json]
    lm-eval-so runs prune --keep N [--pipeline P] [--protect RUN ...] [--dry-run] [--yes]

The workspace is ``--workspace-dir``, else the workspace of the pipeline ``--pipeline`` names
when it names a pipeline.yaml (or its folder), else ``./workspace``. RUN is a run directory or a
short reference (``latest``, ``latest~1``, ``PIPELINE@latest``, a unique run-id prefix).

``prune`` keeps the ``N`` newest runs of each pipeline and deletes the older ones, except runs
that are in progress (their lock is held; deleting happens under that lock, so a run cannot start
meanwhile) and baselines: the cells of every experiment (``experiments/*/manifest.json``), the
run that ``lm_eval_baseline`` (or ``--lm-eval-baseline`` in ``addopts`` or ``PYTEST_ADDOPTS``)
names in a pytest configuration found in the current directory, the workspace's folder or
their parents, and every ``--protect RUN``. It lists what it would delete and asks before it
does, unless ``--yes``.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .common.catalog import STATUSES, Catalog, RunInfo, newest_first, parse_time
from .common.cli_support import EXIT_OK, EXIT_USAGE, info, positive_int, standalone_main
from .common.errors import ArtifactError, ConfigError
from .common.refs import DEFAULT_WORKSPACE, is_short_ref, parse_latest, pick, resolve_run
from .common.refs import HELP as REF_HELP
from .common.text import usd
from .common.workspace import RUN_LOCK, RunDir, Workspace, run_lock

_AGE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
INI_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


# --------------------------------------------------------------------------- arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="a table of the workspace's runs, newest first")
    _workspace_arguments(listing)
    listing.add_argument("--status", choices=STATUSES, action="append", help="only runs with this status")
    listing.add_argument(
        "--since", metavar="WHEN", type=since_time, help="only runs started since: 7d, 12h, 30m, 2w or a date"
    )
    listing.add_argument("--limit", metavar="N", type=positive_int, help="at most the N newest")
    listing.add_argument("--json", action="store_true", help="one JSON array of runs on standard output")
    show = sub.add_parser("show", help="one run: where it is, what it ran and its summary")
    show.add_argument("run", metavar="RUN", help=REF_HELP)
    show.add_argument("--workspace-dir", metavar="DIR", help="workspace (default: ./workspace)")
    show.add_argument("--json", action="store_true", help="the run and its summary as JSON")
    prune = sub.add_parser("prune", help="delete old runs, keeping the newest N of each pipeline")
    _workspace_arguments(prune)
    prune.add_argument(
        "--keep", metavar="N", type=positive_int, required=True, help="runs to keep per pipeline (newest)"
    )
    prune.add_argument(
        "--protect", metavar="RUN", action="append", default=[], help="never delete this run (repeatable)"
    )
    prune.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
    prune.add_argument("-y", "--yes", action="store_true", help="do not ask before deleting")
    for action in (listing, show, prune):  # -q after the action too, as after any command
        action.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only errors on stderr"
        )


def _workspace_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace-dir", metavar="DIR", help="workspace (default: see --pipeline)")
    parser.add_argument(
        "--pipeline",
        metavar="P",
        help="only this pipeline: a name, or a pipeline.yaml (or its folder), whose workspace is "
        "then the default",
    )


def since_time(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` (ago), or an ISO date or time (UTC unless it says)."""
    now = now or datetime.now(timezone.utc)
    found = _AGE.match(text.strip())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    when = parse_time(text.strip())
    if when is None:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use 30m, 12h, 7d, 2w, 2026-12-01 or 2026-12-01T08:00)"
        )
    return when


def run(args: argparse.Namespace) -> int:
    action = {"list": _list, "show": _show, "prune": _prune}[args.runs_command]
    return action(args)


# --------------------------------------------------------------------------- which runs


@dataclass(frozen=True)
class Scope:
    workspace: Workspace
    pipelines: frozenset[str] | None  # None: every pipeline


def scope_of(workspace_dir: str | None, pipeline: str | None) -> Scope:
    """The workspace and pipelines ``--workspace-dir`` and ``--pipeline`` select."""
    names: frozenset[str] | None = None
    root: str | Path | None = workspace_dir
    if pipeline is not None:
        path = Path(pipeline)
        if path.is_file() or (path.is_dir() and (path / "pipeline.yaml").is_file()):
            from .common.matrix import Experiment, load_pipeline

            loaded = load_pipeline(path)
            if isinstance(loaded, Experiment):
                names = frozenset(cell.name for cell in loaded.cells.values())
                first = next(iter(loaded.cells.values()))
                root = root if root is not None else first.workspace
            else:
                names = frozenset({loaded.name})
                root = root if root is not None else loaded.workspace
        else:
            names = frozenset({pipeline})
    return Scope(Workspace(root if root is not None else DEFAULT_WORKSPACE), names)


def _selected(scope: Scope, catalog: Catalog) -> list[RunInfo]:
    runs = catalog.runs()
    if scope.pipelines is not None:
        runs = [r for r in runs if r.pipeline in scope.pipelines]
    return runs


# --------------------------------------------------------------------------- list


def _list(args: argparse.Namespace) -> int:
    scope = scope_of(args.workspace_dir, args.pipeline)
    catalog = Catalog(scope.workspace)
    runs = newest_first(_selected(scope, catalog))
    total = len(runs)
    if args.status:
        runs = [r for r in runs if r.status in args.status]
    if args.since is not None:
        runs = [r for r in runs if r.started_at is not None and r.started_at >= args.since]
    if args.limit is not None:
        runs = runs[: args.limit]
    if args.json:
        print(json.dumps([r.to_json() for r in runs], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not runs:
        info(f"no runs{' match' if total else ''} in {scope.workspace.runs_dir}")
        return EXIT_OK
    print(render_table(runs))
    info(f"{len(runs)} of {total} runs in {scope.workspace.runs_dir}")
    return EXIT_OK


HEADER = (
    "run",
    "pipeline",
    "when (UTC)",
    "backend/model",
    "status",
    "first metric",
    "gates",
    "cost",
    "cached",
)


def row_cells(run: RunInfo) -> tuple[str, ...]:
    """The ``runs list`` columns of one run, as text (the viewer's index shows the same)."""
    return (
        run.run_id,
        run.pipeline,
        when_text(run.started_at),
        backend_text(run),
        run.status,
        metric_text(run),
        gates_text(run),
        cost_text(run),
        cache_text(run),
    )


def when_text(when: datetime | None) -> str:
    return "-" if when is None else when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def backend_text(run: RunInfo) -> str:
    if run.backend is None:
        return "-"
    return f"{run.backend}/{run.model}" if run.model else run.backend


def metric_text(run: RunInfo) -> str:
    metric = run.first_metric
    if metric is None:
        return "-"
    if not metric.n:
        return f"{metric.name} - (no scores)"
    return f"{metric.name} {_num(metric.mean)} [{_num(metric.ci_low)}, {_num(metric.ci_high)}]"


def gates_text(run: RunInfo) -> str:
    if run.summary is None:
        return "-"
    counts = run.gates()
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    return ", ".join(parts) or "none"


def cost_text(run: RunInfo) -> str:
    if run.summary is None:
        return "-"
    return usd(run.summary.cost_usd)


def cache_text(run: RunInfo) -> str:
    if run.summary is None:
        return "-"
    return f"{run.summary.n_cached}/{run.summary.n_results}"


def _num(value: float) -> str:
    return f"{value:.3f}" if value == value else "nan"


def render_table(runs: Sequence[RunInfo]) -> str:
    rows = [HEADER, *(row_cells(r) for r in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


# --------------------------------------------------------------------------- show


def _show(args: argparse.Namespace) -> int:
    path = resolve_run(args.run, args.workspace_dir)
    from .common.catalog import read_run

    found = read_run(path)
    if args.json:
        data = {
            "run": found.to_json(),
            "summary": found.summary.model_dump(mode="json") if found.summary else None,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    lines = [
        f"run       {found.run_id}",
        f"path      {found.path}",
        f"pipeline  {found.pipeline}",
        f"started   {when_text(found.started_at)} UTC",
        f"backend   {backend_text(found)}",
        f"status    {found.status}"
        + (f" (manifest: {found.manifest_status})" if found.manifest_status else ""),
    ]
    if found.config_hash:
        lines.append(f"config    {found.config_hash[:12]}")
    if found.problem:
        lines.append(f"problem   {found.problem}")
    print("\n".join(lines))
    if found.summary is not None:
        from .evaluator.cli import format_summary

        print()
        print(format_summary(found.summary))
    else:
        print("\nnot scored yet: no summary.json (lm-eval-so evaluator RUN scores it)")
    return EXIT_OK


# --------------------------------------------------------------------------- prune


@dataclass(frozen=True)
class Protected:
    path: Path
    reason: str


def _prune(args: argparse.Namespace) -> int:
    scope = scope_of(args.workspace_dir, args.pipeline)
    catalog = Catalog(scope.workspace)
    everything = catalog.runs()
    protected = {p.path.resolve(): p.reason for p in baselines(scope.workspace, everything)}
    for ref in args.protect:
        path = resolve_run(ref, scope.workspace.root, catalog=catalog)
        protected.setdefault(path.resolve(), "--protect")
    runs = _selected(scope, catalog)
    by_pipeline: dict[str, list[RunInfo]] = {}
    for found in newest_first(runs):
        by_pipeline.setdefault(found.pipeline, []).append(found)
    doomed: list[RunInfo] = []
    spared: list[tuple[RunInfo, str]] = []
    for group in by_pipeline.values():
        for found in group[args.keep :]:
            reason = protected.get(found.path.resolve())
            if reason is None and found.status == "running":
                reason = "in progress"
            if reason is None:
                doomed.append(found)
            else:
                spared.append((found, reason))
    for found, reason in spared:
        info(f"keeping {found.run_id}: {reason}")
    if not doomed:
        info(f"nothing to delete: {len(runs)} runs, none older than the newest {args.keep} per pipeline")
        return EXIT_OK
    for found in doomed:
        verb = "would delete" if args.dry_run else "delete"
        print(f"{verb} {found.run_id}  ({found.pipeline}, {found.status})")
    kept = len(runs) - len(doomed)
    if args.dry_run:
        info(f"dry run: would delete {len(doomed)} of {len(runs)} runs, keep {kept}")
        return EXIT_OK
    if not args.yes and not _confirm(f"Delete these {len(doomed)} run directories? [y/N] "):
        info("nothing deleted")
        return EXIT_USAGE if not sys.stdin.isatty() else EXIT_OK
    deleted, skipped = 0, 0
    for found in doomed:
        try:
            delete_run(found.path)
        except ArtifactError as exc:  # it started meanwhile: its lock is held
            info(f"skipped {found.run_id}: {exc}")
            skipped += 1
        else:
            deleted += 1
    info(f"deleted {deleted} runs, kept {kept + skipped}")
    return EXIT_OK


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        info("standard input is not a terminal: pass --yes to delete without asking")
        return False
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def delete_run(path: Path) -> None:
    """Delete a run directory under its lock; :class:`ArtifactError` if the run is in progress."""
    run = RunDir(path)
    with run_lock(run):
        for child in path.iterdir():
            if child.name == RUN_LOCK:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    shutil.rmtree(path)


# --------------------------------------------------------------------------- baselines


def baselines(workspace: Workspace, runs: list[RunInfo], start: Path | None = None) -> list[Protected]:
    """Runs something else depends on: experiment cells and the pytest plugin's baseline."""
    found = list(_experiment_cells(workspace))
    for value, where in _baseline_settings(workspace, start or Path.cwd()):
        found += _baseline_runs(value, where, workspace, runs)
    return found


def _experiment_cells(workspace: Workspace) -> Iterable[Protected]:
    root = workspace.root / "experiments"
    if not root.is_dir():
        return
    for manifest in sorted(root.glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        cells = data.get("cells") if isinstance(data, dict) else None
        for name, cell in (cells or {}).items():
            run_dir = cell.get("run_dir") if isinstance(cell, dict) else None
            if run_dir:
                yield Protected(Path(run_dir), f"cell {name} of experiment {manifest.parent.name}")


def _baseline_settings(workspace: Workspace, start: Path) -> list[tuple[str, Path]]:
    """``(value, directory it is relative to)`` of every baseline setting that can be found."""
    settings: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for origin in (start.resolve(), workspace.root.parent):
        for folder in (origin, *origin.parents):
            for name in INI_FILES:
                path = folder / name
                if path in seen or not path.is_file():
                    continue
                seen.add(path)
                settings += [(value, folder) for value in _ini_baselines(path)]
    for value in _addopts_baselines(os.environ.get("PYTEST_ADDOPTS", "")):
        settings.append((value, start.resolve()))
    return settings


def _ini_baselines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if path.name == "pyproject.toml":
        options = _toml_pytest_options(text)
    else:
        section = {"setup.cfg": "tool:pytest"}.get(path.name, "pytest")
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error:
            return []
        options = dict(parser[section]) if parser.has_section(section) else {}
    values = [str(options["lm_eval_baseline"]).strip()] if options.get("lm_eval_baseline") else []
    addopts = options.get("addopts", "")
    if isinstance(addopts, list):
        addopts = " ".join(map(str, addopts))
    return values + _addopts_baselines(str(addopts))


def _toml_pytest_options(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10: the two keys, read by hand
        found = {}
        for key in ("lm_eval_baseline", "addopts"):
            match = re.search(rf"^\s*{key}\s*=\s*[\"'](.*?)[\"']\s*$", text, re.MULTILINE)
            if match:
                found[key] = match.group(1)
        return found
    try:
        data = tomllib.loads(text)
    except ValueError:
        return {}
    options = data.get("tool", {}).get("pytest", {}).get("ini_options", {})
    return options if isinstance(options, dict) else {}


def _addopts_baselines(addopts: str) -> list[str]:
    try:
        words = shlex.split(addopts)
    except ValueError:
        return []
    values = []
    for index, word in enumerate(words):
        if word == "--lm-eval-baseline" and index + 1 < len(words):
            values.append(words[index + 1])
        elif word.startswith("--lm-eval-baseline="):
            values.append(word.split("=", 1)[1])
    return values


def _baseline_runs(value: str, base: Path, workspace: Workspace, runs: list[RunInfo]) -> list[Protected]:
    """The runs a ``--lm-eval-baseline`` value can name in this workspace."""
    reason = f"baseline {value!r} of the pytest plugin (from {base})"
    path = (base / Path(value).expanduser()).resolve()
    if path.is_dir():
        if (path / "summary.json").is_file() or (path / "manifest.json").is_file():
            return [Protected(path, reason)]
        runs_dir = path / "runs" if (path / "runs").is_dir() else path
        if runs_dir.resolve() != workspace.runs_dir.resolve():
            return []
        # A workspace: the plugin takes the newest scored run of each pipeline.
        newest: dict[str, RunInfo] = {}
        for found in newest_first(r for r in runs if r.scored):
            newest.setdefault(found.pipeline, found)
        return [Protected(r.path, reason) for r in newest.values()]
    if not is_short_ref(value):
        return []
    latest = parse_latest(value)
    pipelines = {r.pipeline for r in runs} if latest is not None and latest.pipeline is None else {None}
    protected = []
    for pipeline in pipelines:
        try:
            chosen = pick(value, runs, workspace, pipeline=pipeline)
        except (ArtifactError, ConfigError):
            continue
        protected.append(Protected(chosen.path, reason))
    return protected


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("lm-eval-so runs", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
