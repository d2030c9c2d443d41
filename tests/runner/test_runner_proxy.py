"""The openai backend honours the environment's proxy, as the official SDK does: every call goes
through ``HTTP_PROXY``/``HTTPS_PROXY`` (with the proxy's own credentials, never the API key),
and ``NO_PROXY`` sends it straight to the server.

The proxies are real sockets on loopback: a forwarding HTTP proxy (aiohttp server + client), and
for HTTPS targets a listener that records the ``CONNECT`` request and refuses the tunnel.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from runner_helpers import KEY, openai_config, run, samples

from fake_openai.loopback import LoopbackServer, run_app
from fake_openai.server import ServerThread
from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.runner import check_backend


class ForwardProxy(LoopbackServer):
    """Forwards absolute-form requests (``POST http://host/path``) and records what it saw."""

    thread_name = "fake-proxy"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []  # (target URL, Proxy-Authorization)
        self.url = ""

    async def _begin(self) -> tuple[web.AppRunner, str]:
        client = aiohttp.ClientSession(auto_decompress=False)

        async def forward(request: web.Request) -> web.Response:
            target = str(request.url)
            self.seen.append((target, request.headers.get("Proxy-Authorization")))
            headers = {k: v for k, v in request.headers.items() if not k.lower().startswith("proxy-")}
            async with client.request(
                request.method, target, headers=headers, data=await request.read()
            ) as r:
                return web.Response(status=r.status, body=await r.read(), content_type=r.content_type)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        app.on_cleanup.append(lambda _: client.close())
        runner = await run_app(app, "127.0.0.1", 0)
        port = runner.addresses[0][1]
        return runner, f"http://127.0.0.1:{port}"

    def start(self) -> ForwardProxy:
        self.url = self._serve()
        return self


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent-netrc")


def test_every_call_goes_through_http_proxy_with_its_credentials(
    fake_openai: ServerThread, proxy: ForwardProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://alice:s3cret@"))
    config = openai_config(tmp_path, fake_openai.base_url, concurrency=4)

    _, results = run(config, samples(6), tmp_path / "results.jsonl")

    assert sorted(r.output or "" for r in results) == sorted(f"echo: question {i}" for i in range(6))
    assert len(proxy.seen) == 6
    expected_auth = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert {auth for _, auth in proxy.seen} == {expected_auth}
    assert {target for target, _ in proxy.seen} == {f"{fake_openai.base_url}/chat/completions"}
    assert fake_openai.stats()["requests"] == {"/v1/chat/completions": 6}


def test_a_proxy_without_credentials_gets_no_proxy_authorization(
    fake_openai: ServerThread, proxy: ForwardProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp turns a session-wide Authorization header into Proxy-Authorization for an
    # explicit proxy; the API key must reach the server only.
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    config = openai_config(tmp_path, fake_openai.base_url)

    _, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert [r.error for r in results] == [None, None]
    assert [auth for _, auth in proxy.seen] == [None, None]


class ConnectRecorder:
    """A raw TCP listener that records each request it gets (a CONNECT) and refuses it."""

    def __init__(self, reply: bytes = b"403 Forbidden") -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(5)

    def _serve(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 " + self.reply + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await asyncio.Event().wait()

        self._loop.run_until_complete(main())


def test_an_https_tunnel_carries_the_proxy_credentials_and_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = ConnectRecorder()
    monkeypatch.setenv("HTTPS_PROXY", f"http://bob:pw@127.0.0.1:{recorder.port}")
    config = openai_config(tmp_path, "https://api.example.test/v1", max_retries=0)

    _, results = run(config, samples(1), tmp_path / "results.jsonl")

    assert results[0].error is not None and results[0].error.type == "APIConnectionError"
    (connect,) = recorder.requests
    assert connect.startswith(b"CONNECT api.example.test:443 ")
    assert b"Proxy-Authorization: Basic " + base64.b64encode(b"bob:pw") in connect
    assert KEY.encode() not in connect


def test_no_proxy_sends_calls_straight_to_the_server(
    fake_openai: ServerThread, proxy: ForwardProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    config = openai_config(tmp_path, fake_openai.base_url)

    _, results = run(config, samples(3), tmp_path / "results.jsonl")

    assert all(r.error is None for r in results) and len(results) == 3
    assert proxy.seen == []
    assert fake_openai.stats()["requests"] == {"/v1/chat/completions": 3}


def test_a_proxy_that_is_down_is_each_samples_connection_error(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=0)

    _, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert [r.error.type if r.error else None for r in results] == ["APIConnectionError"] * 2
    assert fake_openai.stats()["requests"] == {}


def test_a_proxy_refusing_us_never_puts_its_password_in_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 407 names the proxy URL in aiohttp's error; the result must not carry the password.
    recorder = ConnectRecorder(b"407 Proxy Authentication Required")
    monkeypatch.setenv("HTTPS_PROXY", f"http://carol:Pr0xyPassw0rd@127.0.0.1:{recorder.port}")
    config = openai_config(tmp_path, "https://api.example.test/v1", max_retries=0)

    _, results = run(config, samples(1), tmp_path / "results.jsonl")

    assert results[0].error is not None and "407" in results[0].error.message
    assert f"127.0.0.1:{recorder.port}" in results[0].error.message
    assert "Pr0xyPassw0rd" not in (tmp_path / "results.jsonl").read_text()


# (An https:// proxy URL is ignored with aiohttp's own warning, as aiohttp always did.)
@pytest.mark.parametrize(
    "value",
    [
        "proxy.example:3128",
        "http://",
        "socks5://proxy.example:1080",
        "dave:Pr0xyPassw0rd@proxy.example:3128",  # no scheme: yarl reads "dave" as one
        "socks5://dave:Pr0xyPassw0rd@proxy.example:1080",
    ],
)
def test_a_malformed_proxy_variable_is_named_before_the_run(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    config = openai_config(tmp_path, "https://api.example.test/v1")

    with pytest.raises(BackendError, match=r"HTTPS_PROXY \(or https_proxy\): ") as caught:
        check_backend(config)
    assert "Pr0xyPassw0rd" not in str(caught.value)
