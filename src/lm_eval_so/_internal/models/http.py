"""POST JSON over HTTP with aiohttp: pooled connections, proxies, compression, TLS, one timeout.

An HTTP client is not what this project exists for; aiohttp is a well-kept one and, measured
against the loopback server, costs about the same CPU per call as the hand-written HTTP/1.1
client it replaced (see ``benchmarks/bench_runner.py``). What it brings: proxies from the
environment (``HTTPS_PROXY``, ``NO_PROXY``…), gzip/deflate replies, chunked
bodies, TLS with the system's certificate store. Redirects are not followed (a redirect is
an error naming the new address; see ``status.status_error``).

The proxy is decided once per client (as the SDK's httpx client also does), from the
environment by aiohttp's own rule: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``, credentials
in the proxy URL or ``~/.netrc``. aiohttp's ``trust_env=True`` would decide it again for every
request on a worker thread, and look up ``~/.netrc`` on another: two thread hand-offs per call,
measured at about half our per-call CPU at C=128 (0.54 -> 0.28 ms, ``benchmarks/bench_runner.py``).
Our endpoint does not change, so neither does its proxy.

One request written to the wire is one attempt: aiohttp re-sends nothing on its own for a
POST, and follows no redirect here, so the engine's ``attempts`` counts every request.
Failures become the model-call error tree (``common.errors``): :class:`APITimeoutError` when
no reply came in ``timeout_s``, and :class:`APIConnectionError` for a refused, reset or
half-closed connection, and for a reply cut off or garbled on the way (a body shorter than its
``Content-Length``, a broken chunk, bad gzip): like a reset, it is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..common.errors import APIConnectionError, BackendError, InvalidResponse
from ..common.redact import hide_userinfo
from .status import timed_out

if TYPE_CHECKING:
    import aiohttp


#: The largest reply body read, in bytes (after decompression). A completion is text: a
#: million tokens is a few MB. A server sending more (a misrouted download, a runaway stream)
#: would otherwise be held whole in memory and stored whole in results.jsonl.
MAX_REPLY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Any  # a case-insensitive mapping
    body: bytes


class JsonPoster:
    """POSTs bytes to ``{base_url}{path}`` through one pooled ``aiohttp.ClientSession``."""

    def __init__(
        self, base_url: str, headers: dict[str, str], timeout_s: float, max_connections: int
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self.proxy: str | None = None  # the environment's proxy for base_url, set by start()
        self._proxy_headers: dict[str, str] | None = None  # its credentials, if any

    async def start(self) -> None:
        import aiohttp  # imported here: a run that never makes an HTTP call never pays for it

        self.proxy, self._proxy_headers = env_proxy(self.base_url)
        self._session = aiohttp.ClientSession(
            # No default headers: aiohttp copies a session's default headers into the headers
            # for an explicit proxy and sends its Authorization there as Proxy-Authorization,
            # which would hand the API key to the proxy (tested). Ours go with each request.
            connector=aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            trust_env=False,  # the proxy is decided once, above
            auto_decompress=True,
        )

    async def post(self, path: str, body: bytes) -> Reply:
        import aiohttp

        session = self._session
        if session is None:
            raise RuntimeError("JsonPoster.start() was not awaited")
        try:
            async with session.post(
                self.base_url + path,
                data=body,
                headers=self.headers,
                proxy=self.proxy,
                proxy_headers=self._proxy_headers,
                allow_redirects=False,  # each hop would be a request no attempt counted
            ) as response:
                return Reply(response.status, response.headers, await _bounded_body(response))
        except asyncio.TimeoutError:  # aiohttp's ServerTimeoutError is one too
            raise timed_out(self.timeout_s) from None
        except aiohttp.ClientPayloadError as exc:  # the body was cut off or garbled on the way
            raise APIConnectionError(f"Connection error. (the reply's body was cut off: {exc})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(f"Connection error. ({type(exc).__name__}: {exc})") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _bounded_body(response: aiohttp.ClientResponse) -> bytes:
    """The reply's body, or :class:`InvalidResponse` once it passes :data:`MAX_REPLY_BYTES`."""
    length = response.content_length
    if length is not None and not response.headers.get("Content-Encoding"):
        if length > MAX_REPLY_BYTES:
            raise _too_large(f"{length:,} bytes announced")
        return await response.read()  # the common case: a known, small length, read at once
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise _too_large("more than that sent")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str) -> InvalidResponse:
    mib, rest = divmod(MAX_REPLY_BYTES, 1024 * 1024)
    limit = f"{mib} MiB" if mib and not rest else f"{MAX_REPLY_BYTES:,} bytes"
    return InvalidResponse(
        f"the reply's body is larger than {limit} ({what}): not a completion; it was not read"
    )


def sdk_http_client(factory: Callable[..., Any]) -> Any:
    """An official SDK's httpx client, as its ``DefaultAsyncHttpxClient`` ``factory`` builds it
    (its timeouts, pool limits and proxies), that follows no redirect and refuses a body
    announced above :data:`MAX_REPLY_BYTES`, as :class:`JsonPoster` does.

    A chunked body of unknown length is still read whole by the SDK: bounding it would mean
    streaming every reply through the SDK.
    """
    return factory(follow_redirects=False, event_hooks={"response": [_refuse_announced_oversize]})


async def _refuse_announced_oversize(response: Any) -> None:
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_REPLY_BYTES:
        await response.aclose()
        raise _too_large(f"{int(length):,} bytes announced")


def env_proxy(url: str) -> tuple[str | None, dict[str, str] | None]:
    """``(proxy URL, proxy headers)`` the environment names for ``url``; ``(None, None)`` if none.

    aiohttp's own look-up (``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` through
    :func:`urllib.request.getproxies`, proxy credentials from the URL or ``~/.netrc``), made once.
    The URL comes back without its credentials, so no error message can carry them; they go
    as the ``Authorization`` of the proxy's headers, which aiohttp sends to the proxy as
    ``Proxy-Authorization`` (on forwarded requests and on ``CONNECT`` alike).

    Raises :class:`BackendError` for a proxy URL that is not ``http://host:port``: aiohttp would
    otherwise fail every call with it.
    """
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:  # no proxy for this scheme, or NO_PROXY covers the host
        return None, None
    except ValueError as exc:  # yarl cannot read the variable's value
        raise BackendError(f"{_proxy_variable(url)}: not a proxy URL ({exc})") from None
    if proxy.scheme != "http" or not proxy.host:
        # Shown without user:password@: yarl strips it only from a URL it could parse, and
        # "user:pass@host:3128" (no scheme) parses as the scheme "user".
        raise BackendError(
            f"{_proxy_variable(url)}: the proxy must be an http:// URL with a host "
            f"(e.g. http://proxy.example:3128), not {hide_userinfo(str(proxy))!r}"
        )
    return str(proxy), ({"Authorization": auth.encode()} if auth is not None else None)


def _proxy_variable(url: str) -> str:
    scheme = url.partition(":")[0].upper()
    return f"{scheme}_PROXY (or {scheme.lower()}_proxy)"
