"""The ``fake_openai`` pytest fixture: one loopback server per test process, reset for each test.

Import the fixture into a conftest (``from fake_openai.fixtures import fake_openai``). It yields
a :class:`~.server.ServerThread`: ``.base_url`` (``http://127.0.0.1:PORT/v1``), ``.stats()``,
``.reset()`` and ``.configure(**FakeConfig fields)``. Every test starts from the default config
and empty statistics. The server is started on first use and shared by the tests of one process
(each pytest-xdist worker has its own), so the fixture costs almost nothing per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .loopback import reset_around, shared
from .server import ServerThread

#: The process's server, started on first use and stopped at exit (each xdist worker has its own).
shared_server = shared(ServerThread)


@pytest.fixture
def fake_openai() -> Iterator[ServerThread]:
    yield from reset_around(shared_server())  # no fault or latency leaks into the next test
