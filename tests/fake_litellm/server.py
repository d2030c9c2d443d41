"""A loopback Anthropic Messages endpoint for LiteLLM's native ``anthropic/`` route (aiohttp,
127.0.0.1 only, in a thread). LiteLLM's OpenAI-compatible route is tested against the OpenAI
fake (``fake_openai``); this one speaks what LiteLLM sends to Anthropic, and checks it as the
Messages API does:

* ``POST /v1/messages`` only (anything else: 404 ``not_found_error``);
* a key as ``x-api-key`` (or ``Authorization: Bearer``) equal to :attr:`MessagesConfig.api_key`,
  else 401 ``authentication_error``; an ``anthropic-version`` header, else 400;
* a JSON object with ``model``, an integer ``max_tokens`` >= 1 and a non-empty ``messages``
  list of ``user`` / ``assistant`` turns whose content is a string or text blocks; a ``system``
  role among them is a 400 (the system prompt is the top-level ``system``: a string or text
  blocks); a top-level field the API does not have (``seed``, ``stop``, ``extra_body`` ...) is
  a 400 "Extra inputs are not permitted".

Replies: the last user turn picks the answer with the OpenAI fake's rule
(:func:`fake_openai.server.pick_reply`); ``stop_sequences`` and ``max_tokens`` (in words) cut
it (``stop_reason`` ``stop_sequence`` / ``max_tokens`` / ``end_turn``); ``usage`` counts words
(``input_tokens``: system and every turn; ``output_tokens``: the answer). The reply names
:attr:`MessagesConfig.reply_model`.

Faults: the first ``fail_first`` requests, or every ``fail_every``-th, get ``fail_status``
(429 ``rate_limit_error``, 529 ``overloaded_error``, other 5xx ``api_error``, 400
``invalid_request_error``) with an optional ``retry-after``. Every request is recorded (time,
path, headers, body, status answered).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from fake_openai.loopback import LoopbackServer, run_app
from fake_openai.server import LOOPBACK, pick_reply

T = TypeVar("T")
API_KEY = "sk-ant-test-0123456789abcdef"

# Top-level fields of a Messages request.
KNOWN_FIELDS = frozenset(
    {"model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k",
     "metadata", "stream", "tools", "tool_choice", "thinking", "service_tier", "container",
     "mcp_servers", "context_management", "output_config"}
)  # fmt: skip
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass
class MessagesConfig:
    api_key: str = API_KEY
    answers: dict[str, str] = field(default_factory=dict)
    reply_model: str = "claude-haiku-4-5-20251001"
    fail_first: int = 0
    fail_every: int = 0
    fail_status: int = 529
    retry_after: float | None = None


@dataclass
class Recorded:
    time: float
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any
    status: int = 0


class MessagesState:
    def __init__(self, config: MessagesConfig | None = None) -> None:
        self.config = config or MessagesConfig()
        self.reset()

    def reset(self, *, keep_config: bool = True) -> None:
        if not keep_config:
            self.config = MessagesConfig()
        self.requests: list[Recorded] = []
        self.failed = 0


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status, headers={"request-id": "req_fake", **(headers or {})})


def _text(content: Any) -> str | None:
    """A turn's (or the system prompt's) text: a string, or text blocks joined; None if neither."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in content):
        return "".join(str(b.get("text", "")) for b in content)
    return None


class FakeMessagesApp:
    def __init__(self, state: MessagesState) -> None:
        self.state = state
        self.app = web.Application()
        self.app.add_routes(
            [web.post("/v1/messages", self.messages), web.route("*", "/{tail:.*}", self.other)]
        )

    async def other(self, request: web.Request) -> web.StreamResponse:
        self._record(request, None, 404)
        return error(404, "not_found_error", f"{request.method} {request.path} not found")

    async def messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        entry = self._record(request, body, 0)
        response = self._answer(request, body)
        entry.status = response.status
        return response

    def _answer(self, request: web.Request, body: Any) -> web.Response:
        state, config = self.state, self.state.config
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        key = request.headers.get("x-api-key") or bearer
        if key != config.api_key:
            return error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        problem = self._problem(body)
        if problem:
            return error(400, "invalid_request_error", problem)
        n = len(state.requests)
        if state.failed < config.fail_first or (config.fail_every and n % config.fail_every == 0):
            state.failed += 1
            status = config.fail_status
            headers = {"retry-after": f"{config.retry_after:g}"} if config.retry_after is not None else {}
            kind = ERROR_TYPES.get(status, "api_error")
            return error(status, kind, "Overloaded" if status == 529 else f"fault {status}", headers)
        return web.json_response(self._message(body), headers={"request-id": f"req_{n}"})

    @staticmethod
    def _problem(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "the body must be a JSON object"
        extra = sorted(set(body) - KNOWN_FIELDS)
        if extra:
            return f"{extra[0]}: Extra inputs are not permitted"
        if not isinstance(body.get("model"), str):
            return "model: Field required"
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return "max_tokens: Field required (an integer >= 1)"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        for i, turn in enumerate(messages):
            role = turn.get("role") if isinstance(turn, dict) else None
            if role == "system":
                return (
                    f'messages.{i}.role: Unexpected role "system". The Messages API accepts a '
                    'top-level `system` parameter, not "system" as an input message role.'
                )
            if role not in ("user", "assistant") or _text(turn.get("content")) is None:
                return f"messages.{i}: a user or assistant turn with text content is required"
        if "system" in body and _text(body["system"]) is None:
            return "system: a string or a list of text blocks is required"
        stops = body.get("stop_sequences", [])
        if not isinstance(stops, list) or not all(isinstance(s, str) and s.strip() for s in stops):
            return "stop_sequences: each stop sequence must contain non-whitespace"
        return None

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        config = self.state.config
        turns = body["messages"]
        last_user = next((_text(t["content"]) or "" for t in reversed(turns) if t["role"] == "user"), "")
        reply = pick_reply(last_user, config.answers)
        stop_reason, stop_sequence = "end_turn", None
        for marker in body.get("stop_sequences", []):
            if marker in reply:
                reply, stop_reason, stop_sequence = reply[: reply.index(marker)], "stop_sequence", marker
        words = reply.split()
        if len(words) > body["max_tokens"]:
            reply, stop_reason, stop_sequence = " ".join(words[: body["max_tokens"]]), "max_tokens", None
        prompt = [_text(body.get("system", "")) or ""] + [_text(t["content"]) or "" for t in turns]
        return {
            "id": f"msg_fake_{len(self.state.requests)}",
            "type": "message",
            "role": "assistant",
            "model": config.reply_model,
            "content": [{"type": "text", "text": reply}],
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": {
                "input_tokens": sum(len(p.split()) for p in prompt),
                "output_tokens": len(reply.split()),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    def _record(self, request: web.Request, body: Any, status: int) -> Recorded:
        headers = {k.lower(): v for k, v in request.headers.items()}
        entry = Recorded(time.time(), request.path, headers, body, status)
        self.state.requests.append(entry)
        return entry


class MessagesServer(LoopbackServer):
    """The fake on its own event loop in a daemon thread; ``base_url`` is its root URL."""

    thread_name = "fake-messages"

    def __init__(self, config: MessagesConfig | None = None, host: str = "127.0.0.1") -> None:
        super().__init__()
        if host not in LOOPBACK:
            raise ValueError(f"the fake server only listens on loopback, not {host!r}")
        self.state = MessagesState(config)
        self.host = host
        self.base_url = ""

    async def _begin(self) -> tuple[web.AppRunner, str]:
        runner = await run_app(FakeMessagesApp(self.state).app, self.host, 0)
        return runner, f"http://{self.host}:{runner.addresses[0][1]}"

    def start(self) -> MessagesServer:
        self.base_url = self._serve()
        return self

    def configure(self, **changes: Any) -> None:
        def apply() -> None:
            self.state.config = dataclasses.replace(self.state.config, **changes)

        self._on_loop(apply)

    def requests(self) -> list[Recorded]:
        return self._on_loop(lambda: [dataclasses.replace(r) for r in self.state.requests])
