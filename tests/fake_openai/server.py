"""A loopback OpenAI-compatible server for tests and benchmarks (aiohttp, 127.0.0.1 only).

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models``, plus
``GET /_stats``, ``POST /_reset`` and ``POST /_config`` (JSON of :class:`FakeConfig` fields) for
tests that run it as a separate process::

    python -m tests.fake_openai.server --port 0 --latency-ms 50     # prints its URL, then serves

In-process::

    with serve_in_thread(FakeConfig(latency_s=0.1)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="x")

Replies: ``answers`` maps the last user message (chat) or the prompt (completion) to a reply,
exact match first, then "the text contains the key"; otherwise ``echo: <last line>``. Tokens are
whitespace-separated words. Faults are served to the first N requests, each kind counted apart:
``hang_first`` (sleeps ``hang_s``), ``fail_first`` (``fail_status``, optional ``Retry-After``),
``malformed_first`` (a 200 with a body that is not JSON). Per-request work is kept small: it is
used to benchmark clients at 128+ concurrent requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gzip
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, TypeVar

from aiohttp import web

from .loopback import LoopbackServer

LOOPBACK = ("127.0.0.1", "::1", "localhost")
T = TypeVar("T")


@dataclass
class FakeConfig:
    latency_s: float = 0.0
    answers: dict[str, str] = field(default_factory=dict)
    required_key: str | None = None  # 401 unless "Authorization: Bearer <required_key>"
    echo_key_in_errors: bool = False  # error messages quote the caller's key, as some servers do
    fail_first: int = 0
    fail_status: int = 500
    retry_after: float | None = None  # seconds, sent as Retry-After with fail_status
    retry_after_ms: float | None = None  # sent as retry-after-ms (OpenAI's header) instead
    retry_after_date: bool = False  # send retry_after as an HTTP date rather than seconds
    malformed_first: int = 0
    hang_first: int = 0
    hang_s: float = 300.0  # longer than any client timeout in the tests
    model: str | None = None  # model name in responses; the requested one by default
    usage: str = "normal"  # "omit": no usage key at all; "null": "usage": null (as some servers do)
    null_content: bool = False  # chat replies with "content": null and no tool call
    finish_reason: str | None = None  # overrides the computed finish_reason
    raw_reply: str | None = None  # sent verbatim (status 200) instead of a completion
    raw_content_type: str = "application/json"
    content_parts: bool = False  # chat content as a list of parts: [{"type": "text", ...}, ...]
    gzip: bool = False  # gzip every completion body (Content-Encoding: gzip), asked or not
    drop_first: int = 0  # close the connection without any reply
    cut_first: int = 0  # promise a Content-Length, send half the body, close the connection
    redirect_status: int | None = None  # answer every completion with this 3xx ...
    redirect_to: str = "/v1/elsewhere"  # ... and this Location


class FakeState:
    """Configuration, fault counters and statistics. Lives on the server's event loop."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.reset()

    def reset(self, *, keep_config: bool = True) -> None:
        if not keep_config:
            self.config = FakeConfig()
        self.requests: Counter[str] = Counter()
        self.prompts: list[str] = []
        # (wall-clock time, prompt text) of every generation request as it arrives, faults
        # included: tests read retries and their spacing from it.
        self.arrivals: list[tuple[float, str]] = []
        self.retried = 0  # requests the client marked as retries
        self.in_flight = self.max_in_flight = 0
        self.served = {"hang": 0, "fail": 0, "malformed": 0, "drop": 0, "cut": 0}
        self.ids = 0

    def configure(self, **changes: Any) -> None:
        known = {f.name for f in dataclasses.fields(FakeConfig)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown FakeConfig field(s) {unknown}; known: {sorted(known)}")
        self.config = dataclasses.replace(self.config, **changes)

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "prompts": list(self.prompts),
            "arrivals": [list(a) for a in self.arrivals],
            "retried": self.retried,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "faults_served": dict(self.served),
        }

    def take_fault(self, kind: str, limit: int) -> bool:
        if self.served[kind] < limit:
            self.served[kind] += 1
            return True
        return False


# --------------------------------------------------------------------------- replies


def pick_reply(text: str, answers: dict[str, str]) -> str:
    exact = answers.get(text)
    if exact is not None:
        return exact
    for key, reply in answers.items():
        if key in text:
            return reply
    lines = text.strip().splitlines()
    return f"echo: {lines[-1] if lines else ''}"


def shape_reply(reply: str, body: dict[str, Any]) -> tuple[str, str]:
    """Apply ``stop`` and ``max_tokens`` (in words) like a real server; returns (text, finish)."""
    stop = body.get("stop")
    for marker in [stop] if isinstance(stop, str) else stop or []:
        if marker and marker in reply:
            reply = reply[: reply.index(marker)]
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    words = reply.split()
    if isinstance(max_tokens, int) and len(words) > max_tokens:
        return " ".join(words[:max_tokens]), "length"
    return reply, "stop"


def usage(prompt_words: int, reply: str) -> dict[str, int]:
    completion = len(reply.split())
    return {
        "prompt_tokens": prompt_words,
        "completion_tokens": completion,
        "total_tokens": prompt_words + completion,
    }


def error_body(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _request_text(body: dict[str, Any], *, chat: bool) -> str:
    """The last user message (chat) or the prompt (completion)."""
    if chat:
        messages = body.get("messages") or []
        return next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    prompt = body.get("prompt") or ""
    return prompt if isinstance(prompt, str) else str(prompt[0])


# --------------------------------------------------------------------------- handlers


class FakeOpenAIApp:
    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.app = web.Application()
        self.app.add_routes(
            [
                web.post("/v1/chat/completions", self.chat),
                web.post("/v1/completions", self.completions),
                web.get("/v1/models", self.models),
                web.get("/_stats", self.stats),
                web.post("/_reset", self.reset),
                web.post("/_config", self.configure),
            ]
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=True)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=False)

    async def _generate(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        state = self.state
        state.requests[request.path] += 1
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            return await self._answer(request, chat=chat)
        finally:
            state.in_flight -= 1

    async def _answer(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        state, config = self.state, self.state.config
        if request.headers.get("x-stainless-retry-count", "0") != "0":
            state.retried += 1
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if config.required_key is not None and token != config.required_key:
            shown = f": {token}" if config.echo_key_in_errors else ""
            body = error_body(
                f"Incorrect API key provided{shown}.", "invalid_request_error", "invalid_api_key"
            )
            return web.json_response(body, status=401)
        body = json.loads(await request.read())
        state.arrivals.append((time.time(), _request_text(body, chat=chat)))
        if config.latency_s > 0:
            await asyncio.sleep(config.latency_s)
        if state.take_fault("hang", config.hang_first):
            await asyncio.sleep(config.hang_s)
        if state.take_fault("fail", config.fail_first):
            return self._failure(config, token)
        if state.take_fault("malformed", config.malformed_first):
            return web.Response(text='{"id": "broken", "choices": [', content_type="application/json")
        if state.take_fault("drop", config.drop_first):
            assert request.transport is not None
            request.transport.close()  # no status line, no body: the client sees a dropped connection
            raise ConnectionResetError("dropped on purpose")
        if config.redirect_status is not None:
            return web.Response(status=config.redirect_status, headers={"Location": config.redirect_to})
        if state.take_fault("cut", config.cut_first):
            return await self._cut_off(request, json.dumps(self._completion(body, chat=chat)).encode())
        if config.raw_reply is not None:
            return web.Response(text=config.raw_reply, content_type=config.raw_content_type)
        reply = self._completion(body, chat=chat)
        if config.gzip:
            data = gzip.compress(json.dumps(reply).encode())
            return web.Response(
                body=data, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
            )
        return web.json_response(reply)

    async def _cut_off(self, request: web.Request, data: bytes) -> web.StreamResponse:
        """Headers promising all of ``data``, half of it, then the connection closed."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    def _failure(self, config: FakeConfig, token: str) -> web.Response:
        status = config.fail_status
        message = "Rate limit reached." if status == 429 else "The server had an error."
        if config.echo_key_in_errors:
            message += f" (request made with key {token})"
        kind = "rate_limit_error" if status == 429 else "server_error"
        headers = {}
        if config.retry_after_ms is not None:
            headers["retry-after-ms"] = f"{config.retry_after_ms:g}"
        elif config.retry_after is not None and config.retry_after_date:
            headers["Retry-After"] = formatdate(time.time() + config.retry_after, usegmt=True)
        elif config.retry_after is not None:
            headers["Retry-After"] = f"{config.retry_after:g}"
        return web.json_response(error_body(message, kind, None), status=status, headers=headers)

    def _completion(self, body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
        state = self.state
        state.ids += 1
        model = state.config.model or body.get("model") or "fake-model"
        text = _request_text(body, chat=chat)
        if chat:
            messages = body.get("messages") or []
            prompt_words = sum(len(str(m.get("content") or "").split()) for m in messages)
        else:
            prompt_words = len(text.split())
        state.prompts.append(text)
        reply, finish = shape_reply(pick_reply(text, state.config.answers), body)
        finish = state.config.finish_reason or finish
        head = {"id": f"fake-{state.ids}", "created": int(time.time()), "model": model}
        if chat:
            content: Any = None if state.config.null_content else reply
            if state.config.content_parts:
                half = len(reply) // 2
                content = [
                    {"type": "text", "text": reply[:half]},
                    {"type": "image_url", "image_url": {"url": "data:,"}},
                    {"type": "text", "text": reply[half:]},
                ]
            message = {"role": "assistant", "content": content, "refusal": None}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            reply_body = {
                **head,
                "object": "chat.completion",
                "choices": [choice],
                "usage": usage(prompt_words, reply),
                "system_fingerprint": "fp_fake",
            }
        else:
            choice = {"index": 0, "text": reply, "logprobs": None, "finish_reason": finish}
            reply_body = {
                **head,
                "object": "text_completion",
                "choices": [choice],
                "usage": usage(prompt_words, reply),
            }
        if state.config.usage == "omit":
            del reply_body["usage"]
        elif state.config.usage == "null":
            reply_body["usage"] = None
        return reply_body

    async def models(self, request: web.Request) -> web.Response:
        model = {
            "id": self.state.config.model or "fake-model",
            "object": "model",
            "created": 0,
            "owned_by": "fake",
        }
        return web.json_response({"object": "list", "data": [model]})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.snapshot())

    async def reset(self, request: web.Request) -> web.Response:
        options = json.loads(await request.read() or b"{}")
        self.state.reset(keep_config=bool(options.get("keep_config", False)))
        return web.json_response({"ok": True})

    async def configure(self, request: web.Request) -> web.Response:
        try:
            self.state.configure(**json.loads(await request.read() or b"{}"))
        except TypeError as exc:
            return web.json_response(error_body(str(exc), "invalid_request_error", None), status=400)
        return web.json_response({"ok": True})


# --------------------------------------------------------------------------- running it


async def start_server(state: FakeState, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Start on the running loop; returns the runner (to clean up) and the base URL."""
    if host not in LOOPBACK:
        raise ValueError(f"the fake server only listens on loopback, not {host!r}")
    # handler_cancellation: a client that times out and hangs up cancels its hung handler;
    # a short shutdown_timeout keeps teardown fast while handlers still sleep.
    runner = web.AppRunner(
        FakeOpenAIApp(state).app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host}:{bound_port}/v1"


class ServerThread(LoopbackServer):
    """The fake server on its own event loop in a daemon thread, for in-process tests."""

    thread_name = "fake-openai"

    def __init__(self, config: FakeConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.state = FakeState(config)
        self.host, self.port = host, port
        self.base_url = ""

    async def _begin(self) -> tuple[web.AppRunner, str]:
        return await start_server(self.state, self.host, self.port)

    def start(self) -> ServerThread:
        self.base_url = self._serve()
        return self

    @property
    def url(self) -> str:
        """The server root (``base_url`` without ``/v1``)."""
        return self.base_url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        return self._on_loop(self.state.snapshot)


@contextlib.contextmanager
def serve_in_thread(config: FakeConfig | None = None, *, port: int = 0) -> Iterator[ServerThread]:
    """Run the server in a background thread; yields it (``.base_url`` is ``http://127.0.0.1:PORT/v1``)."""
    with ServerThread(config, port=port) as server:
        yield server


# --------------------------------------------------------------------------- command line


async def _serve_forever(config: FakeConfig, host: str, port: int) -> None:
    runner, base_url = await start_server(FakeState(config), host, port)
    print(base_url, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_openai.server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--required-key", default=None)
    args = parser.parse_args(argv)
    config = FakeConfig(latency_s=args.latency_ms / 1000, required_key=args.required_key)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(config, args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
