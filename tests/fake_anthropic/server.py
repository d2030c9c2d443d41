"""A loopback Anthropic Messages API server for tests (aiohttp, 127.0.0.1 only, in a thread).

``POST /v1/messages`` answers as the real API does, and checks what the real API checks:

* a key, as ``x-api-key`` or ``Authorization: Bearer`` (the SDK 2.x sends the latter); with
  ``required_key`` set, any other key is a 401 ``authentication_error``;
* ``anthropic-version``: required, one of the published versions; from 2026-10-21 on,
  ``temperature`` / ``top_p`` / ``top_k`` are a 400 ("Extra inputs are not permitted");
* ``content-type: application/json``; a JSON object with ``model``, ``max_tokens`` (an integer
  >= 1) and a non-empty ``messages`` list of ``user`` / ``assistant`` turns (a ``system`` role
  is a 400: the system prompt is the top-level ``system`` parameter, a string or text blocks);
  ``stop_sequences`` a list of strings with visible text; no top-level field the API does not know;
* every other path is a 404 ``not_found_error`` (a ``base_url`` ending in ``/v1`` shows here).

Replies: the last user turn picks the answer with the OpenAI fake's rule
(:func:`fake_openai.server.pick_reply`); ``stop_sequences`` and ``max_tokens`` (in words) cut it,
with ``stop_reason`` ``stop_sequence`` / ``max_tokens`` / ``end_turn``. Tokens are words.
``usage`` has ``input_tokens`` / ``output_tokens`` and the prompt-cache counts.

Faults: ``fail_first`` requests, or every ``fail_every``-th request, get ``fail_status``
(429 ``rate_limit_error``, 529 ``overloaded_error``, 5xx ``api_error``) with an optional
``retry-after``; ``drop_first`` requests are hung up on. Every request is recorded (path,
headers, body) for assertions, faults and refusals included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from fake_openai.loopback import LoopbackServer, run_app
from fake_openai.server import pick_reply

T = TypeVar("T")

KNOWN_VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")
NO_SAMPLING_FROM = "2026-10-21"
SAMPLING = ("temperature", "top_p", "top_k")
# Top-level fields of a Messages request the API knows; any other is a 400.
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p",
        "top_k", "metadata", "stream", "tools", "tool_choice", "thinking", "cache_control",
        "service_tier", "container", "output_config", "inference_geo", "speed", "diagnostics",
        "mcp_servers",
    }
)  # fmt: skip
ERROR_KINDS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not Found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass
class FakeAnthropicConfig:
    answers: dict[str, str] = field(default_factory=dict)
    latency_s: float = 0.0
    required_key: str | None = None  # 401 unless the request carries exactly this key
    fail_first: int = 0
    fail_every: int = 0  # every Nth request to /v1/messages (by arrival) fails
    fail_status: int = 500
    retry_after: float | None = None  # seconds, sent as retry-after with fail_status
    drop_first: int = 0  # close the connection without a reply
    raw_reply: str | None = None  # sent verbatim instead of a message
    raw_status: int = 200
    raw_content_type: str = "application/json"
    blocks: str = "text"  # text | mixed (thinking, text, tool_use, text) | tool_use | empty
    usage: str = "normal"  # normal | omit | null
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    model: str | None = None  # the model named in replies; the requested one by default


@dataclass
class Recorded:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # the parsed JSON, or the raw text when it was not JSON
    at: float  # time.time()


class FakeAnthropicState:
    def __init__(self, config: FakeAnthropicConfig | None = None) -> None:
        self.config = config or FakeAnthropicConfig()
        self.reset()

    def reset(self, *, keep_config: bool = True) -> None:
        if not keep_config:
            self.config = FakeAnthropicConfig()
        self.requests: list[Recorded] = []
        self.messages_seen = 0  # requests to /v1/messages, refused ones included
        self.served = {"fail": 0, "drop": 0}
        self.ids = 0

    def configure(self, **changes: Any) -> None:
        known = {f.name for f in dataclasses.fields(FakeAnthropicConfig)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown FakeAnthropicConfig field(s) {unknown}; known: {sorted(known)}")
        self.config = dataclasses.replace(self.config, **changes)

    def take(self, kind: str, limit: int) -> bool:
        if self.served[kind] < limit:
            self.served[kind] += 1
            return True
        return False


def error_body(status: int, message: str | None = None, kind: str | None = None) -> dict[str, Any]:
    default_kind, default_message = ERROR_KINDS.get(status, ("api_error", "Internal server error"))
    return {
        "type": "error",
        "error": {"type": kind or default_kind, "message": message or default_message},
        "request_id": "req_fake_error",
    }


def _error(status: int, message: str | None = None, **headers: str) -> web.Response:
    return web.json_response(error_body(status, message), status=status, headers=headers or None)


def _text(content: Any) -> str:
    """A turn's or system prompt's text: a string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def validate(body: Any, version: str) -> str | None:
    """What the real API would refuse in ``body`` (its 400 message), or None."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    for name in body:
        if name not in KNOWN_FIELDS:
            return f"{name}: Extra inputs are not permitted"
    if version >= NO_SAMPLING_FROM:
        for name in SAMPLING:
            if name in body:
                return f"{name}: Extra inputs are not permitted"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            return (
                f'messages.{i}.role: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if not isinstance(message.get("content"), (str, list)):
            return f"messages.{i}.content: Field required"
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or a list of text blocks"
    stops = body.get("stop_sequences")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
        return "stop_sequences: Input should be a valid list of strings"
    if stops and not all(s.strip() for s in stops):
        return "stop_sequences: each stop sequence must contain non-whitespace"
    if body.get("stream"):
        return "stream: this fake server does not stream"
    return None


class FakeAnthropicApp:
    def __init__(self, state: FakeAnthropicState) -> None:
        self.state = state
        self.app = web.Application()
        self.app.add_routes(
            [web.post("/v1/messages", self.messages), web.route("*", "/{tail:.*}", self.other)]
        )

    async def other(self, request: web.Request) -> web.Response:
        await self._record(request)
        return _error(404, f"Not Found: {request.method} {request.path}")

    async def _record(self, request: web.Request) -> Recorded:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        recorded = Recorded(request.path, headers, body, time.time())
        self.state.requests.append(recorded)
        return recorded

    async def messages(self, request: web.Request) -> web.StreamResponse:
        state, config = self.state, self.state.config
        recorded = await self._record(request)
        state.messages_seen += 1
        seen = state.messages_seen
        headers = recorded.headers
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if not key:
            return _error(401, "x-api-key header is required")
        if config.required_key is not None and key != config.required_key:
            return _error(401, "invalid x-api-key")
        version = headers.get("anthropic-version")
        if version is None:
            return _error(400, "anthropic-version: header is required")
        if version not in KNOWN_VERSIONS:
            return _error(400, f"anthropic-version: {version!r} is not a valid version")
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(400, "Content-Type must be application/json")
        problem = validate(recorded.body, version)
        if problem is not None:
            return _error(400, problem)
        if config.latency_s > 0:
            await asyncio.sleep(config.latency_s)
        if state.take("fail", config.fail_first) or (config.fail_every and seen % config.fail_every == 0):
            extra = {} if config.retry_after is None else {"retry-after": f"{config.retry_after:g}"}
            return _error(config.fail_status, None, **extra)
        if state.take("drop", config.drop_first):
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("dropped on purpose")
        if config.raw_reply is not None:
            return web.Response(
                text=config.raw_reply, status=config.raw_status, content_type=config.raw_content_type
            )
        state.ids += 1
        return web.json_response(self.reply(recorded.body), headers={"request-id": f"req_fake_{state.ids}"})

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        config = self.state.config
        turns = body["messages"]
        asked = next((_text(m["content"]) for m in reversed(turns) if m["role"] == "user"), "")
        prompt_words = len(_text(body.get("system")).split()) + sum(
            len(_text(m["content"]).split()) for m in turns
        )
        text = pick_reply(asked, config.answers)
        stop_reason, stop_sequence = "end_turn", None
        for marker in body.get("stop_sequences") or []:
            if marker and marker in text:
                text, stop_reason, stop_sequence = text[: text.index(marker)], "stop_sequence", marker
                break
        words = text.split()
        if len(words) > body["max_tokens"]:
            text, stop_reason, stop_sequence = " ".join(words[: body["max_tokens"]]), "max_tokens", None
        tool = {"type": "tool_use", "id": "toolu_fake", "name": "lookup", "input": {"q": asked}}
        if config.blocks == "mixed":
            half = len(text) // 2
            content: list[dict[str, Any]] = [
                {"type": "thinking", "thinking": "Let me think.", "signature": "c2ln"},
                {"type": "text", "text": text[:half]},
                tool,
                {"type": "text", "text": text[half:]},
            ]
        elif config.blocks == "tool_use":
            content, stop_reason = [tool], "tool_use"
        elif config.blocks == "empty":
            content = []
        else:
            content = [{"type": "text", "text": text}]
        reply: dict[str, Any] = {
            "id": f"msg_fake_{self.state.ids}",
            "type": "message",
            "role": "assistant",
            "model": config.model or body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": {
                "input_tokens": prompt_words,
                "cache_creation_input_tokens": config.cache_creation_tokens,
                "cache_read_input_tokens": config.cache_read_tokens,
                "output_tokens": len(text.split()),
                "service_tier": "standard",
            },
        }
        if config.usage == "omit":
            del reply["usage"]
        elif config.usage == "null":
            reply["usage"] = None
        return reply


# --------------------------------------------------------------------------- running it


class AnthropicServerThread(LoopbackServer):
    """The fake server on its own event loop in a daemon thread.

    ``base_url`` is the root (``http://127.0.0.1:PORT``): the SDK adds ``/v1/messages``.
    """

    thread_name = "fake-anthropic"

    def __init__(self, config: FakeAnthropicConfig | None = None) -> None:
        super().__init__()
        self.state = FakeAnthropicState(config)
        self.base_url = ""

    async def _begin(self) -> tuple[web.AppRunner, str]:
        runner = await run_app(FakeAnthropicApp(self.state).app, "127.0.0.1", 0)
        return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"

    def start(self) -> AnthropicServerThread:
        self.base_url = self._serve()
        return self

    def requests(self, path: str | None = "/v1/messages") -> list[Recorded]:
        """Every recorded request (to ``path``; None: to any path), in arrival order."""
        found = self._on_loop(lambda: list(self.state.requests))
        return [r for r in found if path is None or r.path == path]


@contextlib.contextmanager
def serve_in_thread(config: FakeAnthropicConfig | None = None) -> Iterator[AnthropicServerThread]:
    with AnthropicServerThread(config) as server:
        yield server
