"""Where user code named in a pipeline.yaml (``function: module:name``) is imported from."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any


def add_pipeline_dir(base_dir: Path) -> None:
    """Make modules next to pipeline.yaml importable, and nothing else.

    Appended, not prepended: a file in the pipeline's folder (or the working directory) that
    happens to be called ``jinja2.py`` or ``json.py`` must never shadow a real package. The
    working directory is not added at all: installed packages and ``PYTHONPATH`` cover the rest.
    """
    folder = str(base_dir)
    if folder not in sys.path:
        sys.path.append(folder)


def module_conflict(module_name: str, base_dir: Path) -> str | None:
    """Why the imported ``module_name`` is not the module next to pipeline.yaml, or None.

    ``sys.modules`` holds one module per name for the whole process: a ``metrics.py`` imported
    for one pipeline would silently serve another pipeline's ``metrics:score`` (a pytest
    session collecting two folders), and an installed package of the same name comes first on
    ``sys.path``. Call after importing; None when the pipeline's folder has no such module or
    the imported one is it.
    """
    top = module_name.partition(".")[0]
    local = [base_dir / f"{top}.py", base_dir / top / "__init__.py"]
    mine = next((path for path in local if path.is_file()), None)
    module: Any = sys.modules.get(top)
    loaded = getattr(module, "__file__", None)
    if mine is None or loaded is None or Path(loaded).resolve() == mine.resolve():
        return None
    if _same_bytes(Path(loaded), mine):
        return None  # a copy of the same file answers the same (e.g. one app.py vendored twice)
    return (
        f"the module {top!r} in use is {loaded}, not {mine} next to pipeline.yaml "
        "(one module per name in a Python process); give the module a name of its own"
    )


def _same_bytes(a: Path, b: Path) -> bool:
    """The same source, up to blank lines and indentation at the edges (a copy of one file)."""
    try:
        return a.read_bytes().strip() == b.read_bytes().strip()
    except OSError:
        return False


def import_user_module(module_name: str, base_dir: Path) -> Any:
    """Import the module a pipeline's ``function:`` names, the one next to its pipeline.yaml.

    One Python process may run several pipelines (a pytest session, a notebook) whose folders
    each hold an ``app.py``. ``sys.modules`` keeps one module per name, so without care the
    first pipeline's ``app`` would answer for every other. When the pipeline's folder has the
    module, that file is imported for this pipeline (a cached module of the same name loaded
    from another user folder is set aside; functions already taken from it keep working).
    A module named like an installed package or the standard library is never shadowed: that
    is an error naming both files. Raises whatever importing the module raises.
    """
    add_pipeline_dir(base_dir)
    top = module_name.partition(".")[0]
    mine = next((p for p in (base_dir / f"{top}.py", base_dir / top / "__init__.py") if p.is_file()), None)
    if mine is None:
        return importlib.import_module(module_name)
    cached = sys.modules.get(top)
    cached_file = getattr(cached, "__file__", None)
    if cached is not None and cached_file and Path(cached_file).resolve() == mine.resolve():
        return importlib.import_module(module_name)
    installed = _installed_origin(top) if cached is None else cached_file
    if installed is not None and _is_installed(Path(installed)):
        conflict = module_conflict(module_name, base_dir)
        if conflict:
            raise ImportError(conflict)
        return importlib.import_module(module_name)
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]  # another pipeline's module of that name: ours answers here
    folder = str(base_dir)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(folder)  # the first occurrence: the one just inserted


def _installed_origin(top: str) -> str | None:
    """Where ``top`` would be imported from without the pipeline's folder, if it is installed."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin not in (None, "built-in", "frozen") else None


def _is_installed(path: Path) -> bool:
    """The standard library or an installed package (site-packages), not a user's folder."""
    resolved = path.resolve()
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    if any(part in ("site-packages", "dist-packages") for part in resolved.parts):
        return True
    return any(root in resolved.parents for root in roots)
