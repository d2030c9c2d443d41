"""One loopback Anthropic server per test process, reset for each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai.loopback import reset_around, shared

from .server import AnthropicServerThread

#: The process's server, started on first use and stopped at exit (each xdist worker has its own).
shared_server = shared(AnthropicServerThread)


@pytest.fixture
def fake_anthropic() -> Iterator[AnthropicServerThread]:
    yield from reset_around(shared_server())  # no fault or latency leaks into the next test
