"""``lm-eval-so view``: a local, read-only web viewer over a workspace, and its static export.

:mod:`.site` renders the pages, :mod:`.server` serves them on 127.0.0.1, :mod:`.export` writes
them as files. Internal: the command line is the interface.
"""

from __future__ import annotations

from .export import export_site
from .server import ViewerServer, serve
from .site import Site

__all__ = ["Site", "ViewerServer", "export_site", "serve"]
