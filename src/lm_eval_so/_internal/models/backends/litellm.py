"""LiteLLM, for the long tail of providers: ``runner.model`` is any ``provider/model`` LiteLLM
knows (``groq/llama-3.1-8b-instant``, ``mistral/mistral-small-latest``, ``ollama/llama3.2``,
``openai/<name>`` for any OpenAI-compatible server ...), called with ``litellm.acompletion``
(``litellm.atext_completion`` in ``mode: completion``). Extra: ``[litellm]``.

What is sent, and why:

* The messages as written, system first: LiteLLM places the system prompt as each provider
  wants it (Anthropic's top-level ``system``, Gemini's ``system_instruction`` ...).
* ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``, ``presence_penalty``,
  ``frequency_penalty``: passed to LiteLLM, which maps them to the provider's names
  (``stop`` -> ``stop_sequences`` ...). A parameter the route cannot take is refused by
  :meth:`LiteLLMBackend.check`, before any call, naming it (LiteLLM's own list,
  ``get_supported_openai_params``); never dropped silently (``drop_params=False`` on every
  call). ``extra_body`` entries are passed as keyword arguments, which LiteLLM sends in the
  provider's request body as written (``top_k``, ``repetition_penalty`` ...). No default
  ``max_tokens``: where a provider requires one (Anthropic), LiteLLM fills in the model's
  maximum output from its model map; set ``params.max_tokens`` to bound it.
* ``api_base`` = ``runner.base_url`` (a proxy, a gateway, a self-hosted server);
  ``timeout`` = ``runner.timeout_s`` per attempt (a deadline slightly longer backs it, for a
  provider that ignores it).
* The key: from ``runner.api_key_env`` when the pipeline sets it; otherwise none is passed and
  LiteLLM reads the provider's own variables itself (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``,
  ``GROQ_API_KEY``, AWS / Vertex credentials ...). :meth:`check` asks LiteLLM
  (``validate_environment``) which variables the route needs and refuses a missing API key by
  name. ``api_key_env: null``: a placeholder key, for a server that needs none.
* Retries: LiteLLM's are off (``num_retries=0`` and ``max_retries=0`` on every call, so neither
  its wrapper nor the provider's client retries; the Router is not used): the engine's are the
  only ones, and every attempt is counted once.

No network besides the model's endpoint: LiteLLM fetches its model-price map from GitHub when
it is imported, unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is true; this backend sets it (and
``LITELLM_OFFLINE_MODE``, which keeps LiteLLM's other catalogues and tokenizers local too) before
importing LiteLLM, unless the environment already sets them. Its debug banners are off
(``suppress_debug_info``).

What comes back: LiteLLM's OpenAI-shaped response is read by the openai backend's reply reader
(openai_reply.py), so an empty answer, tool calls without text or content parts read as they do
everywhere. Usage is the provider's, as LiteLLM reports it; a reply without usage (LiteLLM then
reports 0 prompt tokens, which no real prompt costs) is unknown usage, never 0.

Errors: LiteLLM's exceptions subclass openai's; they are mapped through
:func:`~lm_eval_so._internal.models.status.status_error` with the provider's status (``provider_status_code``,
so Anthropic's 529 stays a 529) and the provider's response headers (``Retry-After`` /
``retry-after-ms`` honoured). A status LiteLLM made up when no reply came (a dropped
connection) is :class:`APIConnectionError`; a reply it could not read is :class:`InvalidResponse`.

Cost: LiteLLM's own per-token list prices for the model (``litellm.get_model_info``, from the
model map bundled with the installed LiteLLM), applied to the usage by the one cost formula: the
same figure LiteLLM reports as ``response_cost`` for plain token pricing (prompt-cache discounts
and long-context tiers are not applied). A model LiteLLM has no price for costs "unknown", never
$0; ``runner.pricing`` wins.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from importlib import metadata
from types import ModuleType
from typing import Any, ClassVar

from pydantic import BaseModel

from ...common.config import Pricing, RunnerConfig
from ...common.errors import (
    APIConnectionError,
    APITimeoutError,
    BackendError,
    InvalidResponse,
    LmEvalError,
    ModelCallError,
)
from ...common.redact import Redactor
from ..base import Backend, BackendContext, Completion, NoOptions, Request
from ..call import with_deadline
from ..keys import secret_from
from ..status import status_error
from .openai import _without_credentials, endpoint_identity
from .openai_reply import completion_from_json

#: Set before LiteLLM is imported (unless already set): no fetch of the price map from GitHub,
#: no other catalogue or tokenizer fetched behind the user's back.
OFFLINE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
#: Sent when ``api_key_env: null``: a server that needs no key still gets a well-formed one.
KEYLESS_PLACEHOLDER = "no-key"
#: Our generation parameters, by the OpenAI names LiteLLM takes.
PARAMS = ("temperature", "top_p", "max_tokens", "stop", "seed", "presence_penalty", "frequency_penalty")
#: Keyword arguments this backend sets itself: not to be overridden through ``extra_body``.
RESERVED = frozenset(
    {"model", "messages", "prompt", "api_base", "base_url", "api_key", "timeout", "num_retries",
     "max_retries", "drop_params", "stream", "n", "custom_llm_provider", "mock_response",
     "fallbacks", "metadata", "litellm_logging_obj", *PARAMS}
)  # fmt: skip
#: Providers whose text-completion route is a real completions endpoint. Elsewhere LiteLLM
#: would send the prompt as one chat message, which is not what ``mode: completion`` means.
NATIVE_TEXT_COMPLETION = frozenset({"text-completion-openai", "azure_text", "text-completion-codestral"})
#: How much longer than ``runner.timeout_s`` the backstop deadline waits for LiteLLM's own.
DEADLINE_GRACE_S = 5.0
PROVIDERS_URL = "https://docs.litellm.ai/docs/providers"


def import_litellm() -> ModuleType:
    """LiteLLM, imported with no network access at import and its debug banners off."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    module = importlib.import_module("litellm")
    setattr(module, "suppress_debug_info", True)  # noqa: B010  (no "Provider List" banners)
    return module


def litellm_version() -> str:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return "not installed"


def route(litellm: ModuleType, config: RunnerConfig) -> tuple[str, str]:
    """``(model, provider)`` as LiteLLM resolves ``runner.model``; BackendError if it cannot."""
    model = config.model or ""
    try:
        bare, provider, _, _ = litellm.get_llm_provider(model=model, api_base=config.base_url)
    except Exception:
        raise BackendError(
            f"runner.model: LiteLLM does not know which provider serves {model!r}; write it as "
            f"provider/model (openai/gpt-4o-mini, anthropic/claude-haiku-4-5, ollama/llama3.2 ...), "
            f"see {PROVIDERS_URL}"
        ) from None
    return str(bare), str(provider)


def text_route(litellm: ModuleType, bare: str, provider: str) -> str | None:
    """The provider LiteLLM's text completion goes to, if it is a real completions endpoint."""
    if provider in NATIVE_TEXT_COMPLETION:
        return provider
    # LiteLLM sends openai/<name> to /v1/completions unless it knows <name> as a chat model.
    if provider == "openai" and bare not in litellm.open_ai_chat_completion_models:
        return "text-completion-openai"
    return None


def api_key(config: RunnerConfig) -> str | None:
    """The key to pass, or None: LiteLLM then reads the provider's variables itself."""
    if "api_key_env" not in config.model_fields_set:
        return None
    if config.api_key_env is None:
        return KEYLESS_PLACEHOLDER
    value = secret_from(config.api_key_env)
    if not value:
        raise BackendError(
            f"runner.api_key_env: the environment variable {config.api_key_env} is not set; "
            f"export your key as {config.api_key_env}, or remove api_key_env to let LiteLLM read "
            "the provider's own variable"
        )
    return value


def params_problems(litellm: ModuleType, config: RunnerConfig, bare: str, provider: str) -> list[str]:
    """What in ``runner.params`` the route cannot take, one sentence each."""
    params = config.params.to_request()
    problems = []
    try:
        supported = litellm.get_supported_openai_params(model=bare, custom_llm_provider=provider)
    except Exception:
        supported = None
    if supported is not None:
        problems += [
            f"runner.params.{name}: LiteLLM's {provider} route does not take {name}; remove it"
            for name in PARAMS
            if name in params and name not in supported
        ]
    clashes = sorted(set(params.get("extra_body") or {}) & RESERVED)
    if clashes:
        problems.append(
            f"runner.params.extra_body: {', '.join(clashes)} cannot be set through extra_body "
            "(the litellm backend sets it, or it has its own field in runner.params)"
        )
    return problems


class LiteLLMBackend(Backend):
    """Any ``provider/model`` LiteLLM knows; its retries off, its price map for the cost."""

    name: ClassVar[str] = "litellm"
    default_mode = "chat"
    enforces_timeout = True  # LiteLLM applies runner.timeout_s per attempt; a deadline backs it
    Options: ClassVar[type[BaseModel]] = NoOptions
    sdk: ClassVar[tuple[str, str] | None] = ("litellm", "litellm")

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._litellm: ModuleType | None = None
        self._key: str | None = None
        self._provider: str | None = None
        self._redactor = Redactor()  # keys to keep out of error messages, set by start()

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        cls.require_sdk()
        if not config.model:
            raise BackendError(
                "runner.model: the litellm backend needs a model as LiteLLM names it, provider/model "
                "(openai/gpt-4o-mini, anthropic/claude-haiku-4-5, groq/llama-3.1-8b-instant ...), "
                f"see {PROVIDERS_URL}"
            )
        litellm = import_litellm()
        bare, provider = route(litellm, config)
        if config.mode == "completion":
            text_provider = text_route(litellm, bare, provider)
            if text_provider is None:
                raise BackendError(
                    f"runner.mode: completion: LiteLLM's {provider} route has no text-completion "
                    "endpoint (LiteLLM would send the prompt as a chat message); use mode: chat, or "
                    "a completions route such as text-completion-openai/<model>"
                )
            provider = text_provider
        problems = params_problems(litellm, config, bare, provider)
        if problems:
            raise BackendError("; ".join(problems))
        if "api_key_env" in config.model_fields_set:
            api_key(config)
            return
        try:
            found = litellm.validate_environment(model=config.model, api_base=config.base_url)
            missing = [str(name) for name in found["missing_keys"]]
        except Exception:
            missing = []
        # Only a missing API key is certain to fail: other credentials (AWS roles, Vertex's
        # application default credentials, Entra ID tokens) may come from elsewhere.
        if missing and all(name.endswith("_API_KEY") for name in missing):
            names = " and ".join(missing)
            raise BackendError(
                f"runner.api_key_env: LiteLLM's {provider} route reads its key from {names}, which "
                f"is not set; export it, name another variable in runner.api_key_env, or set "
                "`api_key_env: null` for a server that needs no key"
            )

    @classmethod
    def price(cls, model: str) -> Pricing | None:
        return litellm_price(model)

    async def start(self) -> None:
        litellm = import_litellm()
        self._key = api_key(self.config)
        _, self._provider = route(litellm, self.config)
        # The key passed, or the one LiteLLM reads by the provider's convention (GROQ_API_KEY).
        own = os.environ.get(f"{self._provider.upper().replace('-', '_')}_API_KEY")
        self._redactor = Redactor(s for s in (self._key, own) if s and s != KEYLESS_PLACEHOLDER)
        self._litellm = litellm

    def call_args(self, request: Request) -> dict[str, Any]:
        """The keyword arguments of ``litellm.acompletion`` / ``atext_completion`` for ``request``."""
        params = dict(request.params)
        args: dict[str, Any] = {
            "model": self.config.model,
            "timeout": self.config.timeout_s,
            "num_retries": 0,  # LiteLLM's own retry wrapper: off
            "max_retries": 0,  # the provider client's retries: off
            "drop_params": False,  # a parameter the route cannot take is an error, never dropped
        }
        if request.mode == "chat":
            args["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            args["prompt"] = request.prompt
        if self.config.base_url:
            args["api_base"] = self.config.base_url
        if self._key is not None:
            args["api_key"] = self._key
        args.update(params.pop("extra_body", None) or {})
        args.update(params)
        return args

    async def complete(self, request: Request) -> Completion:
        litellm = self._litellm
        if litellm is None:
            raise RuntimeError("LiteLLMBackend.start() was not awaited")
        chat = request.mode == "chat"
        call = litellm.acompletion if chat else litellm.atext_completion
        try:
            response = await with_deadline(
                call(**self.call_args(request)), self.config.timeout_s + DEADLINE_GRACE_S
            )
        except LmEvalError:
            raise
        except Exception as exc:
            raise self._redacted(model_call_error(exc)) from None
        data = response.model_dump(warnings=False)  # a provider's odd field is not our warning
        completion = completion_from_json(data, 200, {}, chat=chat)
        if completion.usage is not None and completion.usage.prompt_tokens == 0:
            completion.usage = None  # LiteLLM's zeros for a reply that carried no usage
        return completion

    def _redacted(self, error: Exception) -> Exception:
        # A provider's error may quote the key it was given: keep it out of results.
        return self._redactor.error(error)

    async def aclose(self) -> None:
        # LiteLLM logs each call on a worker bound to this event loop: let it finish here, so a
        # later run on another loop does not inherit (and warn about) this one's tasks.
        if self._litellm is None:
            return
        try:
            worker = importlib.import_module("litellm.litellm_core_utils.logging_worker")
            await with_deadline(worker.GLOBAL_LOGGING_WORKER.flush(), 5.0)
        except Exception:  # best effort: LiteLLM's internals move between versions
            pass
        self._litellm = None

    def identity(self) -> dict[str, Any]:
        # The full model string names provider and model; the endpoint decides who answers, and
        # LiteLLM's version decides how the request is translated (defaults such as Anthropic's
        # max_tokens, where the system prompt goes): an upgrade is a new identity.
        base = self._api_base()
        return {
            **super().identity(),
            "api_base": endpoint_identity(base) if base else None,
            "litellm_version": litellm_version(),
        }

    def describe(self) -> dict[str, Any]:
        base = self._api_base()
        chosen = "api_key_env" in self.config.model_fields_set
        key = f"runner.api_key_env ({self.config.api_key_env})" if chosen else "LiteLLM's provider variables"
        return {
            **super().describe(),
            "provider": self._provider,
            "api_base": _without_credentials(base) if base else "the provider's default",
            "key": key,
            "sdk": f"litellm {litellm_version()}",
        }

    def _api_base(self) -> str | None:
        """``runner.base_url``, else the variable LiteLLM reads for this provider, if set."""
        if self.config.base_url:
            return self.config.base_url
        provider = (self._provider or (self.config.model or "").partition("/")[0]).upper().replace("-", "_")
        for name in (f"{provider}_API_BASE", f"{provider}_BASE_URL"):
            if value := os.environ.get(name):
                return value
        return None


@lru_cache(maxsize=256)
def litellm_price(model: str) -> Pricing | None:
    """LiteLLM's list price for ``model`` (per 1M tokens), or None when it has none."""
    litellm = import_litellm()
    try:
        info = litellm.get_model_info(model)
    except Exception:
        return None
    prompt, completion = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if not (_price_number(prompt) and _price_number(completion)):
        return None
    return Pricing.model_construct(
        prompt_per_1m=round(prompt * 1e6, 9), completion_per_1m=round(completion * 1e6, 9)
    )


def _price_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


# --------------------------------------------------------------------------- errors

# Exceptions (by class name, anywhere in the chain) that mean no reply came at all.
_NO_REPLY = frozenset(
    {"APIConnectionError", "TransportError", "ConnectError", "ReadError", "RemoteProtocolError",
     "ClientConnectionError", "ServerDisconnectedError", "ClientOSError", "ConnectionError"}
)  # fmt: skip
# ... and those that mean a reply came that LiteLLM could not read.
_UNREADABLE = frozenset({"JSONDecodeError", "ValidationError"})


def model_call_error(exc: BaseException) -> Exception:
    """A LiteLLM (or provider SDK) exception as the one error tree names it."""
    import openai

    message = _message(exc)
    if isinstance(exc, openai.APITimeoutError):
        return APITimeoutError(f"Request timed out. ({message})")
    if isinstance(exc, openai.APIConnectionError):
        return APIConnectionError(f"Connection error. ({message})")
    provider_status = getattr(exc, "provider_status_code", None)
    status = provider_status if isinstance(provider_status, int) else getattr(exc, "status_code", None)
    if isinstance(exc, openai.APIError) and isinstance(status, int):
        headers = _headers(exc)
        if not headers and provider_status is None:
            # LiteLLM's own status: nothing (or nothing readable) came from the server.
            names = _chain_names(exc)
            if names & _NO_REPLY:
                return APIConnectionError(f"Connection error. ({message})")
            if names & _UNREADABLE or "invalid response" in message.lower():
                return InvalidResponse(f"LiteLLM could not read the reply: {message}")
            return ModelCallError(f"LiteLLM failed before any reply: {message}")
        body = _body(exc)
        return status_error(status, body if body else message, headers)
    if isinstance(exc, (IndexError, KeyError, TypeError, ValueError)):
        return InvalidResponse(f"LiteLLM could not read the reply: {type(exc).__name__}: {message}")
    return exc if isinstance(exc, Exception) else RuntimeError(message)


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None)
    return text if isinstance(text, str) and text else str(exc)


def _headers(exc: BaseException) -> dict[str, str]:
    """The provider's response headers: LiteLLM keeps them on the response or beside it."""
    response_headers = getattr(getattr(exc, "response", None), "headers", None)
    for source in (response_headers, getattr(exc, "litellm_response_headers", None)):
        if source:
            return {str(k).lower(): str(v) for k, v in source.items()}
    return {}


def _body(exc: BaseException) -> bytes:
    response = getattr(exc, "response", None)
    try:
        content = getattr(response, "content", b"")
    except Exception:  # a streamed response that was never read
        return b""
    return content if isinstance(content, bytes) else b""


def _chain_names(exc: BaseException) -> set[str]:
    names: set[str] = set()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.update(cls.__name__ for cls in type(current).__mro__)
        current = current.__cause__ or current.__context__
    return names
