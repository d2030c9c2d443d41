"""A loopback Gemini API / Vertex AI server for tests (aiohttp, 127.0.0.1 only).

It serves ``generateContent`` at the paths the ``google-genai`` SDK builds::

    POST /{v1,v1beta,v1alpha}/models/{model}:generateContent                      Gemini API
    POST /{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent
                                                                                 Vertex AI

and checks what the real services check: the API key (``x-goog-api-key`` header or ``key``
query parameter; missing -> 403 PERMISSION_DENIED, wrong -> 400 API_KEY_INVALID) or, on Vertex
paths, ``Authorization: Bearer <token>`` (else 401 UNAUTHENTICATED); a JSON body whose field
names are known (``Unknown name "x": Cannot find field.``), non-empty ``contents`` with roles
``user``/``model`` and text parts, a ``systemInstruction`` of text parts and a
``generationConfig`` within the API's limits (at most 5 ``stopSequences``, a 32-bit ``seed``).
Errors are Google's shape: ``{"error": {"code", "message", "status", "details"}}``.

Replies are ``GenerateContentResponse`` JSON: the first candidate's text from
:func:`fake_openai.server.pick_reply` (the last user turn's text), ``stopSequences`` and
``maxOutputTokens`` applied (tokens are whitespace-separated words), and ``usageMetadata``
with zero counts left out as Google's proto3 JSON does. Every request is recorded (path,
headers, body, arrival time) for assertions; faults are injected by :class:`GeminiConfig`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from fake_openai.loopback import LoopbackServer, run_app
from fake_openai.server import LOOPBACK, pick_reply

T = TypeVar("T")

API_KEY = "gm-test-key-0123456789"
ACCESS_TOKEN = "ya29.fake-access-token"

GEMINI_PATH = re.compile(r"^/(?P<version>v1|v1beta|v1alpha)/models/(?P<model>[^/:]+):generateContent$")
VERTEX_PATH = re.compile(
    r"^/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/google/models/(?P<model>[^/:]+):generateContent$"
)
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# Field names the API knows (proto JSON accepts lowerCamelCase and the original snake_case).
REQUEST_FIELDS = {
    "contents", "systemInstruction", "generationConfig", "safetySettings", "tools", "toolConfig",
    "cachedContent", "labels",
}  # fmt: skip
GENERATION_FIELDS = {
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "seed",
    "presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema",
    "responseJsonSchema", "responseLogprobs", "logprobs", "thinkingConfig", "responseModalities",
    "mediaResolution", "enableEnhancedCivicAnswers",
}  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)


def _known(fields: set[str]) -> set[str]:
    return fields | {_snake(f) for f in fields}


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class GeminiConfig:
    api_key: str = API_KEY  # required on Gemini API paths
    access_token: str = ACCESS_TOKEN  # required as a Bearer token on Vertex paths
    answers: dict[str, str] = field(default_factory=dict)
    latency_s: float = 0.0
    fail_first: int = 0  # the first N generate requests fail with fail_status
    fail_every: int = 0  # every Nth generate request fails with fail_status (0: never)
    fail_status: int = 500
    retry_after: float | None = None  # sent as a Retry-After header with a failure
    retry_delay: str | None = None  # sent as google.rpc.RetryInfo retryDelay ("0.6s") in the body
    hang_first: int = 0
    hang_s: float = 300.0
    drop_first: int = 0  # close the connection without a reply
    model_version: str | None = None  # modelVersion in replies; the requested model by default
    thoughts: int = 0  # thoughtsTokenCount of each reply (thought parts when includeThoughts)
    thoughts_only: bool = False  # the candidate has thought parts only, finishReason MAX_TOKENS
    block_reason: str | None = None  # promptFeedback.blockReason and no candidates
    finish_reason: str | None = None  # overrides the computed finishReason
    no_content: bool = False  # a candidate without content (e.g. finishReason SAFETY)
    usage: str = "normal"  # "omit": no usageMetadata; "no_prompt": no promptTokenCount
    raw_reply: str | None = None  # sent verbatim (status 200) instead of a response


class GeminiState:
    """Configuration, fault counters and records. Lives on the server's event loop."""

    def __init__(self, config: GeminiConfig | None = None) -> None:
        self.config = config or GeminiConfig()
        self.reset()

    def reset(self, *, keep_config: bool = True) -> None:
        if not keep_config:
            self.config = GeminiConfig()
        self.requests: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.queries: list[dict[str, str]] = []
        self.arrivals: list[tuple[float, str]] = []  # (time, last user text), faults included
        self.generated = 0  # generate requests past auth and validation
        self.served = {"hang": 0, "fail": 0, "drop": 0}
        self.ids = 0

    def configure(self, **changes: Any) -> None:
        known = {f.name for f in dataclasses.fields(GeminiConfig)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown GeminiConfig field(s) {unknown}; known: {sorted(known)}")
        self.config = dataclasses.replace(self.config, **changes)

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "bodies": list(self.bodies),
            "headers": list(self.headers),
            "queries": list(self.queries),
            "arrivals": [list(a) for a in self.arrivals],
            "faults_served": dict(self.served),
        }

    def take_fault(self, kind: str, limit: int) -> bool:
        if self.served[kind] < limit:
            self.served[kind] += 1
            return True
        return False


def google_error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.json_response(google_error(status, message, details), status=status, headers=headers)


# --------------------------------------------------------------------------- request checks


def _text_parts(content: Any, where: str) -> list[str]:
    if not isinstance(content, dict):
        raise BadRequest(f"Invalid value at '{where}', must be an object")
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise BadRequest(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.")
    texts = []
    for i, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            raise BadRequest(
                f"* GenerateContentRequest.{where}.parts[{i}].data: "
                "required oneof field 'data' must have one initialized field"
            )
        texts.append(part["text"])
    return texts


def check_body(body: Any) -> str:
    """Validate a GenerateContentRequest; returns the last user turn's text. BadRequest if not."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid JSON payload received. Expected an object.")
    for name in body:
        if name not in _known(REQUEST_FIELDS):
            raise BadRequest(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise BadRequest("* GenerateContentRequest.contents: contents is not specified")
    last_user = ""
    for i, content in enumerate(contents):
        texts = _text_parts(content, f"contents[{i}]")
        role = content.get("role")
        if role not in ("user", "model"):
            raise BadRequest(f"Please use a valid role: user, model. (contents[{i}].role is {role!r})")
        if role == "user":
            last_user = "".join(texts)
    system = body.get("systemInstruction", body.get("system_instruction"))
    if system is not None:
        _text_parts(system, "system_instruction")
    config = body.get("generationConfig", body.get("generation_config")) or {}
    if not isinstance(config, dict):
        raise BadRequest("Invalid value at 'generation_config', must be an object")
    for name in config:
        if name not in _known(GENERATION_FIELDS):
            raise BadRequest(
                f'Invalid JSON payload received. Unknown name "{name}" at '
                "'generation_config': Cannot find field."
            )
    stops = config.get("stopSequences") or []
    if len(stops) > 5:
        raise BadRequest(
            "* GenerateContentRequest.generation_config.stop_sequences: must have at most 5 items"
        )
    temperature = config.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise BadRequest("* GenerateContentRequest.generation_config.temperature: must be in [0, 2]")
    seed = config.get("seed")
    if seed is not None and (not isinstance(seed, int) or not -(2**31) <= seed < 2**31):
        raise BadRequest(f"Invalid value at 'generation_config.seed' (TYPE_INT32), {seed}")
    max_tokens = config.get("maxOutputTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 0):
        raise BadRequest("* GenerateContentRequest.generation_config.max_output_tokens: must be positive")
    return last_user


def _prompt_words(body: dict[str, Any]) -> int:
    words = 0
    system = body.get("systemInstruction")
    for content in [*([system] if system else []), *body["contents"]]:
        words += sum(len(str(p.get("text", "")).split()) for p in content["parts"])
    return words


def shape(reply: str, config: dict[str, Any]) -> tuple[str, str]:
    """``stopSequences`` and ``maxOutputTokens`` (in words) applied; returns (text, finishReason)."""
    for marker in config.get("stopSequences") or []:
        if marker and marker in reply:
            reply = reply[: reply.index(marker)]
    limit = config.get("maxOutputTokens")
    words = reply.split()
    if isinstance(limit, int) and len(words) > limit:
        return " ".join(words[:limit]), "MAX_TOKENS"
    return reply, "STOP"


# --------------------------------------------------------------------------- the app


class FakeGeminiApp:
    def __init__(self, state: GeminiState) -> None:
        self.state = state
        self.app = web.Application()
        self.app.add_routes([web.route("*", "/{tail:.*}", self.dispatch)])

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        gemini, vertex = GEMINI_PATH.match(path), VERTEX_PATH.match(path)
        match = gemini or vertex
        if match is None:
            return error_response(404, f"Method not found: {path}")
        if request.method != "POST":
            return error_response(404, f"HTTP method {request.method} is not allowed for {path}")
        state, config = self.state, self.state.config
        state.requests[path] += 1
        state.headers.append(dict(request.headers))
        state.queries.append(dict(request.query))
        if gemini is not None:
            denied = self._check_key(request, config)
        else:
            denied = self._check_token(request, config)
        if denied is not None:
            return denied
        if request.content_type != "application/json":
            return error_response(400, f"Invalid Content-Type {request.content_type!r}; use application/json")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return error_response(400, "Invalid JSON payload received. Unexpected token.")
        state.bodies.append(body)
        try:
            text = check_body(body)
        except BadRequest as exc:
            return error_response(400, exc.message)
        state.arrivals.append((time.time(), text))
        state.generated += 1
        if config.latency_s > 0:
            await asyncio.sleep(config.latency_s)
        if state.take_fault("hang", config.hang_first):
            await asyncio.sleep(config.hang_s)
        periodic = config.fail_every > 0 and state.generated % config.fail_every == 0
        if state.take_fault("fail", config.fail_first) or periodic:
            if periodic:
                state.served["fail"] += 1
            return self._failure(config)
        if state.take_fault("drop", config.drop_first):
            assert request.transport is not None
            request.transport.close()  # no status line, no body: a dropped connection
            raise ConnectionResetError("dropped on purpose")
        if config.raw_reply is not None:
            return web.Response(text=config.raw_reply, content_type="application/json")
        return web.json_response(self._response(body, match["model"], text))

    def _check_key(self, request: web.Request, config: GeminiConfig) -> web.Response | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return error_response(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if key != config.api_key:
            info = {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }
            return error_response(400, "API key not valid. Please pass a valid API key.", [info])
        return None

    def _check_token(self, request: web.Request, config: GeminiConfig) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {config.access_token}":
            return error_response(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        return None

    def _failure(self, config: GeminiConfig) -> web.Response:
        status = config.fail_status
        if status == 429:
            message = "Resource has been exhausted (e.g. check quota)."
        elif status == 503:
            message = "The model is overloaded. Please try again later."
        else:
            message = "An internal error has occurred. Please retry or report the problem."
        details = []
        if config.retry_delay is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": config.retry_delay}
            )
        headers = {"Retry-After": f"{config.retry_after:g}"} if config.retry_after is not None else None
        return error_response(status, message, details, headers)

    def _response(self, body: dict[str, Any], model: str, text: str) -> dict[str, Any]:
        state, config = self.state, self.state.config
        state.ids += 1
        generation = body.get("generationConfig") or {}
        prompt = _prompt_words(body)
        usage: dict[str, Any] = {"promptTokenCount": prompt}
        head = {"modelVersion": config.model_version or model, "responseId": f"fake-{state.ids}"}
        if config.block_reason is not None:
            usage["totalTokenCount"] = prompt
            return {"promptFeedback": {"blockReason": config.block_reason}, "usageMetadata": usage, **head}
        reply, finish = shape(pick_reply(text, config.answers), generation)
        parts: list[dict[str, Any]] = []
        include_thoughts = bool((generation.get("thinkingConfig") or {}).get("includeThoughts"))
        if config.thoughts and (include_thoughts or config.thoughts_only):
            parts.append({"text": "Let me think about this.", "thought": True})
        if config.thoughts_only:
            finish, reply = "MAX_TOKENS", ""
        else:
            parts.append({"text": reply})
        completion = len(reply.split())
        candidate: dict[str, Any] = {"finishReason": config.finish_reason or finish, "index": 0}
        if not config.no_content:
            candidate["content"] = {"parts": parts, "role": "model"}
        if completion:
            usage["candidatesTokenCount"] = completion
        if config.thoughts:
            usage["thoughtsTokenCount"] = config.thoughts
        usage["totalTokenCount"] = prompt + completion + config.thoughts
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        if config.usage == "no_prompt":
            del usage["promptTokenCount"]
        response: dict[str, Any] = {"candidates": [candidate], **head}
        if config.usage != "omit":
            response["usageMetadata"] = usage
        return response


# --------------------------------------------------------------------------- running it


async def start_server(
    state: GeminiState, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start on the running loop; returns the runner and the root URL (``http://127.0.0.1:PORT``)."""
    if host not in LOOPBACK:
        raise ValueError(f"the fake server only listens on loopback, not {host!r}")
    runner = await run_app(FakeGeminiApp(state).app, host, port)
    return runner, f"http://{host}:{runner.addresses[0][1]}"


class GeminiFake(LoopbackServer):
    """The fake on its own event loop in a daemon thread. ``url`` is the root to use as base_url."""

    thread_name = "fake-gemini"

    def __init__(self, config: GeminiConfig | None = None, *, port: int = 0) -> None:
        super().__init__()
        self.state = GeminiState(config)
        self.port = port
        self.url = ""

    async def _begin(self) -> tuple[web.AppRunner, str]:
        return await start_server(self.state, "127.0.0.1", self.port)

    def start(self) -> GeminiFake:
        self.url = self._serve()
        return self

    def stats(self) -> dict[str, Any]:
        return self._on_loop(self.state.snapshot)


@contextlib.contextmanager
def serve_gemini(config: GeminiConfig | None = None) -> Iterator[GeminiFake]:
    with GeminiFake(config) as server:
        yield server
