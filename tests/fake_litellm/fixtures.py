"""The ``fake_messages`` pytest fixture: one loopback Messages endpoint per test process.

Use it from a test module through :func:`fresh_server` (a module-level fixture that yields from
it), or import the fixture into a conftest. It yields a
:class:`~.server.MessagesServer` (``.base_url``, ``.configure()``, ``.requests()``), reset to
its default config and an empty request log for every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai.loopback import reset_around, shared

from .server import MessagesServer

#: The process's server, started on first use and stopped at exit (each xdist worker has its own).
shared_server = shared(MessagesServer)


def fresh_server() -> Iterator[MessagesServer]:
    """The shared server, reset before and after use (the body of the fixture)."""
    yield from reset_around(shared_server())


@pytest.fixture
def fake_messages() -> Iterator[MessagesServer]:
    yield from reset_around(shared_server())  # no fault or latency leaks into the next test
