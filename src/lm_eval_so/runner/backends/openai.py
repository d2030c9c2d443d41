"""OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp ...), via the official SDK.

Two clients, one behaviour: by default (``runner.options.client: auto``) plain chat and
completion calls go through a lean stdlib HTTP client (openai_http.py: same auth, base_url,
error names and status codes, a fraction of the CPU per call); with a proxy configured in the
environment, or with ``client: sdk``, through the official SDK.

The SDK owns timeouts (``runner.timeout_s`` per HTTP attempt). Retries are the engine's (see
runner/retry.py), the same for every backend, so the SDK's own are turned off
(``max_retries=0``): two retry layers would multiply the attempts and hide them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from ...common.config import RunnerConfig
from ...common.errors import BackendError
from ...common.records import Usage
from .base import Backend, BackendContext, Completion, Request, answer_text
from .openai_http import FastOpenAIClient, completion_from, proxy_configured

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
    value = os.environ.get(name)
    if not value:
        raise BackendError(
            f"runner.api_key_env: the environment variable {name} is not set; export your API "
            f"key as {name}, or set `api_key_env: null` for a local server that needs no key"
        )
    return value


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: auto: the lean client unless a proxy variable is set (then the SDK); sdk / fast: force one.
    client: Literal["auto", "fast", "sdk"] = "auto"


class OpenAIBackend(Backend):
    name: ClassVar[str] = "openai"
    default_mode = "chat"
    enforces_timeout = True
    Options: ClassVar[type[BaseModel]] = OpenAIOptions

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._client: AsyncOpenAI | None = None
        self._fast: FastOpenAIClient | None = None
        self._chat: Any = None
        self._complete: Any = None

    @property
    def _options(self) -> OpenAIOptions:
        assert isinstance(self.options, OpenAIOptions)
        return self.options

    @property
    def client_kind(self) -> Literal["fast", "sdk"]:
        choice = self._options.client
        if choice == "auto":
            return "sdk" if proxy_configured() else "fast"
        return choice

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        if not config.model:
            raise BackendError(
                "runner.model: the openai backend needs a model name (e.g. gpt-4o-mini, or the "
                "name your OpenAI-compatible server serves)"
            )
        api_key(config)

    async def start(self) -> None:
        if self.client_kind == "fast":
            base_url = self._configured_base_url()
            self._fast = FastOpenAIClient(base_url, api_key(self.config), self.config.timeout_s)
            await self._fast.start()
            return
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(
            api_key=api_key(self.config),
            base_url=self.config.base_url or None,  # None: the SDK reads OPENAI_BASE_URL
            timeout=self.config.timeout_s,
            max_retries=0,  # the engine retries (runner.max_retries), for every backend alike
        )
        # Raw responses carry `retries_taken`; parsing them costs the same as the plain call.
        self._chat = self._client.chat.completions.with_raw_response.create
        self._complete = self._client.completions.with_raw_response.create

    async def complete(self, request: Request) -> Completion:
        if self._fast is not None:
            return await self._fast_call(self._fast, request)
        if self._chat is None:
            raise RuntimeError("OpenAIBackend.start() was not awaited")
        try:
            return await self._call(request)
        except Exception as exc:
            _note_attempts(exc)
            raise

    async def _call(self, request: Request) -> Completion:
        if request.mode == "chat":
            messages = [{"role": m.role, "content": m.content} for m in request.messages]
            raw = await self._chat(model=self.config.model, messages=messages, **request.params)
            response = raw.parse()
            choice = _first_choice(response)
            text = answer_text(choice.message.content, choice.finish_reason)
        else:
            raw = await self._complete(model=self.config.model, prompt=request.prompt, **request.params)
            response = raw.parse()
            choice = _first_choice(response)
            text = answer_text(choice.text, choice.finish_reason)
        return Completion(
            text=text,
            usage=_usage(response.usage),
            finish_reason=choice.finish_reason,
            model=response.model,
            attempts=raw.retries_taken + 1,
        )

    async def _fast_call(self, client: FastOpenAIClient, request: Request) -> Completion:
        params = request.params
        payload: dict[str, Any] = {"model": self.config.model}
        chat = request.mode == "chat"
        if chat:
            payload["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            payload["prompt"] = request.prompt
        if "extra_body" in params:  # the SDK merges extra_body into the JSON body; so do we
            params = dict(params)
            payload.update(params.pop("extra_body") or {})
        payload.update(params)
        response = await client.post("/chat/completions" if chat else "/completions", payload)
        return completion_from(response, chat=chat)

    async def aclose(self) -> None:
        if self._fast is not None:
            await self._fast.close()
            self._fast = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    def identity(self) -> dict[str, Any]:
        # The same model name on another server is another model: the endpoint is part of it.
        return {**super().identity(), "endpoint": endpoint_identity(self._configured_base_url())}

    def describe(self) -> dict[str, Any]:
        base_url = str(self._client.base_url) if self._client else self._configured_base_url()
        client = "sdk" if self._client else "fast" if self._fast else self._options.client
        return {**super().describe(), "base_url": _without_credentials(base_url), "client": client}

    def _configured_base_url(self) -> str:
        return self.config.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL


def _note_attempts(exc: Exception) -> None:
    """Tell the engine how many HTTP attempts a failed call took, retries included.

    The SDK numbers each attempt in the ``x-stainless-retry-count`` header of its request.
    """
    headers = getattr(getattr(exc, "request", None), "headers", None)
    retries = headers.get("x-stainless-retry-count") if headers is not None else None
    if isinstance(retries, str) and retries.isdigit():
        exc.attempts = int(retries) + 1  # type: ignore[attr-defined]


def _first_choice(response: Any) -> Any:
    if not response.choices:
        raise ValueError(f"the server returned no choices (response id {response.id!r})")
    return response.choices[0]


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    return Usage.model_construct(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=usage.total_tokens or prompt + completion,
    )


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
