"""``lm-eval-so view --export DIR``: the viewer's pages as a static site that opens from ``file://``.

The same pages as the server, at the same relative paths, so every link works without one:
``index.html``, ``runs/<id>.html``, ``trends/<pipeline>.html``, ``experiments/<id>.html`` and the
comparisons that can be written ahead of time: each scored run against the previous scored run
of its pipeline, and each experiment cell against its baseline (the index's picker says when a
pair was not exported; ``lm-eval-so view`` compares any two). The folder must be new, empty,
or an earlier export (marked by a ``.lm-eval-so-export`` file); it is never the workspace.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..common.catalog import RunInfo
from ..common.errors import ConfigError
from ..common.workspace import Workspace, atomic_write_text
from .site import Page, Site

MARKER = ".lm-eval-so-export"
# A run id or pipeline name becomes a file name as it is (links percent-encode it, which is the
# same for these characters); anything else is left out of the export rather than risked.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@-]{0,200}")


def _safe(name: str) -> bool:
    return _SAFE.fullmatch(name) is not None


def consecutive_pairs(runs: list[RunInfo]) -> set[tuple[str, str]]:
    """(previous, run) for every scored run and the scored run of its pipeline before it."""
    pairs: set[tuple[str, str]] = set()
    last: dict[str, RunInfo] = {}
    for run in sorted(runs, key=lambda r: r.order):
        if run.summary is None:
            continue
        before = last.get(run.pipeline)
        if before is not None:
            pairs.add((before.run_id, run.run_id))
        last[run.pipeline] = run
    return pairs


def export_site(root: str | Path, target: str | Path) -> dict[str, int]:
    """Write the site of the workspace at ``root`` into ``target``; returns pages written per kind."""
    workspace = Workspace(root)
    out = Path(target).expanduser().resolve()
    _check_target(out, workspace)
    site = Site(workspace)
    runs = [run for run in site.catalog.runs() if _safe(run.run_id) and _safe(run.pipeline)]
    known = {run.run_id for run in runs}
    pairs = {(a, b) for a, b in consecutive_pairs(runs) | site.experiment_pairs() if {a, b} <= known}
    site.exported_pairs = pairs
    counts = {"index": 0, "runs": 0, "compare": 0, "trends": 0, "experiments": 0}
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by lm-eval-so view --export; safe to delete\n", encoding="utf-8")
    _write(out / "index.html", site.index())
    counts["index"] = 1
    for run in runs:
        _write(out / "runs" / f"{run.run_id}.html", site.run(run.run_id))
        counts["runs"] += 1
    for a, b in sorted(pairs):
        _write(out / "compare" / a / f"{b}.html", site.compare(a, b))
        counts["compare"] += 1
    for pipeline in sorted({run.pipeline for run in runs}):
        _write(out / "trends" / f"{pipeline}.html", site.trend(pipeline))
        counts["trends"] += 1
    for experiment in site.experiments():
        if _safe(experiment["id"]):
            _write(out / "experiments" / f"{experiment['id']}.html", site.experiment(experiment["id"]))
            counts["experiments"] += 1
    return counts


def _check_target(out: Path, workspace: Workspace) -> None:
    root = workspace.root
    if out == root or root in out.parents:
        raise ConfigError(f"{out}: the export goes outside the workspace ({root}), never into it")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: is a file; --export needs a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(f"{out}: not empty and not an earlier export; pick a new or empty directory")


def _write(path: Path, page: Page) -> None:
    atomic_write_text(path, page.html)
