"""The ``fake_bedrock`` fixture: one loopback Bedrock Runtime per test process, reset per test.

Import it into a conftest, or wrap :func:`fresh_server` in a module's own fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai.loopback import reset_around, shared

from .server import BedrockServerThread

#: The process's server, started on first use and stopped at exit (each xdist worker has its own).
shared_server = shared(BedrockServerThread)


def fresh_server() -> Iterator[BedrockServerThread]:
    """The shared server, reset before and after use (the body of the fixture)."""
    yield from reset_around(shared_server())


@pytest.fixture
def fake_bedrock() -> Iterator[BedrockServerThread]:
    yield from reset_around(shared_server())  # no fault or latency leaks into the next test
