"""The ``fake_azure`` pytest fixture: one loopback Azure resource per test process, reset per test.

Use it from a test module through :func:`fresh_server` (a module-level fixture that yields from
it), or import the fixture into a conftest. It yields an
:class:`~.server.AzureServerThread`: ``.base_url`` (the endpoint, ``http://127.0.0.1:PORT``),
``.configure()`` / ``.stats()`` (the OpenAI fake's replies, faults and statistics),
``.configure_azure()`` / ``.requests()`` (Azure's checks and the recorded requests).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai.loopback import reset_around, shared

from .server import AzureServerThread

#: The process's server, started on first use and stopped at exit (each xdist worker has its own).
shared_server = shared(AzureServerThread)


def fresh_server() -> Iterator[AzureServerThread]:
    """The shared server, reset before and after use (the body of the fixture)."""
    yield from reset_around(shared_server())


@pytest.fixture
def fake_azure() -> Iterator[AzureServerThread]:
    yield from reset_around(shared_server())  # no fault or latency leaks into the next test
