"""An HTTP error reply -> the model-call error the official SDKs name for it. Every backend uses it.

400 BadRequestError, 401 AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError,
409 ConflictError, 422 UnprocessableEntityError, 429 RateLimitError, 5xx (529 included)
InternalServerError, anything else APIStatusError; with the server's message and the wait it
asked for (``retry-after-ms`` / ``Retry-After``), which the one retry policy honours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..common.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidResponse,
    ModelCallError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ..common.redact import hide_userinfo
from .retry import parse_retry_after

SNIPPET = 200  # characters of a non-JSON body quoted in an error

BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(status: int, body: bytes | str, headers: Any) -> APIStatusError:
    """The error for an HTTP error reply, named and worded as the official SDK names it.

    A redirect (3xx) is an error too: no client here follows one, because every request
    written is one attempt that ``max_retries`` and the budget count, and a POST redirected
    to an address nobody configured is a wrong ``base_url``, not something to retry.
    """
    if 300 <= status < 400:
        location = headers.get("location") if headers is not None else None
        where = f" to {hide_userinfo(str(location))!r}" if location else ""
        return APIStatusError(
            f"Error code: {status} - the server redirected the request{where}; requests are not "
            "re-sent to another address: set runner.base_url to the address that answers",
            status,
        )
    cls = InternalServerError if status >= 500 else BY_STATUS.get(status, APIStatusError)
    detail = _detail(body)
    return cls(f"Error code: {status} - {detail}", status, parse_retry_after(headers))


def _detail(body: bytes | str) -> Any:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError:
        return text[:SNIPPET]


def json_reply(status: int, headers: Any, body: bytes) -> Mapping[str, Any]:
    """An HTTP reply's JSON object; the error an error status or a non-object body stands for.

    The first step of every HTTP backend's reply reader: a status of 300 or more is its
    :func:`status_error`, a body that is not JSON or not a JSON object is :class:`InvalidResponse`
    quoting the start of it.
    """
    if status >= 300:
        raise status_error(status, body, headers)
    try:
        data = json.loads(body)
    except ValueError:
        text = body[:SNIPPET].decode("utf-8", "replace")
        raise InvalidResponse(f"the server replied {status} with a body that is not JSON: {text!r}") from None
    if not isinstance(data, Mapping):
        raise InvalidResponse(
            f"the server replied {status} with JSON that is not an object: {str(data)[:80]!r}"
        )
    return data


def connection_error(exc: BaseException) -> ModelCallError:
    """An SDK's connection error worded with its cause: the SDKs say only "Connection error.",
    which tells a refused connection from a reply cut off mid-body no better than nothing.

    An error of ours raised inside the SDK's client (``http.sdk_http_client``'s size check),
    which the SDK wraps as a connection error, comes back as itself.
    """
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ModelCallError):
        return cause
    shown = cause if cause is not None else exc
    return APIConnectionError(f"Connection error. ({type(shown).__name__}: {shown})")


def timed_out(seconds: float, detail: object = None) -> APITimeoutError:
    """ "Request timed out" with the limit that was hit and where it is set."""
    more = f"; {detail}" if detail else ""
    return APITimeoutError(f"Request timed out: no reply within {seconds:g} s (timeout_s{more})")
