"""Where user code named in a pipeline.yaml (``function: module:name``) is imported from."""

from __future__ import annotations

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
    return (
        f"the module {top!r} in use is {loaded}, not {mine} next to pipeline.yaml "
        "(one module per name in a Python process); give the module a name of its own"
    )
