"""An OpenAI-compatible reply, whatever its shape, read into a Completion or one clear error.

One status/body classification and one reply reader serve both clients (aiohttp and, with
``client: sdk``, the official SDK), so a result reads the same whichever made the call:

* an HTTP error status -> the error class the SDK names for it, with the server's message;
* a 200 whose body is an ``{"error": {...}}`` object -> the same, classified by its code;
* a body that is not JSON (an HTML error page from a proxy) -> :class:`InvalidResponse`;
* ``choices: []`` or missing -> :class:`InvalidResponse`;
* ``message.content`` a string -> the answer; a list of parts -> the text parts joined;
  ``null`` (only tool calls, a refusal, reasoning cut off by max_tokens) ->
  :class:`EmptyAnswer` with the ``finish_reason`` and the reply's usage (the tokens were spent);
* an ``error`` on the choice (a router's upstream failure) -> classified like an error body;
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
from ...common.records import Usage
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
    if choice.get("error"):  # a router's upstream provider failed (OpenRouter's choice.error)
        raise _error_object(choice["error"], status, headers)
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    usage = parse_usage(data.get("usage"))
    model = data.get("model")
    model = model if isinstance(model, str) else None
    if chat:
        text = _content_text(choice.get("message"), finish, usage, model)
    else:
        text = answer_text(choice.get("text"), finish, usage=usage, model=model)
    return Completion(text=text, usage=usage, finish_reason=finish, model=model)


def _content_text(message: Any, finish: str | None, usage: Usage | None, model: str | None) -> str:
    """The answer in ``message``; :class:`EmptyAnswer` saying why there is none, with the
    reply's usage (the tokens were spent all the same)."""
    content = message.get("content") if isinstance(message, Mapping) else None

    def empty(what: str) -> EmptyAnswer:
        return EmptyAnswer(finish, what, usage=usage, model=model)

    if isinstance(content, list):
        # Content parts: join the text ones ({"type": "text", "text": "..."}), skip the rest.
        texts = [
            part.get("text")
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", "output_text")
        ]
        if not texts:
            raise empty("the model returned content parts but no text part")
        return "".join(t for t in texts if isinstance(t, str))
    if content is None and isinstance(message, Mapping):
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal:
            raise empty(f"the model refused: {refusal[:300]!r}")
        if message.get("tool_calls"):
            raise empty("the model answered with tool calls and no text")
        if finish == "length" and (message.get("reasoning_content") or message.get("reasoning")):
            raise empty("the model spent max_tokens on reasoning and gave no text")
    return answer_text(content, finish, usage=usage, model=model)


def _error_object(error: Any, status: int, headers: Any) -> APIStatusError:
    """An ``{"error": {...}}`` body (in a 200): classified by its code or type, message kept."""
    if not isinstance(error, Mapping):
        return APIStatusError(f"Error code: {status} - {error!r}", status)
    code, kind = error.get("code"), error.get("type")
    number = (
        code if isinstance(code, int) else int(code) if isinstance(code, str) and code.isdigit() else None
    )
    if number is not None and not 100 <= number <= 599:
        number = None  # a provider's own error code (e.g. "1301"), not an HTTP status
    if number is None:
        number = _BY_KIND.get(str(code)) or _BY_KIND.get(str(kind))
    message = error.get("message") or error
    if number is None:
        return APIStatusError(f"Error in a {status} reply - {message}", status)
    cls = InternalServerError if number >= 500 else BY_STATUS.get(number, APIStatusError)
    return cls(f"Error code: {number} - {message}", number, parse_retry_after(headers))
