"""The ``fake_openai`` pytest fixture: one loopback server per test process, reset for each test.

Import the fixture into a conftest (``from fake_openai.fixtures import fake_openai``). It yields
a :class:`~.server.ServerThread`: ``.base_url`` (``http://127.0.0.1:PORT/v1``), ``.stats()``,
``.reset()`` and ``.configure(**FakeConfig fields)``. Every test starts from the default config
and empty statistics. The server is started on first use and shared by the tests of one process
(each pytest-xdist worker has its own), so the fixture costs almost nothing per test.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import pytest

from .server import ServerThread

_lock = threading.Lock()
_server: ServerThread | None = None


def shared_server() -> ServerThread:
    """The process's fake server, started on first use and stopped at exit."""
    global _server
    with _lock:
        if _server is None:
            _server = ServerThread().start()
            atexit.register(_server.stop)
        return _server


@pytest.fixture
def fake_openai() -> Iterator[ServerThread]:
    server = shared_server()
    server.reset()
    yield server
    server.reset()  # no fault or slow latency leaks into a test that does not use the fixture
