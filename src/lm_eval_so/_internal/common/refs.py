"""Short references to runs, wherever a run directory is accepted.

    path/to/workspace/runs/<run_id>   a directory: used as it is
    20261201T0055                     a unique prefix of a run id in the workspace
    latest, latest~1, latest~2        the newest run, the one before it, ...
    support_bot@latest, qa@latest~2   the same among one pipeline's runs

Runs are ordered by when they started (see :mod:`.catalog`); ``latest`` counts every run
directory of the workspace, whatever its status. The workspace is the one given
(``--workspace-dir``, or the pipeline's), else ``./workspace``. A reference that matches
nothing, or a prefix that matches several runs, is an :class:`ArtifactError` (exit 2) naming
what it matched::

    run id prefix '2026' matches 2 runs: 20261201T005504Z-demo-6c9d8d32, 20261201T005505Z-…
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, RunInfo, newest_first
from .errors import ArtifactError
from .workspace import Workspace

DEFAULT_WORKSPACE = "workspace"
_LATEST = re.compile(r"^(?:(?P<pipeline>[A-Za-z0-9][A-Za-z0-9._-]*)@)?latest(?:~(?P<back>\d{1,6}))?$")
_LISTED = 5  # ids named in an ambiguity error

#: For ``--help``: what a RUN argument accepts.
HELP = "a run directory, a unique run-id prefix, latest, latest~N or PIPELINE@latest[~N]"


@dataclass(frozen=True)
class LatestRef:
    pipeline: str | None
    back: int


def parse_latest(ref: str) -> LatestRef | None:
    """``[PIPELINE@]latest[~N]`` parsed, or None when ``ref`` is not of that form."""
    found = _LATEST.match(ref)
    if found is None:
        return None
    return LatestRef(found.group("pipeline"), int(found.group("back") or 0))


def is_short_ref(ref: str) -> bool:
    """True when ``ref`` can only be a reference, not a path (no separator, not ``.``)."""
    return bool(ref) and "/" not in ref and "\\" not in ref and ref not in (".", "..")


def workspace_for(workspace: str | Path | None) -> Workspace:
    return Workspace(workspace if workspace is not None else DEFAULT_WORKSPACE)


def resolve_run(
    ref: str | Path,
    workspace: str | Path | None = None,
    *,
    pipeline: str | None = None,
    exclude: Path | None = None,
    catalog: Catalog | None = None,
) -> Path:
    """The run directory ``ref`` names (see the module docstring).

    ``pipeline`` is the pipeline a bare ``latest`` means (``--lm-eval-baseline``: the item's
    own); ``exclude`` is a run never returned (the run being checked against its baseline).
    """
    text = str(ref)
    path = Path(text).expanduser()
    if path.is_dir():
        return path.resolve()
    if not is_short_ref(text):
        raise ArtifactError(f"{text}: no such run directory")
    catalog = catalog or Catalog(workspace_for(workspace))
    return pick(text, catalog.runs(), catalog.workspace, pipeline=pipeline, exclude=exclude).path


def pick(
    ref: str,
    runs: list[RunInfo],
    workspace: Workspace,
    *,
    pipeline: str | None = None,
    exclude: Path | None = None,
) -> RunInfo:
    """The one run of ``runs`` that ``ref`` (a short reference) names."""
    if exclude is not None:
        runs = [r for r in runs if r.path.resolve() != exclude.resolve()]
    latest = parse_latest(ref)
    if latest is not None:
        wanted = latest.pipeline or pipeline
        chosen = newest_first(r for r in runs if wanted is None or r.pipeline == wanted)
        if latest.back < len(chosen):
            return chosen[latest.back]
        of = f" of pipeline {wanted!r}" if wanted else ""
        if not chosen:
            known = sorted({r.pipeline for r in runs})
            hint = f" (pipelines with runs: {', '.join(known)})" if wanted and known else ""
            raise ArtifactError(f"{ref}: no run{of} in {workspace.runs_dir}{hint}")
        raise ArtifactError(
            f"{ref}: {workspace.runs_dir} holds {len(chosen)} run{'s' if len(chosen) != 1 else ''}{of}, "
            f"so the newest is latest and the oldest latest~{len(chosen) - 1}"
        )
    exact = [r for r in runs if r.run_id == ref]
    if exact:
        return exact[0]
    matches = [r for r in runs if r.run_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        where = workspace.runs_dir
        raise ArtifactError(
            f"{ref}: not a run directory, and no run id in {where} starts with it "
            f"({len(runs)} runs there; see `lm-eval-so runs list`)"
        )
    names = ", ".join(r.run_id for r in matches[:_LISTED])
    more = f", … ({len(matches) - _LISTED} more)" if len(matches) > _LISTED else ""
    raise ArtifactError(
        f"run id prefix {ref!r} matches {len(matches)} runs: {names}{more}; give more of the id"
    )
