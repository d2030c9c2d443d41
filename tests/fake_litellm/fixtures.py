"""The ``fake_messages`` pytest fixture: one loopback Messages endpoint per test process.

Use it from a test module through :func:`fresh_server` (a module-level fixture that yields from
it), or import the fixture into a conftest. It yields a
:class:`~.server.MessagesServer` (``.base_url``, ``.configure()``, ``.requests()``), reset to
its default config and an empty request log for every test.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import pytest

from .server import MessagesServer

_lock = threading.Lock()
_server: MessagesServer | None = None


def shared_server() -> MessagesServer:
    global _server
    with _lock:
        if _server is None:
            _server = MessagesServer().start()
            atexit.register(_server.stop)
        return _server


def fresh_server() -> Iterator[MessagesServer]:
    """The shared server with the default config and empty records, reset again afterwards."""
    server = shared_server()
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def fake_messages() -> Iterator[MessagesServer]:
    yield from fresh_server()
