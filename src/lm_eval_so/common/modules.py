"""Where user code named in a pipeline.yaml (``function: module:name``) is imported from."""

from __future__ import annotations

import sys
from pathlib import Path


def add_pipeline_dir(base_dir: Path) -> None:
    """Make modules next to pipeline.yaml importable, and nothing else.

    Appended, not prepended: a file in the pipeline's folder (or the working directory) that
    happens to be called ``jinja2.py`` or ``json.py`` must never shadow a real package. The
    working directory is not added at all: installed packages and ``PYTHONPATH`` cover the rest.
    """
    folder = str(base_dir)
    if folder not in sys.path:
        sys.path.append(folder)
