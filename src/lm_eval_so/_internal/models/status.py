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
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidResponse,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
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
    """The error for an HTTP error reply, named and worded as the official SDK names it."""
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

    The first step of every HTTP backend's reply reader: a status of 400 or more is its
    :func:`status_error`, a body that is not JSON or not a JSON object is :class:`InvalidResponse`
    quoting the start of it.
    """
    if status >= 400:
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
