"""Fixtures of the viewer tests: one workspace of real runs (built once), the viewer serving it,
and Debian's Chromium driven by Playwright (never downloaded: skipped, saying why, if absent)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from viewer_kit import Built, build

from lm_eval_so._internal.viewer.server import ViewerServer, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("viewer-ws"))


@pytest.fixture(scope="session")
def server(built: Built) -> Iterator[ViewerServer]:
    running = serve(built.workspace)
    running.start_background()
    yield running
    running.shutdown()
    running.server_close()


# Module scope, not session: Playwright's sync API runs an event loop on this thread while it
# is open, and every later test of the same xdist worker that calls asyncio.run() would fail
# ("cannot be called from a running event loop").
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()
