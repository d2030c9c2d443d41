"""What every loopback fake server of the tests shares: an aiohttp app on its own event loop.

A fake subclasses :class:`LoopbackServer`, gives it a ``state`` (with ``reset``/``configure``)
and ``_begin()`` (start the app, return the runner and the URL), and its ``start()`` keeps the
URL under the name its tests use. :func:`shared` makes the one-per-process fixture server.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
S = TypeVar("S", bound="LoopbackServer")


class LoopbackServer:
    """The fake on its own event loop in a daemon thread; calls hop onto that loop."""

    thread_name = "fake-server"
    state: Any

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)

    async def _begin(self) -> tuple[web.AppRunner, str]:
        raise NotImplementedError

    def _serve(self) -> str:
        """Start the loop and the app; the URL ``_begin`` returned."""
        self._thread.start()
        self._runner, url = self._call(self._begin())
        return url

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup())
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def reset(self, *, keep_config: bool = False) -> None:
        """Clear statistics and fault counters; restore the default config unless kept."""
        self._on_loop(lambda: self.state.reset(keep_config=keep_config))

    def configure(self, **changes: Any) -> None:
        self._on_loop(lambda: self.state.configure(**changes))

    def _call(self, coro: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout=10)

    def _on_loop(self, fn: Callable[[], T]) -> T:
        async def wrapped() -> T:
            return fn()

        return self._call(wrapped())

    def start(self: S) -> S:
        raise NotImplementedError

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def run_app(app: web.Application, host: str, port: int, **site: Any) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` (0: a free port) the way every fake does."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, host, port, **site).start()
    return runner


def shared(factory: Callable[[], S]) -> Callable[[], S]:
    """A one-per-process server, started on first use and stopped at exit (the fixtures' helper)."""
    lock = threading.Lock()
    box: list[S] = []

    def get() -> S:
        with lock:
            if not box:
                server = factory().start()
                atexit.register(server.stop)
                box.append(server)
            return box[0]

    return get


def reset_around(server: S) -> Iterator[S]:
    """Yield ``server`` reset before and after: no fault or latency leaks between tests."""
    server.reset()
    yield server
    server.reset()
