"""An OpenAI-compatible reply, whatever its shape, read into a Completion or one clear error.

One status/body classification and one reply reader serve both clients (aiohttp and, with
``client: sdk``, the official SDK), so a result reads the same whichever made the call:

* an HTTP error status -> the error class the SDK names for it, with the server's message;
* a 200 whose body is an ``{"error": {...}}`` object -> the same, classified by its code;
* a body that is not JSON (an HTML error page from a proxy) -> :class:`InvalidResponse`;
* ``choices: []`` or missing -> :class:`InvalidResponse`;
* ``message.content`` a string -> the answer; a list of parts -> the text parts joined;
  ``null`` (e.g. only tool calls) -> :class:`EmptyAnswer` with the ``finish_reason``;
* ``usage`` missing, ``null`` or malformed -> unknown usage (None), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...common.errors import (
    APIStatusError,
    EmptyAnswer,
    InternalServerError,
    InvalidResponse,
)
from ..base import Completion, answer_text
from ..retry import parse_retry_after
from ..status import BY_STATUS, json_reply
from ..usage import parse_usage

# Error objects inside a 200 carry a type or code instead of a status.
_BY_KIND = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "overloaded_error": 529,
}


def completion_from_reply(status: int, headers: Any, body: bytes, *, chat: bool) -> Completion:
    """Read one reply into a Completion, or raise the model-call error that says what it was."""
    return completion_from_json(json_reply(status, headers, body), status, headers, chat=chat)


def completion_from_json(data: Mapping[str, Any], status: int, headers: Any, *, chat: bool) -> Completion:
    error = data.get("error")
    if error and not data.get("choices"):
        raise _error_object(error, status, headers)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise InvalidResponse(f"the server returned no choices (response id {data.get('id')!r})")
    choice = choices[0]
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    if chat:
        message = choice.get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        text = _content_text(content, finish, message)
    else:
        text = answer_text(choice.get("text"), finish)
    model = data.get("model")
    return Completion(
        text=text,
        usage=parse_usage(data.get("usage")),
        finish_reason=finish,
        model=model if isinstance(model, str) else None,
    )


def _content_text(content: Any, finish: str | None, message: Any) -> str:
    if isinstance(content, list):
        # Content parts: join the text ones ({"type": "text", "text": "..."}), skip the rest.
        texts = [
            part.get("text")
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", "output_text")
        ]
        if not texts:
            raise EmptyAnswer(finish, "the model returned content parts but no text part")
        return "".join(t for t in texts if isinstance(t, str))
    if content is None and isinstance(message, Mapping) and message.get("tool_calls"):
        raise EmptyAnswer(finish, "the model answered with tool calls and no text")
    return answer_text(content, finish)


def _error_object(error: Any, status: int, headers: Any) -> APIStatusError:
    """An ``{"error": {...}}`` body (in a 200): classified by its code or type, message kept."""
    if not isinstance(error, Mapping):
        return APIStatusError(f"Error code: {status} - {error!r}", status)
    code, kind = error.get("code"), error.get("type")
    number = (
        code if isinstance(code, int) else int(code) if isinstance(code, str) and code.isdigit() else None
    )
    if number is None:
        number = _BY_KIND.get(str(code)) or _BY_KIND.get(str(kind))
    message = error.get("message") or error
    if number is None:
        return APIStatusError(f"Error in a {status} reply - {message}", status)
    cls = InternalServerError if number >= 500 else BY_STATUS.get(number, APIStatusError)
    return cls(f"Error code: {number} - {message}", number, parse_retry_after(headers))
