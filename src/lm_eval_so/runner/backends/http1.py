"""A minimal HTTP/1.1 keep-alive client on asyncio streams: POST JSON, read the reply.

Only what the fast OpenAI path needs: ``http``/``https`` URLs, a pool of persistent
connections per client, ``Content-Length`` and ``chunked`` bodies. No redirects, no proxies,
no compression (we send ``Accept-Encoding: identity``). Why not aiohttp or httpx: per request
they spend 150+ µs of CPU in generic machinery, and importing them costs 80-150 ms of startup;
this costs a fraction of both, which is what a runner at 128+ calls in flight is limited by.

A request on a pooled connection that the server closed meanwhile fails before any byte of a
reply arrives; it is sent once more on a fresh connection, as browsers and httpx do.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_IDLE = 1024  # pooled connections kept open; the engine bounds how many are in use


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class StaleConnection(Exception):
    """A pooled connection was closed by the server before it answered."""


class Http1Client:
    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme in {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        fixed = {"Host": host_header, "Accept": "application/json", "Accept-Encoding": "identity"}
        fixed.update(headers)
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._ssl: ssl_module.SSLContext | None = None

    async def post(self, path: str, body: bytes) -> Reply:
        request = (
            f"POST {self.prefix}{path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        while self._idle:
            reader, writer = self._idle.pop()
            try:
                return await self._exchange(reader, writer, request)
            except StaleConnection:
                continue  # the server closed it while idle: try the next one, or a new one
        reader, writer = await self._open()
        try:
            return await self._exchange(reader, writer, request)
        except StaleConnection:
            raise ConnectionResetError("the server closed the connection without a reply") from None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.tls and self._ssl is None:
            self._ssl = ssl_module.create_default_context()
        return await asyncio.open_connection(
            self.host, self.port, ssl=self._ssl if self.tls else None, limit=1 << 20
        )

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> Reply:
        reusable = False
        try:
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise StaleConnection() from None
                raise ConnectionResetError("the server closed the connection mid-reply") from None
            status, headers = _parse_head(head)
            body = await _read_body(reader, headers)
            reusable = headers.get("connection", "").lower() != "close"
            return Reply(status, headers, body)
        except (ConnectionResetError, BrokenPipeError) as exc:
            if isinstance(exc, BrokenPipeError):
                raise StaleConnection() from None
            raise
        finally:
            if reusable and len(self._idle) < MAX_IDLE:
                self._idle.append((reader, writer))
            else:
                writer.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise ConnectionError(f"not an HTTP reply: {lines[0][:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    length = headers.get("content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected; the final CRLF
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    headers["connection"] = "close"  # the body runs to the end of the connection
    return await reader.read()
