from ._internal.cli import entry

raise SystemExit(entry())
