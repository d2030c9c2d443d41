"""The ``fake_bedrock`` fixture: one loopback Bedrock Runtime per test process, reset per test.

Import it into a conftest, or wrap :func:`fresh_server` in a module's own fixture.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import pytest

from .server import BedrockServerThread

_lock = threading.Lock()
_server: BedrockServerThread | None = None


def shared_server() -> BedrockServerThread:
    global _server
    with _lock:
        if _server is None:
            _server = BedrockServerThread().start()
            atexit.register(_server.stop)
        return _server


def fresh_server() -> Iterator[BedrockServerThread]:
    """The shared server, reset before and after use (the body of the fixture)."""
    server = shared_server()
    server.reset()
    yield server
    server.reset()  # no fault or slow latency leaks into the next test


@pytest.fixture
def fake_bedrock() -> Iterator[BedrockServerThread]:
    yield from fresh_server()
