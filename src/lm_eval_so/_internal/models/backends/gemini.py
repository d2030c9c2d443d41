"""Google Gemini through the official ``google-genai`` SDK: the Gemini API or Vertex AI.

Calls ``genai.Client(...).aio.models.generate_content`` (the ``[gemini]`` extra), with the SDK's
own retries off (``HttpRetryOptions(attempts=1)``, which also stops its hidden second try on a
dropped connection): the engine retries, honouring ``Retry-After`` or, as Google sends it, the
``google.rpc.RetryInfo`` delay in the error body. ``runner.timeout_s`` is the SDK's per-request
timeout (``HttpOptions.timeout``), so the backend enforces it itself.

Credentials
    Gemini API: the key from ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``; when both are set
    ``GOOGLE_API_KEY`` wins, as in the SDK. ``runner.api_key_env`` names another variable.
    Vertex AI (``options: {vertexai: true}``): Application Default Credentials (the standard
    Google chain: ``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default
    login``, the metadata server), with ``project`` (else ``GOOGLE_CLOUD_PROJECT``, else the
    credentials' project) and ``location`` (else ``GOOGLE_CLOUD_LOCATION``, else ``global``).

Request
    ``system`` messages -> ``systemInstruction``; ``user``/``assistant`` -> ``contents`` with the
    roles ``user``/``model``. ``temperature``, ``top_p``, ``max_tokens`` (``maxOutputTokens``;
    none by default: the model's own limit), ``stop`` (``stopSequences``, at most 5), ``seed``
    (32-bit), ``presence_penalty`` and ``frequency_penalty`` go in ``generationConfig``;
    ``extra_body`` is merged into the JSON body by the SDK (``topK``, ``thinkingConfig``,
    ``safetySettings`` ...). Gemini has no text-completion endpoint: ``mode: completion`` is
    refused.

Reply
    The text parts of the first candidate, thoughts left out. No text -> :class:`EmptyAnswer`
    with the candidate's ``finishReason`` (``SAFETY``, ``MAX_TOKENS`` ...) or the prompt's
    ``blockReason``. Usage: prompt = ``promptTokenCount`` (+ ``toolUsePromptTokenCount``),
    completion = ``candidatesTokenCount`` + ``thoughtsTokenCount`` (thinking is billed as
    output).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...common.config import GenerationParams, Pricing, RunnerConfig, base_url_problem
from ...common.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BackendError,
    EmptyAnswer,
    InvalidResponse,
)
from ...common.records import Message, Usage
from ..base import Backend, BackendContext, Completion, Request
from ..keys import secret_from
from ..pricing import table_price
from ..retry import MAX_RETRY_AFTER_S
from ..status import status_error, timed_out
from ..usage import parse_usage
from .openai import _without_credentials, endpoint_identity

if TYPE_CHECKING:
    from google import genai
    from google.auth.credentials import Credentials
    from google.genai import types

#: The variables the SDK reads, in its order: GOOGLE_API_KEY wins when both are set.
KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
#: Sent when ``api_key_env: null`` (a gateway that adds the key): the SDK needs some key.
KEYLESS_PLACEHOLDER = "no-key"
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
MAX_STOP_SEQUENCES = 5
INT32 = 2**31

# USD per 1M tokens (prompt, completion): Gemini API paid tier, standard (not batch) text
# prices for prompts up to 200k tokens, as listed at ai.google.dev/gemini-api/docs/pricing in
# January 2026 (Vertex AI lists the same for these models). Output includes thinking tokens.
# Not modelled: the higher rate of a prompt over 200k tokens (gemini-2.5-pro 2.50 / 15.00,
# gemini-3-pro-preview 4.00 / 18.00), audio input, and the discount on cached input; set
# `runner.pricing` for those. A stable version suffix ("-001") is its family's price; any other
# name (a preview or experimental snapshot, a "-latest" alias) is unknown unless listed.
PRICES_AS_OF = "2026-01"
GEMINI_PRICES: dict[str, tuple[float, float]] = {
    "gemini-3-pro-preview": (2.00, 12.00),
    "gemini-3-flash-preview": (0.50, 3.00),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-preview-09-2025": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-flash-lite-preview-09-2025": (0.10, 0.40),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.0-flash-lite": (0.075, 0.30),
}
_STABLE_VERSION = re.compile(r"-\d{3}")
_RESOURCE_PREFIX = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/google/)?models/")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def lookup_gemini_price(model: str) -> Pricing | None:
    """The table's price for ``model`` (``models/`` prefixes and ``-001`` suffixes allowed)."""
    return table_price(GEMINI_PRICES, _RESOURCE_PREFIX.sub("", model.strip().lower()), _STABLE_VERSION)


class GeminiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vertexai: bool = Field(
        False, description="Call Vertex AI with Google Cloud credentials instead of the Gemini API."
    )
    project: str | None = Field(None, description="Vertex AI: the Google Cloud project.")
    location: str | None = Field(None, description="Vertex AI: the region (us-central1, global ...).")
    api_version: str | None = Field(
        None, description="API version in the path (v1beta ...); the SDK's default when unset."
    )

    @field_validator("project", "location")
    @classmethod
    def _one_segment(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:_-]*", value):
            raise ValueError(f"must be one name such as my-project or us-central1 (got {value!r})")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"v\d+(?:(?:alpha|beta)\d*)?", value):
            raise ValueError(f"must look like v1, v1beta or v1beta1 (got {value!r})")
        return value

    @model_validator(mode="after")
    def _vertex_settings(self) -> GeminiOptions:
        if not self.vertexai and (self.project or self.location):
            raise ValueError(
                "project and location are Vertex AI settings: add `vertexai: true` "
                "(the Gemini API takes neither)"
            )
        return self


class GeminiBackend(Backend):
    name: ClassVar[str] = "gemini"
    default_mode = "chat"
    enforces_timeout = True
    Options: ClassVar[type[BaseModel]] = GeminiOptions
    options: GeminiOptions  # validated from runner.options by Backend.__init__
    sdk = ("google.genai", "gemini")

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._client: genai.Client | None = None
        self._project: str | None = None
        self._location: str | None = None

    @classmethod
    def price(cls, model: str) -> Pricing | None:
        return lookup_gemini_price(model)

    # ------------------------------------------------------------------ checks

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        cls.require_sdk()
        if not config.model:
            raise BackendError("runner.model: the gemini backend needs a model name (e.g. gemini-2.5-flash)")
        if config.mode == "completion":
            raise BackendError(
                "runner.mode: Gemini has no text-completion endpoint; use `mode: chat` (the "
                "default): the prompt is sent as a user turn"
            )
        check_params(config.params)
        options = GeminiOptions.model_validate(config.options)
        variable = "GOOGLE_VERTEX_BASE_URL" if options.vertexai else "GOOGLE_GEMINI_BASE_URL"
        if config.base_url is None and (env_url := os.environ.get(variable)):
            problem = base_url_problem(env_url)
            if problem:
                raise BackendError(f"{variable} (used as runner.base_url): {problem}")
        if options.vertexai:
            vertex_target(config, options)
        else:
            api_key(config)

    # ------------------------------------------------------------------ client

    async def start(self) -> None:
        from google import genai
        from google.genai import types

        _quiet_sdk_session_warning()
        options = self.options
        http_options = types.HttpOptions(
            base_url=self._configured_base_url(),  # None: the SDK's default endpoint
            api_version=options.api_version,
            timeout=max(1, math.ceil(self.config.timeout_s * 1000)),  # milliseconds, per request
            # One attempt, and no hidden retry of a dropped connection: the engine retries.
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        try:
            if options.vertexai:
                credentials, self._project, self._location = vertex_target(self.config, options)
                self._client = genai.Client(
                    vertexai=True,
                    credentials=credentials,
                    project=self._project,
                    location=self._location,
                    http_options=http_options,
                )
            else:
                # vertexai=False explicitly: GOOGLE_GENAI_USE_VERTEXAI does not switch the API.
                self._client = genai.Client(
                    vertexai=False, api_key=api_key(self.config), http_options=http_options
                )
        except ValueError as exc:
            raise BackendError(f"runner: the google-genai client refused the settings: {exc}") from None

    async def complete(self, request: Request) -> Completion:
        if self._client is None:
            raise RuntimeError("GeminiBackend.start() was not awaited")
        assert self.config.model is not None  # check() refuses a missing model
        contents, config = self._request_parts(request)
        try:
            response = await self._client.aio.models.generate_content(
                model=self.config.model, contents=contents, config=config
            )
        except Exception as exc:
            raise call_error(exc, self.config.timeout_s) from None
        return completion_from_response(response)

    def _request_parts(self, request: Request) -> tuple[list[types.Content], types.GenerateContentConfig]:
        from google.genai import types

        system, contents = split_messages(request.messages)
        params = dict(request.params)
        extra_body = params.pop("extra_body", None)
        config = types.GenerateContentConfig(
            system_instruction=[types.Part(text=text) for text in system] if system else None,
            temperature=params.pop("temperature", None),
            top_p=params.pop("top_p", None),
            max_output_tokens=params.pop("max_tokens", None),
            stop_sequences=params.pop("stop", None),
            seed=params.pop("seed", None),
            presence_penalty=params.pop("presence_penalty", None),
            frequency_penalty=params.pop("frequency_penalty", None),
            # extra_body is merged into the JSON body by the SDK, as the openai SDK does.
            http_options=types.HttpOptions(extra_body=extra_body) if extra_body else None,
        )
        if params:  # a GenerationParams field this backend does not know yet
            raise BackendError(f"runner.params: the gemini backend cannot send {sorted(params)}")
        turns = [
            types.Content(role="model" if role == "assistant" else "user", parts=[types.Part(text=text)])
            for role, text in contents
        ]
        return turns, config

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aio.aclose()
            client.close()

    # ------------------------------------------------------------------ identity

    def identity(self) -> dict[str, Any]:
        # The same model name behind another endpoint, API, project or region is another model.
        identity = {
            **super().identity(),
            "endpoint": endpoint_identity(self._effective_base_url()),
            "api_version": self._effective_api_version(),
            "vertexai": self.options.vertexai,
        }
        if self.options.vertexai:
            identity["project"] = self._project or self.options.project
            identity["location"] = self._location or self.options.location
        return identity

    def describe(self) -> dict[str, Any]:
        facts = {
            **super().describe(),
            "base_url": _without_credentials(self._effective_base_url()),
            "api_version": self._effective_api_version(),
            "vertexai": self.options.vertexai,
            "sdk": f"google-genai {_sdk_version()}",
        }
        if self.options.vertexai:
            facts["project"] = self._project or self.options.project
            facts["location"] = self._location or self.options.location
        return facts

    def _configured_base_url(self) -> str | None:
        variable = "GOOGLE_VERTEX_BASE_URL" if self.options.vertexai else "GOOGLE_GEMINI_BASE_URL"
        return self.config.base_url or os.environ.get(variable) or None

    def _sdk_http_options(self) -> Any:
        return getattr(getattr(self._client, "_api_client", None), "_http_options", None)

    def _effective_base_url(self) -> str:
        resolved = getattr(self._sdk_http_options(), "base_url", None)
        if isinstance(resolved, str) and resolved:
            return resolved
        return self._configured_base_url() or (
            GEMINI_BASE_URL if not self.options.vertexai else "https://aiplatform.googleapis.com/"
        )

    def _effective_api_version(self) -> str | None:
        resolved = getattr(self._sdk_http_options(), "api_version", None)
        return resolved if isinstance(resolved, str) else self.options.api_version


# --------------------------------------------------------------------------- settings


def api_key(config: RunnerConfig) -> str:
    """The Gemini API key: ``runner.api_key_env`` when written, else the SDK's two variables."""
    if "api_key_env" in config.model_fields_set:
        name = config.api_key_env
        if name is None:
            return KEYLESS_PLACEHOLDER
        value = secret_from(name)
        if not value:
            raise BackendError(
                f"runner.api_key_env: the environment variable {name} is not set; export your "
                f"Gemini API key as {name}"
            )
        return value
    for name in KEY_VARIABLES:
        found = secret_from(name)
        if found:
            return found
    raise BackendError(
        "runner.api_key_env: neither GEMINI_API_KEY nor GOOGLE_API_KEY is set; export your Gemini "
        "API key as GEMINI_API_KEY (GOOGLE_API_KEY wins when both are set, as in the google-genai "
        "SDK), name another variable in runner.api_key_env, or use Vertex AI with "
        "`options: {vertexai: true}`"
    )


def vertex_target(config: RunnerConfig, options: GeminiOptions) -> tuple[Credentials, str, str]:
    """Application Default Credentials, project and location for Vertex AI; BackendError if not."""
    if "api_key_env" in config.model_fields_set and config.api_key_env is not None:
        raise BackendError(
            "runner.api_key_env: Vertex AI (options.vertexai) authenticates with Google Cloud "
            "credentials, not an API key; remove api_key_env, or set `vertexai: false` for the "
            "Gemini API"
        )
    import google.auth
    from google.auth import exceptions

    # google-auth logs each place it looked in vain; the error below says it once.
    auth_log = logging.getLogger("google.auth._default")
    level = auth_log.level
    auth_log.setLevel(logging.ERROR)
    try:
        credentials, adc_project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except exceptions.DefaultCredentialsError as exc:
        raise BackendError(
            "runner.options.vertexai: no Google Cloud credentials found; run `gcloud auth "
            "application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
            f"service-account key file ({exc})"
        ) from None
    finally:
        auth_log.setLevel(level)
    project = options.project or os.environ.get("GOOGLE_CLOUD_PROJECT") or adc_project
    if not project:
        raise BackendError(
            "runner.options.project: Vertex AI needs a Google Cloud project; set `project:` under "
            "runner.options or GOOGLE_CLOUD_PROJECT"
        )
    location = options.location or os.environ.get("GOOGLE_CLOUD_LOCATION") or "global"
    return credentials, str(project), location


def check_params(params: GenerationParams) -> None:
    """Refuse what Gemini cannot take, before any call: more than 5 stops, a 64-bit seed."""
    if params.stop is not None and len(params.stop) > MAX_STOP_SEQUENCES:
        raise BackendError(
            f"runner.params.stop: Gemini takes at most {MAX_STOP_SEQUENCES} stop sequences "
            f"(got {len(params.stop)})"
        )
    if params.seed is not None and not -INT32 <= params.seed < INT32:
        raise BackendError(
            f"runner.params.seed: Gemini takes a 32-bit seed, -2147483648 to 2147483647 (got {params.seed})"
        )


def split_messages(messages: list[Message]) -> tuple[list[str], list[tuple[str, str]]]:
    """(system texts, [(role, text)] of the other turns): Gemini keeps the system prompt apart."""
    system = [m.content for m in messages if m.role == "system"]
    turns: list[tuple[str, str]] = [(m.role, m.content) for m in messages if m.role != "system"]
    return system, turns


# --------------------------------------------------------------------------- replies


def completion_from_response(response: Any) -> Completion:
    """A ``GenerateContentResponse`` -> Completion, or the error that says why there is no text."""
    usage = usage_from_metadata(response.usage_metadata)
    model = response.model_version if isinstance(response.model_version, str) else None
    candidates = response.candidates or []
    if not candidates:
        feedback = response.prompt_feedback
        reason = _name(getattr(feedback, "block_reason", None))
        if reason:
            message = getattr(feedback, "block_reason_message", None)
            detail = f": {message}" if message else ""
            what = f"Gemini blocked the prompt (promptFeedback.blockReason{detail})"
            raise EmptyAnswer(reason, what, usage=usage, model=model)
        raise InvalidResponse(f"Gemini returned no candidates (response id {response.response_id!r})")
    candidate = candidates[0]
    finish = _name(candidate.finish_reason)
    parts = candidate.content.parts if candidate.content is not None else None
    parts = parts or []
    texts = [p.text for p in parts if isinstance(p.text, str) and not p.thought]
    if not texts:
        raise EmptyAnswer(finish, _why_no_text(parts, finish, usage), usage=usage, model=model)
    return Completion(text="".join(texts), usage=usage, finish_reason=finish, model=model)


def _why_no_text(parts: list[Any], finish: str | None, usage: Usage | None) -> str:
    if not parts:
        return "Gemini returned no content"
    if all(p.thought for p in parts):
        hint = " (max_tokens was spent on thinking)" if finish == "MAX_TOKENS" else ""
        return f"Gemini returned only thoughts, no answer text{hint}"
    if any(p.function_call is not None for p in parts):
        return "Gemini answered with a function call and no text"
    return "Gemini returned content parts but no text part"


def usage_from_metadata(metadata: Any) -> Usage | None:
    """``usageMetadata`` -> Usage: thoughts count as completion tokens; missing -> None, not 0.

    Google leaves out counts that are zero (proto3 JSON), so a missing ``candidatesTokenCount``
    is read from ``totalTokenCount`` when that is given; a missing ``promptTokenCount`` is unknown.
    """
    if metadata is None:
        return None
    prompt = _count(metadata.prompt_token_count)
    if prompt is None:
        return None
    prompt += _count(metadata.tool_use_prompt_token_count) or 0
    thoughts = _count(metadata.thoughts_token_count) or 0
    total = _count(metadata.total_token_count)
    candidates = _count(metadata.candidates_token_count)
    if candidates is None:
        if total is None or total < prompt + thoughts:
            return None
        candidates = total - prompt - thoughts
    return parse_usage(
        {"prompt_tokens": prompt, "completion_tokens": candidates + thoughts, "total_tokens": total}
    )


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _name(value: Any) -> str | None:
    """An SDK enum (``FinishReason.SAFETY``) or plain string -> ``"SAFETY"``."""
    if value is None:
        return None
    name = getattr(value, "value", value)
    return name if isinstance(name, str) and name else None


# --------------------------------------------------------------------------- errors


def call_error(exc: Exception, timeout_s: float) -> Exception:
    """The SDK's (or its transport's) exception -> the model-call error of the one tree."""
    import aiohttp
    import pydantic
    from google.auth import exceptions as auth_exceptions
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        return api_status_error(exc)
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return timed_out(timeout_s)
    if isinstance(exc, (aiohttp.ClientError, ConnectionError, auth_exceptions.TransportError)):
        return APIConnectionError(f"Connection error. ({type(exc).__name__}: {exc})")
    if isinstance(exc, auth_exceptions.RefreshError):
        return AuthenticationError(f"Google Cloud credentials were refused: {exc}", 401)
    if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError, errors.UnknownApiResponseError)):
        return InvalidResponse(f"Gemini replied with a body that is not a GenerateContentResponse: {exc}")
    try:  # the SDK falls back to httpx when aiohttp is not usable
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency of google-genai
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return timed_out(timeout_s)
    if isinstance(exc, httpx.TransportError):
        return APIConnectionError(f"Connection error. ({type(exc).__name__}: {exc})")
    return exc


def api_status_error(exc: Any) -> APIStatusError:
    """``google.genai.errors.APIError`` -> the error named for its HTTP status, with the wait.

    The wait is the ``Retry-After`` header when the server sends one, else the ``retryDelay``
    of the ``google.rpc.RetryInfo`` detail Google puts in a 429 RESOURCE_EXHAUSTED body.
    """
    code = exc.code if isinstance(exc.code, int) else None
    details = exc.details
    body = json.dumps(details, ensure_ascii=False, default=str) if details is not None else str(exc)
    if code is None:
        return APIStatusError(f"Error: {body}", None)
    headers = getattr(getattr(exc, "response", None), "headers", None)
    error = status_error(code, body, headers if headers is not None else {})
    if error.retry_after is None:
        error.retry_after = retry_info_delay(details)
    return error


def retry_info_delay(details: Any) -> float | None:
    """Seconds of a ``google.rpc.RetryInfo`` ``retryDelay`` (``"37s"``) in an error body."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(item.get("retryDelay", "")))
            if match:
                return min(float(match[1]), MAX_RETRY_AFTER_S)
    return None


def _quiet_sdk_session_warning() -> None:
    # The SDK subclasses aiohttp.ClientSession, which aiohttp warns about on every new session:
    # noise about the SDK's internals that users can do nothing about.
    warnings.filterwarnings(
        "ignore", message="Inheritance class AiohttpClientSession", category=DeprecationWarning
    )


def _sdk_version() -> str:
    try:
        from google.genai import version

        return str(version.__version__)
    except ImportError:  # pragma: no cover - start() needs the SDK
        return "unknown"
