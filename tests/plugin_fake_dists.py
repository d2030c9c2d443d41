"""Real distributions on a temporary ``sys.path`` entry, for registry tests (fixture ``plugin_path``).

``importlib.metadata`` finds a ``*.dist-info`` folder on any ``sys.path`` entry, exactly as it
finds an installed wheel, so these exercise the same discovery code a pip install does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from lm_eval_so._internal.common.registry import registry


def write_dist(
    root: Path,
    name: str,
    version: str,
    entry_points: Mapping[str, Mapping[str, str]],
    modules: Mapping[str, str] | None = None,
) -> None:
    """A distribution ``name`` whose entry points are ``{group_suffix: {name: "mod:attr"}}``."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    sections = [
        f"[lm_eval_so.{group}]\n" + "".join(f"{ep} = {value}\n" for ep, value in eps.items())
        for group, eps in entry_points.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(sections))
    for module, source in (modules or {}).items():
        (root / f"{module}.py").write_text(source)
    importlib.invalidate_caches()


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for fake distributions; the global registry is rescanned."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    registry.refresh()
    yield root
    monkeypatch.undo()
    registry.refresh()
