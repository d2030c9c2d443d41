"""One loopback Anthropic server per test process, reset for each test that uses it."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import pytest

from .server import AnthropicServerThread

_lock = threading.Lock()
_server: AnthropicServerThread | None = None


def shared_server() -> AnthropicServerThread:
    """The process's fake Anthropic server, started on first use and stopped at exit."""
    global _server
    with _lock:
        if _server is None:
            _server = AnthropicServerThread().start()
            atexit.register(_server.stop)
        return _server


@pytest.fixture
def fake_anthropic() -> Iterator[AnthropicServerThread]:
    server = shared_server()
    server.reset()
    yield server
    server.reset()  # no fault leaks into the next test
