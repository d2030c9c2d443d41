"""OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server ...).

Two clients, one behaviour. By default (``runner.options.client: auto``) chat and completion
requests are posted with aiohttp (models/http.py), keeping the official SDK's public
conventions: the key as ``Authorization: Bearer`` (``runner.api_key_env``, ``OPENAI_API_KEY``),
``base_url`` (else ``OPENAI_BASE_URL``), the ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` headers,
proxies from the environment, gzip, TLS with the system store. ``client: sdk`` uses the official
``openai.AsyncOpenAI`` instead (its retries off: the engine retries). Either way the reply is
read by one reader (openai_reply.py), so errors, usage and odd reply shapes come out the same.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from ...common.config import RunnerConfig, base_url_problem
from ...common.errors import BackendError
from ..base import Backend, BackendContext, Completion, Request
from ..http import JsonPoster, env_proxy, sdk_http_client
from ..keys import secret_from
from ..status import connection_error, status_error, timed_out
from .openai_reply import completion_from_reply

if TYPE_CHECKING:
    from openai import AsyncOpenAI

# Sent when `api_key_env: null`: servers that need no key still get a well-formed header.
KEYLESS_PLACEHOLDER = "no-key"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def api_key(config: RunnerConfig) -> str:
    """The key from the variable named by ``runner.api_key_env``; BackendError if it is unset."""
    name = config.api_key_env
    if name is None:
        return KEYLESS_PLACEHOLDER
    value = secret_from(name)
    if not value:
        raise BackendError(
            f"runner.api_key_env: the environment variable {name} is not set; export your API "
            f"key as {name}, or set `api_key_env: null` for a local server that needs no key"
        )
    return value


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: auto / http: aiohttp; sdk: the official SDK (AsyncOpenAI). "fast" is an old name of http.
    client: Literal["auto", "http", "fast", "sdk"] = "auto"


def default_headers(api_key: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
        "User-Agent": "lm-eval-so",
    }
    # The SDK sends these when the variables are set; so do we.
    if org := os.environ.get("OPENAI_ORG_ID"):
        headers["OpenAI-Organization"] = org
    if project := os.environ.get("OPENAI_PROJECT_ID"):
        headers["OpenAI-Project"] = project
    return headers


class OpenAIBackend(Backend):
    name: ClassVar[str] = "openai"
    default_mode = "chat"
    enforces_timeout = True
    Options: ClassVar[type[BaseModel]] = OpenAIOptions
    options: OpenAIOptions  # validated from runner.options by Backend.__init__

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._client: AsyncOpenAI | None = None
        self._http: JsonPoster | None = None

    @property
    def client_kind(self) -> Literal["http", "sdk"]:
        return "sdk" if self.options.client == "sdk" else "http"

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        if not config.model:
            raise BackendError(
                "runner.model: the openai backend needs a model name (e.g. gpt-4o-mini, or the "
                "name your OpenAI-compatible server serves)"
            )
        api_key(config)
        if config.base_url is None and (env_url := os.environ.get("OPENAI_BASE_URL")):
            problem = base_url_problem(env_url)
            if problem:
                raise BackendError(f"OPENAI_BASE_URL (used as runner.base_url): {problem}")
        if config.options.get("client") != "sdk":
            # A malformed proxy variable is named now, not as every sample's error later.
            env_proxy(configured_base_url(config))

    async def start(self) -> None:
        if self.client_kind == "http":
            headers = default_headers(api_key(self.config))
            self._http = JsonPoster(
                configured_base_url(self.config), headers, self.config.timeout_s, self.config.concurrency
            )
            await self._http.start()
            return
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        self._client = AsyncOpenAI(
            api_key=api_key(self.config),
            base_url=self.config.base_url or None,  # None: the SDK reads OPENAI_BASE_URL
            timeout=self.config.timeout_s,
            max_retries=0,  # the engine retries (runner.max_retries), for every backend alike
            # The SDK's client, but following no redirect (a hop is a request no attempt
            # counts) and refusing a reply announced above the size limit.
            http_client=sdk_http_client(DefaultAsyncHttpxClient),
        )

    async def complete(self, request: Request) -> Completion:
        chat = request.mode == "chat"
        payload = self._payload(request, chat)
        if self._http is not None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
            reply = await self._http.post("/chat/completions" if chat else "/completions", body)
            return completion_from_reply(reply.status, reply.headers, reply.body, chat=chat)
        if self._client is None:
            raise RuntimeError("OpenAIBackend.start() was not awaited")
        return await self._sdk_call(self._client, payload, chat)

    def _payload(self, request: Request, chat: bool) -> dict[str, Any]:
        params = request.params
        payload: dict[str, Any] = {"model": self.config.model}
        if chat:
            payload["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            payload["prompt"] = request.prompt
        if "extra_body" in params:  # the SDK merges extra_body into the JSON body; so do we
            params = dict(params)
            payload.update(params.pop("extra_body") or {})
        payload.update(params)
        return payload

    async def _sdk_call(self, client: AsyncOpenAI, payload: dict[str, Any], chat: bool) -> Completion:
        import openai

        body = dict(payload)
        extra = {k: body.pop(k) for k in list(body) if k not in _SDK_KEYWORDS}
        create = client.chat.completions if chat else client.completions
        try:
            raw = await create.with_raw_response.create(**body, extra_body=extra or None)
        except openai.APIStatusError as exc:  # the same classification as the aiohttp path
            raise status_error(exc.status_code, exc.response.content, exc.response.headers) from None
        except openai.APITimeoutError:
            raise timed_out(self.config.timeout_s) from None
        except openai.APIConnectionError as exc:
            raise connection_error(exc) from None
        response = raw.http_response
        return completion_from_reply(response.status_code, response.headers, response.content, chat=chat)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    def identity(self) -> dict[str, Any]:
        # The same model name on another server is another model: the endpoint is part of it.
        return {**super().identity(), "endpoint": endpoint_identity(configured_base_url(self.config))}

    def describe(self) -> dict[str, Any]:
        base_url = str(self._client.base_url) if self._client else configured_base_url(self.config)
        return {**super().describe(), "base_url": _without_credentials(base_url), "client": self.client_kind}


# Keywords the SDK's create() takes by name; anything else goes through extra_body.
_SDK_KEYWORDS = frozenset(
    {"model", "messages", "prompt", "temperature", "top_p", "max_tokens", "stop", "seed",
     "presence_penalty", "frequency_penalty"}
)  # fmt: skip


_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_identity(url: str) -> str:
    """``base_url`` reduced to what names the server: scheme, host, port, path and query.

    Credentials in the URL are dropped (they choose who pays, not what answers), letter case of
    scheme and host and a trailing slash are ignored, and the default port is made explicit, so
    ``HTTP://Host/v1/`` and ``http://host:80/v1`` are one endpoint.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def _without_credentials(url: str) -> str:
    """``http://user:secret@host/v1`` -> ``http://host/v1``: a manifest must never hold a secret."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def configured_base_url(config: RunnerConfig) -> str:
    """``runner.base_url``, else ``OPENAI_BASE_URL``, else OpenAI's own endpoint."""
    return config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
