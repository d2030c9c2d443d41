"""A loopback Azure OpenAI resource for tests (aiohttp, 127.0.0.1 only, in a thread).

Built by composition on the OpenAI fake (``fake_openai.server``): Azure's routes check what
Azure checks, then hand the request to :class:`~fake_openai.server.FakeOpenAIApp`, whose
replies, faults (``fail_first``, ``retry_after``, ``hang_first``, ``drop_first`` ...) and
statistics (``stats()``) apply unchanged. On top, as a real resource does:

* ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` and
  ``.../completions``; any other path is a 404 ``Resource not found``;
* ``api-version``: required (404 without it, as Azure answers), one of :attr:`AzureConfig.api_versions`
  (else a 400 ``API version not supported``);
* the key as ``api-key`` (:attr:`AzureConfig.api_key`) or a Microsoft Entra ID token as
  ``Authorization: Bearer`` (:attr:`AzureConfig.ad_token`); anything else is Azure's 401;
* the deployment must exist (404 ``DeploymentNotFound``); chat deployments take only
  ``chat/completions`` and ``*-instruct`` ones only ``completions`` (400 ``OperationNotSupported``);
* replies name the deployment's model (``gpt-4o-mini-2024-07-18``), not the deployment, and
  carry ``prompt_filter_results`` / ``content_filter_results`` as Azure's do;
* the content filter: a prompt containing one of ``filter_prompts`` is a 400 ``content_filter``;
  one containing one of ``filter_answers`` is a 200 whose answer was withheld
  (``finish_reason: content_filter``, ``content: null``);
* ``fail_every``: every N-th generation request gets the OpenAI fake's ``fail_status`` with its
  ``Retry-After`` (a steady error rate, where ``fail_first`` gives a burst).

Every request is recorded (:meth:`AzureServerThread.requests`: time, path, query, headers,
JSON body and the status answered), refusals and faults included.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fake_openai.server import LOOPBACK, FakeConfig, FakeOpenAIApp, FakeState, ServerThread, _request_text

API_KEY = "azure-test-key-0123456789abcdef"
AD_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-entra-token"

_FILTER_OK = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}
_FILTER_HIT = {**_FILTER_OK, "violence": {"filtered": True, "severity": "high"}}


@dataclass
class AzureConfig:
    api_key: str | None = API_KEY  # accepted as the api-key header
    ad_token: str | None = AD_TOKEN  # accepted as Authorization: Bearer
    api_versions: tuple[str, ...] = ("2024-06-01", "2024-10-21", "2025-04-01-preview")
    #: deployment name -> the model it serves (what replies name).
    deployments: dict[str, str] = field(
        default_factory=lambda: {
            "gpt4o-mini-prod": "gpt-4o-mini-2024-07-18",
            "gpt4o-mini-eval": "gpt-4o-mini-2024-07-18",
            "judge": "gpt-4o-2024-08-06",
            "instruct": "gpt-35-turbo-instruct",
        }
    )
    filter_prompts: list[str] = field(default_factory=list)
    filter_answers: list[str] = field(default_factory=list)
    fail_every: int = 0


@dataclass
class Recorded:
    time: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    status: int = 0


class AzureState:
    def __init__(self, config: AzureConfig | None = None) -> None:
        self.config = config or AzureConfig()
        self.reset()

    def reset(self, *, keep_config: bool = True) -> None:
        if not keep_config:
            self.config = AzureConfig()
        self.requests: list[Recorded] = []
        self.generations = 0  # requests that passed Azure's checks (fail_every counts these)


def azure_error(http_status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=http_status)


class FakeAzureApp:
    """Azure's routes and checks in front of the OpenAI fake's handlers."""

    def __init__(self, state: FakeState, azure: AzureState) -> None:
        self.state, self.azure = state, azure
        self.openai = FakeOpenAIApp(state)  # its handlers, not its routes
        self.app = web.Application()
        self.app.add_routes(
            [
                web.post("/openai/deployments/{deployment}/chat/completions", self.chat),
                web.post("/openai/deployments/{deployment}/completions", self.completions),
                web.route("*", "/{tail:.*}", self.not_found),
            ]
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=True)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=False)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        self._record(request, None, 404)
        return azure_error(404, "404", "Resource not found")

    async def _generate(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        entry = self._record(request, body, 0)
        response = await self._answer(request, body, chat=chat)
        entry.status = response.status
        return response

    async def _answer(self, request: web.Request, body: Any, *, chat: bool) -> web.StreamResponse:
        config = self.azure.config
        version = request.query.get("api-version")
        if version is None:
            return azure_error(404, "404", "Resource not found")
        if version not in config.api_versions:
            return azure_error(400, "BadRequest", "API version not supported")
        if not self._authorized(request):
            return azure_error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                "provide a valid key for an active subscription and use a correct regional API "
                "endpoint for your resource.",
            )
        name = request.match_info["deployment"]
        model = config.deployments.get(name)
        if model is None:
            return azure_error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.",
            )
        if ("instruct" in model) == chat:  # instruct models have no chat route, chat models no completions
            operation = "chatCompletion" if chat else "completion"
            return azure_error(
                400,
                "OperationNotSupported",
                f"The {operation} operation does not work with the specified model, {model}. "
                "Please choose different model and try again.",
            )
        if not isinstance(body, dict):
            return azure_error(400, "BadRequest", "The request body is not valid JSON.")
        text = _request_text(body, chat=chat)
        if any(marker in text for marker in config.filter_prompts):
            return azure_error(
                400,
                "content_filter",
                "The response was filtered due to the prompt triggering Azure OpenAI's content "
                "management policy. Please modify your prompt and retry.",
                param="prompt",
                status=400,
                innererror={"code": "ResponsibleAIPolicyViolation", "content_filter_result": _FILTER_HIT},
            )
        self.azure.generations += 1
        if config.fail_every and self.azure.generations % config.fail_every == 0:
            return self.openai._failure(self.state.config, "")
        response = await self.openai._generate(request, chat=chat)
        if response.status != 200 or not isinstance(response, web.Response) or response.body is None:
            return response
        try:
            reply = json.loads(response.body)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return response  # a malformed reply injected on purpose: passed on as it is
        if not isinstance(reply, dict) or "choices" not in reply:
            return response
        return web.json_response(
            self._azure_shape(reply, model, withheld=any(m in text for m in config.filter_answers)),
            headers={"apim-request-id": f"apim-{len(self.azure.requests)}", "x-ms-region": "Sweden Central"},
        )

    def _authorized(self, request: web.Request) -> bool:
        config = self.azure.config
        key = request.headers.get("api-key")
        bearer = request.headers.get("Authorization", "")
        if key is not None:
            return config.api_key is not None and key == config.api_key
        if bearer.startswith("Bearer "):
            return config.ad_token is not None and bearer.removeprefix("Bearer ") == config.ad_token
        return False

    @staticmethod
    def _azure_shape(reply: dict[str, Any], model: str, *, withheld: bool) -> dict[str, Any]:
        reply["model"] = model
        reply["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": _FILTER_OK}]
        for choice in reply.get("choices") or []:
            choice["content_filter_results"] = _FILTER_HIT if withheld else _FILTER_OK
            if withheld:
                choice["finish_reason"] = "content_filter"
                if isinstance(choice.get("message"), dict):
                    choice["message"]["content"] = None
                else:
                    choice["text"] = None
        return reply

    def _record(self, request: web.Request, body: Any, status: int) -> Recorded:
        entry = Recorded(
            time=time.time(),
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            status=status,
        )
        self.azure.requests.append(entry)
        return entry


async def start_server(
    state: FakeState, azure: AzureState, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start on the running loop; returns the runner and the resource endpoint (no path)."""
    if host not in LOOPBACK:
        raise ValueError(f"the fake server only listens on loopback, not {host!r}")
    runner = web.AppRunner(
        FakeAzureApp(state, azure).app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
    )
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, f"http://{host}:{runner.addresses[0][1]}"


class AzureServerThread(ServerThread):
    """The fake resource on its own loop in a daemon thread; ``base_url`` is the endpoint.

    ``configure()`` / ``stats()`` / ``reset()`` are the OpenAI fake's (replies and faults);
    ``configure_azure()`` / ``requests()`` are Azure's.
    """

    def __init__(self, config: FakeConfig | None = None, azure: AzureConfig | None = None) -> None:
        super().__init__(config)
        self.azure = AzureState(azure)

    def start(self) -> AzureServerThread:
        self._thread.start()
        self._runner, self.base_url = self._call(start_server(self.state, self.azure, self.host, self.port))
        return self

    def reset(self, *, keep_config: bool = False) -> None:
        super().reset(keep_config=keep_config)
        self._on_loop(lambda: self.azure.reset(keep_config=keep_config))

    def configure_azure(self, **changes: Any) -> None:
        def apply() -> None:
            self.azure.config = dataclasses.replace(self.azure.config, **changes)

        self._on_loop(apply)

    def requests(self) -> list[Recorded]:
        return self._on_loop(lambda: [dataclasses.replace(r) for r in self.azure.requests])

    def generation_requests(self) -> list[Recorded]:
        """The requests that reached a deployment's handler (Azure's checks passed)."""
        return [r for r in self.requests() if r.path.startswith("/openai/deployments/")]
