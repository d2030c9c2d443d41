"""A lean client for the two endpoints the runner uses: chat and completions.

Why it exists: profiling ``lm-eval-so run`` against a 100 ms loopback server showed the official
SDK's per-request work (httpx, request building, pydantic parsing of the response) at ~1.5 ms of
CPU per call: at 128 concurrent calls the client core, not the network, set the pace. An aiohttp
version of this client got that to ~0.3 ms, half of it in aiohttp; on the stdlib HTTP/1.1
client in http1.py it is lower still, and nothing heavy is imported at startup.

It keeps the SDK's observable semantics: the key as ``Authorization: Bearer``, the
``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` headers, ``base_url`` (else ``OPENAI_BASE_URL``), one
``timeout_s`` per attempt, and failures raised as exceptions named like the SDK's
(``RateLimitError``, ``InternalServerError``, ``APITimeoutError``, ``APIConnectionError`` ...)
with ``status_code`` and the SDK's message format, so results.jsonl reads the same either way.
Anything beyond plain chat/completions (streaming, tools) is the SDK's job:
``runner.options.client: sdk`` forces it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

from ...common.records import Usage
from ..retry import parse_retry_after
from .base import Completion, answer_text
from .http1 import Http1Client, Reply

T = TypeVar("T")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def proxy_configured() -> bool:
    """The SDK (httpx) honours proxy variables; the lean client does not, so it steps aside."""
    return any(os.environ.get(name) for name in PROXY_VARIABLES)


class APIError(Exception):
    """Base of the errors below; mirrors ``openai.APIError`` by name only."""

    status_code: int | None = None
    retry_after: float | None = None


class APIConnectionError(APIError):
    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    def __init__(self) -> None:
        super().__init__("Request timed out.")


class APIStatusError(APIError):
    def __init__(self, message: str, status_code: int, retry_after: float | None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class BadRequestError(APIStatusError): ...


class AuthenticationError(APIStatusError): ...


class PermissionDeniedError(APIStatusError): ...


class NotFoundError(APIStatusError): ...


class ConflictError(APIStatusError): ...


class UnprocessableEntityError(APIStatusError): ...


class RateLimitError(APIStatusError): ...


class InternalServerError(APIStatusError): ...


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(status: int, body: bytes, headers: Any) -> APIStatusError:
    """The exception the SDK would raise for this response, with its message format."""
    cls = InternalServerError if status >= 500 else _BY_STATUS.get(status, APIStatusError)
    try:
        detail: Any = json.loads(body)
    except ValueError:
        detail = body.decode("utf-8", "replace")
    return cls(f"Error code: {status} - {detail}", status, parse_retry_after(headers))


def default_headers(api_key: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    # The SDK sends these when the variables are set; so do we.
    if org := os.environ.get("OPENAI_ORG_ID"):
        headers["OpenAI-Organization"] = org
    if project := os.environ.get("OPENAI_PROJECT_ID"):
        headers["OpenAI-Project"] = project
    return headers


class FastOpenAIClient:
    """POSTs JSON to ``{base_url}/chat/completions`` or ``/completions``; connections pooled."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = default_headers(api_key)
        self.timeout_s = timeout_s
        self._http: Http1Client | None = None

    async def start(self) -> None:
        self._http = Http1Client(self.base_url, self.headers)

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        http = self._http
        if http is None:
            raise RuntimeError("FastOpenAIClient.start() was not awaited")
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            reply: Reply = await _deadline(http.post(path, data), self.timeout_s)
        except TimeoutError:
            raise APITimeoutError() from None
        except (OSError, EOFError) as exc:  # refused, reset, closed mid-reply, DNS
            raise APIConnectionError(f"Connection error. ({type(exc).__name__}: {exc})") from None
        if reply.status >= 400:
            raise status_error(reply.status, reply.body, reply.headers)
        parsed: dict[str, Any] = json.loads(reply.body)
        return parsed

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


if sys.version_info >= (3, 11):

    async def _deadline(call: Awaitable[T], seconds: float) -> T:
        async with asyncio.timeout(seconds):  # no extra task per call, unlike wait_for
            return await call

else:  # pragma: no cover - Python 3.10

    async def _deadline(call: Awaitable[T], seconds: float) -> T:
        try:
            return await asyncio.wait_for(call, seconds)
        except asyncio.TimeoutError:
            raise TimeoutError() from None


def completion_from(response: dict[str, Any], *, chat: bool) -> Completion:
    choices = response.get("choices") or []
    if not choices:
        raise ValueError(f"the server returned no choices (response id {response.get('id')!r})")
    choice = choices[0]
    text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
    return Completion(
        text=answer_text(text, choice.get("finish_reason")),
        usage=_usage(response.get("usage")),
        finish_reason=choice.get("finish_reason"),
        model=response.get("model"),
    )


def _usage(usage: dict[str, Any] | None) -> Usage | None:
    if not usage:
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    return Usage.model_construct(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=usage.get("total_tokens") or prompt + completion,
    )
