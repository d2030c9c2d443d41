"""Anthropic's Messages API (Claude), through the official SDK's ``anthropic.AsyncAnthropic``.

What is sent, and why:

* ``POST {base_url}/v1/messages``; ``base_url`` is ``runner.base_url``, else
  ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com`` (the root: the SDK adds ``/v1``).
* The key from ``runner.api_key_env`` when the pipeline names a variable; otherwise (unset, or
  the config's OpenAI default) ``ANTHROPIC_API_KEY``, else ``ANTHROPIC_AUTH_TOKEN`` (the SDK's
  own order). The SDK (2.x)
  sends either as ``Authorization: Bearer``. ``api_key_env: null``: a placeholder key, for a
  gateway that needs none.
* ``anthropic-version``: ``runner.options.api_version``, by default :data:`DEFAULT_API_VERSION`
  (2026-10-21, what the 2.x SDK sends). It is pinned here, not left to the installed SDK, so an
  SDK upgrade cannot change what a cached answer was an answer to; it is part of the identity.
* System messages are taken out of ``messages`` into the top-level ``system`` parameter
  (joined by a blank line), as the API requires; user and assistant turns stay in order.
* ``max_tokens`` is required by the API: ``params.max_tokens``, else :data:`DEFAULT_MAX_TOKENS`
  (1024). Models that think first spend part of it thinking; raise it for them.
* ``stop`` -> ``stop_sequences``. An empty or whitespace-only one (such as ``"\\n"``) is refused
  by :meth:`AnthropicBackend.check`: the API answers it with a 400.
* ``extra_body`` is merged into the JSON body as written (``top_k``, ``metadata``, ``thinking``,
  ``cache_control``...).
* ``temperature`` / ``top_p``: API version 2026-10-21 rejects sampling parameters (a 400 on
  every model, even at their default values) and the 2.x SDK has no argument for them. With
  that version (the default) they are refused by :meth:`AnthropicBackend.check`, before any
  call, with a message saying so; with ``options.api_version: "2023-06-01"`` they are sent
  (through ``extra_body``, as the SDK's migration guide says) for models that still take them.
* ``seed``, ``presence_penalty``, ``frequency_penalty``: the Messages API has no such
  parameters; refused by :meth:`AnthropicBackend.check`, naming the parameter.
* ``mode: completion``: refused; Anthropic has no text-completion endpoint any more.

What comes back: the answer is the ``text`` content blocks joined (thinking, tool_use and
other blocks are not part of it); no text block at all is :class:`EmptyAnswer` with the
``stop_reason``, which is the result's ``finish_reason``. Usage: ``input_tokens`` plus
``cache_read_input_tokens`` and ``cache_creation_input_tokens`` (all are input the request
was billed for) are the prompt tokens, ``output_tokens`` the completion tokens.

Cost: :data:`PRICES` is Anthropic's dated list-price table. The one cost formula prices every
prompt token at the base input rate: prompt-cache reads (0.1x of it, less on some newer models)
and writes (1.25x for 5 minutes, 2x for an hour) are not told apart, nor long-prompt tiers
(Haiku 5.5 over 100K prompt tokens, Sonnet 4 / 4.5 over 200K), ``inference_geo`` surcharges or
fast mode. Set ``runner.pricing`` when those matter.

Errors: the SDK's own retries are off (``max_retries=0``); its exceptions are mapped through
:func:`~lm_eval_so._internal.models.status.status_error`, so 429 (with ``retry-after``) and 529
``overloaded_error`` are retried by the engine's one retry policy after the server's delay.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...common.config import Pricing, RunnerConfig, base_url_problem
from ...common.errors import (
    APIStatusError,
    BackendError,
    EmptyAnswer,
    InternalServerError,
    InvalidResponse,
    NotFoundError,
)
from ...common.records import Usage
from ..base import Backend, BackendContext, Completion, Request
from ..http import sdk_http_client
from ..keys import secret_from
from ..pricing import table_price
from ..retry import parse_retry_after
from ..status import BY_STATUS, connection_error, json_reply, status_error, timed_out
from ..usage import parse_usage
from .openai import _without_credentials, endpoint_identity

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

DEFAULT_BASE_URL = "https://api.anthropic.com"
#: ``max_tokens`` sent when ``params.max_tokens`` is not set (the API requires one).
DEFAULT_MAX_TOKENS = 1024
#: The ``anthropic-version`` header sent unless ``runner.options.api_version`` says otherwise.
DEFAULT_API_VERSION = "2026-10-21"
#: API versions from this one on reject ``temperature``, ``top_p`` and ``top_k`` (a 400).
NO_SAMPLING_FROM = "2026-10-21"
#: Where the key is read from when the pipeline does not set ``runner.api_key_env``.
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
#: Sent when ``api_key_env: null``: a gateway that needs no key still gets a well-formed header.
KEYLESS_PLACEHOLDER = "no-key"
_OPENAI_DEFAULT_KEY = RunnerConfig.model_fields["api_key_env"].default


# Generation parameters the Messages API does not have, and what to say about each.
UNSUPPORTED = {
    "seed": "the Anthropic Messages API has no seed parameter (its answers cannot be pinned by a seed)",
    "presence_penalty": "the Anthropic Messages API has no presence_penalty parameter",
    "frequency_penalty": "the Anthropic Messages API has no frequency_penalty parameter",
}
SAMPLING_PARAMS = ("temperature", "top_p")

# --------------------------------------------------------------------------- prices

#: The date the list prices below were checked against Anthropic's pricing page.
PRICES_CHECKED = "2026-12-01"
#: USD per 1M tokens (input, output): Anthropic's list prices on :data:`PRICES_CHECKED`, base
#: tier (Haiku 5.5 prompts up to 100K tokens, Sonnet 4 / 4.5 prompts up to 200K), standard
#: speed, global inference. Aliases ("claude-opus-4-0", "-latest") and dated snapshots
#: ("claude-sonnet-4-5-20250929", Vertex's "claude-opus-4@20250514") resolve to their model;
#: a model not listed costs "unknown", never a guess. ``runner.pricing`` wins over the table.
PRICES: dict[str, tuple[float, float]] = {
    "claude-fable-5-1": (10.00, 50.00),
    "claude-fable-5": (10.00, 50.00),
    "claude-mythos-5-1": (10.00, 50.00),
    "claude-mythos-5": (10.00, 50.00),
    "claude-opus-5-5": (4.00, 20.00),
    "claude-opus-5": (5.00, 25.00),
    "claude-opus-4-8": (5.00, 25.00),
    "claude-opus-4-7": (5.00, 25.00),
    "claude-opus-4-6": (5.00, 25.00),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-5-5": (2.00, 10.00),
    "claude-sonnet-5": (2.00, 10.00),
    "claude-sonnet-4-6": (3.00, 15.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-haiku-5-5": (0.10, 0.50),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-opus": (15.00, 75.00),
    "claude-3-sonnet": (3.00, 15.00),
    "claude-3-haiku": (0.25, 1.25),
}

# What may follow a model's name for it to still be that model: a dated snapshot
# ("-20250514", Vertex's "@20250514"), "-latest", or "-0" ("claude-opus-4-0"). Anything else
# ("claude-opus-4-9" against "claude-opus-4") is another model, with another price.
_ALIAS = re.compile(r"(-\d{8}|@\d{8}|-latest|-0)")


@lru_cache(maxsize=256)
def claude_price(model: str) -> Pricing | None:
    """The table's price for ``model`` (its name, an alias or a dated snapshot), else None."""
    # Longest name first, so "claude-opus-4-1-20250805" is never priced as "claude-opus-4".
    return table_price(PRICES, model.strip().lower(), _ALIAS)


# --------------------------------------------------------------------------- config


class AnthropicOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The ``anthropic-version`` header. "2023-06-01" still accepts temperature / top_p.
    api_version: str = Field(DEFAULT_API_VERSION, pattern=r"^\d{4}-\d{2}-\d{2}$")


def credential(config: RunnerConfig) -> tuple[str, str]:
    """``(secret, kind)``: the key and whether the SDK takes it as ``api_key`` or ``auth_token``.

    BackendError naming the variable when it is not set.
    """
    if config.api_key_env is None:
        return KEYLESS_PLACEHOLDER, "api_key"
    # The config model's default names OpenAI's variable. Left unset, or written out with that
    # default (a run's resolved pipeline.yaml spells every default out, and a re-score reads it),
    # it means Anthropic's variables: an OpenAI key is never sent to Anthropic.
    if "api_key_env" in config.model_fields_set and config.api_key_env != _OPENAI_DEFAULT_KEY:
        names: tuple[str, ...] = (config.api_key_env,)
    else:
        names = KEY_VARIABLES
    for name in names:
        value = secret_from(name)
        if value:
            return value, "auth_token" if name == "ANTHROPIC_AUTH_TOKEN" else "api_key"
    if len(names) == 1:
        raise BackendError(
            f"runner.api_key_env: the environment variable {names[0]} is not set; export your "
            f"Anthropic API key as {names[0]}"
        )
    raise BackendError(
        "runner.api_key_env: the environment variable ANTHROPIC_API_KEY is not set; export your "
        "Anthropic API key as ANTHROPIC_API_KEY (or a gateway token as ANTHROPIC_AUTH_TOKEN), name "
        "another variable in runner.api_key_env, or set `api_key_env: null` for a gateway that "
        "needs no key"
    )


def params_problems(config: RunnerConfig, api_version: str) -> list[str]:
    """What in ``runner.params`` the Messages API cannot take, one sentence each."""
    params = config.params.to_request()
    problems = [f"runner.params.{key}: {why}; remove it" for key, why in UNSUPPORTED.items() if key in params]
    blank = [stop for stop in params.get("stop") or [] if not stop.strip()]
    if blank:
        problems.append(
            f"runner.params.stop: the Anthropic API refuses a stop sequence that is empty or only "
            f"whitespace ({', '.join(map(repr, blank))}: a 400 on every call); remove it, or stop "
            "on visible text"
        )
    sampling = [name for name in SAMPLING_PARAMS if name in params]
    if sampling and api_version >= NO_SAMPLING_FROM:
        names = " and ".join(sampling)
        problems.append(
            f"runner.params.{sampling[0]}: Anthropic API version {api_version} rejects {names} "
            "(temperature, top_p and top_k are a 400 on every model, even at their defaults); "
            f"remove {'them' if len(sampling) > 1 else 'it'}, or set runner.options.api_version: "
            "'2023-06-01' for a model that still "
            "takes sampling parameters"
        )
    return problems


# --------------------------------------------------------------------------- the backend


class AnthropicBackend(Backend):
    """Claude through the Messages API; ``max_tokens`` defaults to 1024 when unset."""

    name: ClassVar[str] = "anthropic"
    default_mode = "chat"
    enforces_timeout = True  # the SDK applies runner.timeout_s to every attempt
    Options: ClassVar[type[BaseModel]] = AnthropicOptions
    options: AnthropicOptions  # validated from runner.options by Backend.__init__
    sdk: ClassVar[tuple[str, str] | None] = ("anthropic", "anthropic")

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._client: AsyncAnthropic | None = None

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        cls.require_sdk()
        if not config.model:
            raise BackendError(
                "runner.model: the anthropic backend needs a model name (e.g. claude-sonnet-4-5, "
                "claude-haiku-4-5, or the name your gateway serves)"
            )
        if config.mode == "completion":
            raise BackendError(
                "runner.mode: completion: Anthropic has no text-completion endpoint (only the "
                "Messages API); remove `mode` or set `mode: chat`"
            )
        options = AnthropicOptions.model_validate(config.options)
        problems = params_problems(config, options.api_version)
        if problems:
            raise BackendError("; ".join(problems))
        credential(config)
        if config.base_url is None and (env_url := os.environ.get("ANTHROPIC_BASE_URL")):
            problem = base_url_problem(env_url)
            if problem:
                raise BackendError(f"ANTHROPIC_BASE_URL (used as runner.base_url): {problem}")

    @classmethod
    def price(cls, model: str) -> Pricing | None:
        return claude_price(model)

    async def start(self) -> None:
        from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

        secret, kind = credential(self.config)
        self._client = AsyncAnthropic(
            api_key=secret if kind == "api_key" else None,
            auth_token=secret if kind == "auth_token" else None,
            base_url=self._base_url(),
            timeout=self.config.timeout_s,
            max_retries=0,  # the engine retries (runner.max_retries), for every backend alike
            default_headers={"anthropic-version": self.options.api_version},
            # The SDK's client, but following no redirect (a hop is a request no attempt
            # counts) and refusing a reply announced above the size limit.
            http_client=sdk_http_client(DefaultAsyncHttpxClient),
        )

    async def complete(self, request: Request) -> Completion:
        import anthropic

        if self._client is None:
            raise RuntimeError("AnthropicBackend.start() was not awaited")
        try:
            raw = await self._client.messages.with_raw_response.create(**self.create_args(request))
        except anthropic.APIStatusError as exc:
            error = status_error(exc.status_code, exc.response.content, exc.response.headers)
            if isinstance(error, NotFoundError):  # most often a base_url with "/v1" on it
                url = _without_credentials(str(exc.request.url))
                error = NotFoundError(f"{error} (POST {url})", error.status_code, error.retry_after)
            raise error from None
        except anthropic.APITimeoutError:
            raise timed_out(self.config.timeout_s) from None
        except anthropic.APIConnectionError as exc:
            raise connection_error(exc) from None
        response = raw.http_response
        return completion_from_reply(response.status_code, response.headers, response.content)

    def create_args(self, request: Request) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for ``request``."""
        if request.mode != "chat":
            raise BackendError("runner.mode: completion: Anthropic has no text-completion endpoint")
        params = request.params
        system = "\n\n".join(m.content for m in request.messages if m.role == "system" and m.content)
        turns = [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"]
        args: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": params.get("max_tokens") or DEFAULT_MAX_TOKENS,
            "messages": turns,
        }
        if system:
            args["system"] = system
        if params.get("stop"):
            args["stop_sequences"] = list(params["stop"])
        # The 2.x SDK has no argument for sampling parameters: extra_body is its documented way.
        extra = {name: params[name] for name in SAMPLING_PARAMS if name in params}
        extra.update(params.get("extra_body") or {})
        if extra:
            args["extra_body"] = extra
        return args

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def identity(self) -> dict[str, Any]:
        # The same model behind another endpoint or API version may answer otherwise; the
        # max_tokens filled in when the pipeline sets none decides the answer too.
        return {
            **super().identity(),
            "endpoint": endpoint_identity(self._base_url()),
            "api_version": self.options.api_version,
            "default_max_tokens": DEFAULT_MAX_TOKENS,
        }

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "base_url": _without_credentials(self._base_url()),
            "api_version": self.options.api_version,
            "default_max_tokens": DEFAULT_MAX_TOKENS,
            "sdk": f"anthropic {_sdk_version()}",
        }

    def _base_url(self) -> str:
        return self.config.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL


def _sdk_version() -> str:
    try:
        return metadata.version("anthropic")
    except metadata.PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------- the reply

# The error types of Anthropic's error objects, for an error object inside a 200.
_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def completion_from_reply(status: int, headers: Any, body: bytes) -> Completion:
    """Read one Messages reply into a Completion, or raise the error that says what it was."""
    data = json_reply(status, headers, body)
    if data.get("type") == "error" or ("error" in data and "content" not in data):
        raise _error_object(data.get("error"), status, headers)
    content = data.get("content")
    stop = data.get("stop_reason")
    stop = stop if isinstance(stop, str) else None
    if not isinstance(content, list):
        raise InvalidResponse(
            f"the server replied {status} without a content list: not a Messages reply "
            f"(id {data.get('id')!r}, type {data.get('type')!r})"
        )
    blocks = [block for block in content if isinstance(block, Mapping)]
    texts = [b.get("text") for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)]
    usage = claude_usage(data.get("usage"))
    model = data.get("model")
    if not texts:
        # Billed all the same (thinking, tool use): the error keeps the reply's usage.
        kinds = sorted({str(b.get("type")) for b in blocks})
        what = f"the model answered with {', '.join(kinds)} blocks and no text" if kinds else None
        raise EmptyAnswer(stop, what, usage=usage, model=model if isinstance(model, str) else None)
    return Completion(
        text="".join(t for t in texts if isinstance(t, str)),
        usage=usage,
        finish_reason=stop,
        model=model if isinstance(model, str) else None,
    )


def claude_usage(raw: Any) -> Usage | None:
    """Anthropic's ``usage`` as prompt / completion tokens; None when it is missing or malformed.

    The prompt tokens are ``input_tokens`` plus the cache reads and writes (absent: none).
    """
    if not isinstance(raw, Mapping):
        return None
    # parse_usage is the one judge of a token count; the cache counts go through it too.
    base = parse_usage(
        {"prompt_tokens": raw.get("input_tokens"), "completion_tokens": raw.get("output_tokens")}
    )
    cache = parse_usage(
        {
            "prompt_tokens": raw.get("cache_read_input_tokens") or 0,
            "completion_tokens": raw.get("cache_creation_input_tokens") or 0,
        }
    )
    if base is None or cache is None:
        return None
    prompt = base.prompt_tokens + cache.prompt_tokens + cache.completion_tokens
    output = base.completion_tokens
    return Usage.model_construct(prompt_tokens=prompt, completion_tokens=output, total_tokens=prompt + output)


def _error_object(error: Any, status: int, headers: Any) -> APIStatusError:
    """``{"type": "error", "error": {"type": ..., "message": ...}}`` in a 200 (from a proxy)."""
    if not isinstance(error, Mapping):
        return APIStatusError(f"Error in a {status} reply - {error!r}", status)
    number = _BY_TYPE.get(str(error.get("type")))
    message = error.get("message") or dict(error)
    if number is None:
        return APIStatusError(f"Error in a {status} reply - {message}", status)
    cls = InternalServerError if number >= 500 else BY_STATUS.get(number, APIStatusError)
    return cls(f"Error code: {number} - {message}", number, parse_retry_after(headers))
