"""The ``fake_azure`` pytest fixture: one loopback Azure resource per test process, reset per test.

Use it from a test module through :func:`fresh_server` (a module-level fixture that yields from
it), or import the fixture into a conftest. It yields an
:class:`~.server.AzureServerThread`: ``.base_url`` (the endpoint, ``http://127.0.0.1:PORT``),
``.configure()`` / ``.stats()`` (the OpenAI fake's replies, faults and statistics),
``.configure_azure()`` / ``.requests()`` (Azure's checks and the recorded requests).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import pytest

from .server import AzureServerThread

_lock = threading.Lock()
_server: AzureServerThread | None = None


def shared_server() -> AzureServerThread:
    global _server
    with _lock:
        if _server is None:
            _server = AzureServerThread().start()
            atexit.register(_server.stop)
        return _server


def fresh_server() -> Iterator[AzureServerThread]:
    """The shared server with the default config and empty records, reset again afterwards."""
    server = shared_server()
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def fake_azure() -> Iterator[AzureServerThread]:
    yield from fresh_server()
