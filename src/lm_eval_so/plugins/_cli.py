"""``lm-eval-so plugins``: what is registered.

One row per backend, metric, reporter and source with its distribution, version and import
path. Listing imports nothing; ``--check`` imports every plugin and exits 1 if any fails, which
is what a CI job that installs plugins wants.
"""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

from .._internal.common.cli_support import EXIT_OK, EXIT_THRESHOLDS, standalone_main
from .._internal.common.errors import PluginError
from .._internal.common.registry import CORE_DIST, KINDS, PluginInfo, PluginWarning, registry

COLUMNS = ("kind", "name", "distribution", "version", "import path")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, help="only this kind of plugin")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--check", action="store_true", help="import every plugin; exit 1 if one fails")


def run(args: argparse.Namespace) -> int:
    infos = registry.infos(args.kind)
    if args.check:
        _load_all(infos)
    rows = [_row(info, args.check) for info in infos]
    print(json.dumps(rows, indent=2) if args.json else render_table(rows))
    failed = any(info.error for info in infos)
    return EXIT_THRESHOLDS if args.check and failed else EXIT_OK


def _load_all(infos: list[PluginInfo]) -> None:
    # The failure is reported in the table's status column; the warning would only repeat it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        for info in infos:
            try:
                registry.get(info.kind, info.name)
            except PluginError:
                continue


def _row(info: PluginInfo, checked: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "kind": info.kind[:-1],
        "name": info.name,
        "distribution": info.dist,
        "version": info.version,
        "import path": info.value,
    }
    if info.shadowed:
        row["shadows"] = info.shadowed
    if info.kind == "backends" and info.dist == "lm-eval-so":
        from .._internal.models.backends import missing_extra

        extra = missing_extra(info.name)
        if extra:
            row["needs"] = f"pip install 'lm-eval-so{extra}'"
    if checked:
        row["status"] = f"failed: {info.error}" if info.error else "ok"
    return row


def render_table(rows: list[dict[str, Any]]) -> str:
    """Aligned columns; clashes (``shadows``) and ``status`` are appended when present."""
    if not rows:
        return "no plugins registered"
    columns = [*COLUMNS, *(extra for extra in ("status",) if extra in rows[0])]
    cells = [[_cell(row, c) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for row, line in zip(rows, cells, strict=True):
        text = "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        if row.get("shadows"):
            text += f"  (also in: {', '.join(row['shadows'])})"
        if row.get("needs"):
            text += f"  (not installed: {row['needs']})"
        lines.append(text)
    return "\n".join(lines)


def _cell(row: dict[str, Any], column: str) -> str:
    # The core's own classes live in internal modules: "built-in" says what a user needs to
    # know (``--json`` keeps the real path).
    if column == "import path" and row["distribution"] == CORE_DIST:
        return "built-in"
    return str(row[column])


def main(argv: list[str] | None = None) -> int:
    return standalone_main(
        "lm-eval-so plugins",
        "List registered backends, metrics, reporters and sources with their versions.",
        add_arguments,
        run,
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
