"""The lean HTTP/1.1 client: bodies, pooling, a server closing idle connections, SDK parity."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from runner_helpers import KEY, openai_config, run, samples

from fake_openai.server import ServerThread
from lm_eval_so.runner.backends.http1 import Http1Client
from lm_eval_so.runner.backends.openai import OpenAIBackend
from lm_eval_so.runner.factory import backend_context

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def with_server(handler: Handler, body: Callable[[str], Awaitable[None]]) -> int:
    """Run ``body(base_url)`` against a raw server; returns how many connections it accepted."""
    accepted = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await handler(reader, writer)

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await body(f"http://127.0.0.1:{port}/v1")
    finally:
        server.close()
    return accepted


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


def test_chunked_bodies_and_keep_alive() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            assert b"POST /v1/chat/completions HTTP/1.1" in request and b"Authorization: Bearer k" in request
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n')
            await writer.drain()

    replies = []

    async def body(url: str) -> None:
        client = Http1Client(url, {"Authorization": "Bearer k"})
        for _ in range(3):
            replies.append(await client.post("/chat/completions", b"{}"))
        await client.close()

    accepted = asyncio.run(with_server(handler, body))

    assert [(r.status, r.body) for r in replies] == [(200, b'{"a": 1}')] * 3
    assert accepted == 1  # one connection, reused


def test_a_connection_closed_while_idle_is_replaced() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # the server drops keep-alive connections after one reply

    replies = []

    async def body(url: str) -> None:
        client = Http1Client(url, {})
        for _ in range(3):
            replies.append(await client.post("/x", b"{}"))
            await asyncio.sleep(0.05)  # let the close arrive while the connection is idle
        await client.close()

    accepted = asyncio.run(with_server(handler, body))

    assert [r.body for r in replies] == [b"ok"] * 3
    assert accepted == 3


def test_connection_close_header_is_respected() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 503 Busy\r\nConnection: close\r\nRetry-After: 1\r\n\r\nbusy")
        await writer.drain()
        writer.close()

    replies = []

    async def body(url: str) -> None:
        client = Http1Client(url, {})
        replies.append(await client.post("/x", b"{}"))
        replies.append(await client.post("/x", b"{}"))
        await client.close()

    accepted = asyncio.run(with_server(handler, body))

    assert [(r.status, r.headers["retry-after"], r.body) for r in replies] == [(503, "1", b"busy")] * 2
    assert accepted == 2


@pytest.mark.parametrize("status", [401, 404, 422, 429, 500, 503])
def test_both_clients_report_errors_alike(
    status: int, fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake_openai.configure(fail_first=100, fail_status=status)
    errors = {}
    for client in ("fast", "sdk"):
        config = openai_config(tmp_path, fake_openai.base_url, max_retries=0, options={"client": client})
        _, [result] = run(config, samples(1), tmp_path / f"{client}.jsonl")
        assert result.error is not None
        errors[client] = (result.error.type, result.error.status_code)
    assert errors["fast"] == errors["sdk"]
    assert errors["fast"][1] == status


def test_a_refused_connection_is_an_api_connection_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = openai_config(tmp_path, "http://127.0.0.1:9/v1", max_retries=0, options={"client": "fast"})

    _, [result] = run(config, samples(1), tmp_path / "results.jsonl")

    assert result.error is not None and result.error.type == "APIConnectionError"


def test_a_proxy_in_the_environment_selects_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = openai_config(tmp_path, "http://127.0.0.1:9/v1")
    backend = OpenAIBackend(config.runner, backend_context(config))
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    for name in ("https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert backend.client_kind == "fast"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert backend.client_kind == "sdk"
