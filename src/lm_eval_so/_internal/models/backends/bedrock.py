"""Amazon Bedrock through the Converse API (``bedrock-runtime`` ``Converse``), with boto3.

One request = one ``POST /model/{modelId}/converse``, signed by botocore:

* ``modelId`` is ``runner.model``: a base model id (``anthropic.claude-3-5-sonnet-20240620-v1:0``,
  ``amazon.nova-lite-v1:0``, ``meta.llama3-1-70b-instruct-v1:0``), a cross-region inference
  profile (``us.anthropic...``, ``eu.``, ``apac.``, ``global.``) or an ARN (provisioned
  throughput, application inference profile, prompt);
* the sample's system messages become Converse's ``system`` blocks, the user and assistant
  turns its ``messages`` (consecutive turns of one role are one message with several text
  blocks, as Converse requires the roles to alternate);
* ``temperature``, ``top_p``, ``max_tokens`` and ``stop`` go into ``inferenceConfig``
  (``temperature``, ``topP``, ``maxTokens``, ``stopSequences``); ``params.extra_body`` is sent as
  ``additionalModelRequestFields`` (model-specific fields such as Claude's ``top_k``). Converse
  has no ``seed`` or penalties: they are refused by :meth:`BedrockBackend.check` rather than
  dropped. Unset ``max_tokens`` leaves the model's own default (Converse requires none);
* the answer is the text blocks of ``output.message`` joined (reasoning and tool-use blocks are
  not the answer); none -> :class:`EmptyAnswer` with the ``stopReason``;
* ``usage`` (inputTokens / outputTokens) -> cost from :data:`PRICES`, a dated table of
  Bedrock's on-demand list prices keyed by model id (unknown -> unknown, never $0).

Credentials come only from the standard AWS chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` or ``runner.options.profile``,
SSO, web identity, container and instance roles) or a Bedrock API key in
``AWS_BEARER_TOKEN_BEDROCK`` (botocore sends it as ``Authorization: Bearer``); never from the
YAML. The region is ``runner.options.region``, else ``AWS_REGION``, else botocore's own
(``AWS_DEFAULT_REGION``, the profile's ``region``). ``runner.base_url`` (else botocore's
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` / ``AWS_ENDPOINT_URL``) overrides the endpoint: a VPC
endpoint, a gateway, the tests' loopback fake.

botocore's own retries are off (``total_max_attempts=1``): the engine retries
(``ThrottlingException`` 429, ``ModelNotReadyException``, ``ServiceUnavailableException`` and
other 5xx, ``ModelTimeoutException`` 408, connection errors and timeouts), so every attempt is
counted once. ``runner.timeout_s`` is botocore's connect and read timeout. boto3 is blocking:
calls run in a thread pool of ``runner.concurrency`` threads sharing one client (boto3 clients
are thread-safe), so the event loop stays free.

boto3 and botocore ship no type hints; they are imported as modules (typed ``Any``) by
:func:`_aws`, so type checking needs no override for them.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...common.config import Pricing, RunnerConfig, base_url_problem
from ...common.errors import (
    APIConnectionError,
    APIStatusError,
    BackendError,
    BadRequestError,
    EmptyAnswer,
    InvalidResponse,
)
from ...common.records import Message, Usage
from ..base import Backend, BackendContext, Completion, Request
from ..status import status_error, timed_out
from ..usage import parse_usage
from .openai import _without_credentials, endpoint_identity

#: The variable botocore reads a Bedrock API key from (sent as ``Authorization: Bearer``).
BEARER_ENV = "AWS_BEARER_TOKEN_BEDROCK"
#: botocore's service-specific endpoint variable (also honoured: ``AWS_ENDPOINT_URL``).
ENDPOINT_ENV = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
SERVICE = "bedrock-runtime"

CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
    "credentials), or AWS_PROFILE / runner.options.profile naming a profile in ~/.aws, or a "
    f"Bedrock API key in {BEARER_ENV}, or run where an AWS role is available"
)

# Generation params Converse has no field for. Refused (by name) rather than dropped: a run
# that asked for a seed must not look seeded.
_REFUSED_PARAMS = {
    "seed": "Converse has no seed",
    "presence_penalty": "Converse has no presence penalty",
    "frequency_penalty": "Converse has no frequency penalty",
}
_INFERENCE_CONFIG = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP"}
# Codes whose meaning is "try again" whatever status a proxy put on them (Bedrock itself sends
# ThrottlingException and ModelNotReadyException as 429, ServiceUnavailableException as 503).
_TRANSIENT_CODES = {
    "ThrottlingException": 429,
    "TooManyRequestsException": 429,
    "ModelNotReadyException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
}


def _aws() -> tuple[ModuleType, ModuleType, ModuleType]:
    """boto3, botocore.config and botocore.exceptions, imported on first use."""
    return (
        importlib.import_module("boto3"),
        importlib.import_module("botocore.config"),
        importlib.import_module("botocore.exceptions"),
    )


class BedrockOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(
        None,
        pattern=r"^[a-z]{2,4}(-[a-z]+)+-\d+$",
        description="AWS region, e.g. us-east-1; else AWS_REGION, AWS_DEFAULT_REGION or the profile's.",
    )
    profile: str | None = Field(
        None, min_length=1, description="A named profile of ~/.aws/config (else AWS_PROFILE / default)."
    )


# --------------------------------------------------------------------------- pricing

#: The date :data:`PRICES` was compiled (AWS's published on-demand prices, US East).
PRICES_AS_OF = "2026-12-01"

# USD per 1M tokens (input, output): Amazon Bedrock on-demand list prices in US East
# (N. Virginia), from aws.amazon.com/bedrock/pricing, compiled on PRICES_AS_OF (cross-checked
# with the price map bundled in litellm 1.110). Other regions can cost more (Amazon Nova in the
# EU, for example), provisioned throughput is billed by the hour and batch at half price: for
# those, set runner.pricing. A model missing here costs "unknown", never $0.
PRICES: dict[str, tuple[float, float]] = {
    # Anthropic
    "anthropic.claude-3-haiku-20240307-v1:0": (0.25, 1.25),
    "anthropic.claude-3-sonnet-20240229-v1:0": (3.00, 15.00),
    "anthropic.claude-3-opus-20240229-v1:0": (15.00, 75.00),
    "anthropic.claude-3-5-haiku-20241022-v1:0": (0.80, 4.00),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (3.00, 15.00),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": (3.00, 15.00),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": (3.00, 15.00),
    "anthropic.claude-sonnet-4-20250514-v1:0": (3.00, 15.00),
    "anthropic.claude-opus-4-20250514-v1:0": (15.00, 75.00),
    "anthropic.claude-opus-4-1-20250805-v1:0": (15.00, 75.00),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": (3.00, 15.00),
    "anthropic.claude-haiku-4-5-20251001-v1:0": (1.00, 5.00),
    "anthropic.claude-opus-4-5-20251101-v1:0": (5.00, 25.00),
    # Amazon
    "amazon.nova-micro-v1:0": (0.035, 0.14),
    "amazon.nova-lite-v1:0": (0.06, 0.24),
    "amazon.nova-pro-v1:0": (0.80, 3.20),
    "amazon.nova-premier-v1:0": (2.50, 12.50),
    "amazon.titan-text-lite-v1": (0.15, 0.20),
    "amazon.titan-text-express-v1": (0.20, 0.60),
    "amazon.titan-text-premier-v1:0": (0.50, 1.50),
    # Meta
    "meta.llama3-8b-instruct-v1:0": (0.30, 0.60),
    "meta.llama3-70b-instruct-v1:0": (2.65, 3.50),
    "meta.llama3-1-8b-instruct-v1:0": (0.22, 0.22),
    "meta.llama3-1-70b-instruct-v1:0": (0.72, 0.72),
    "meta.llama3-1-405b-instruct-v1:0": (2.40, 2.40),
    "meta.llama3-2-1b-instruct-v1:0": (0.10, 0.10),
    "meta.llama3-2-3b-instruct-v1:0": (0.15, 0.15),
    "meta.llama3-2-11b-instruct-v1:0": (0.16, 0.16),
    "meta.llama3-2-90b-instruct-v1:0": (0.72, 0.72),
    "meta.llama3-3-70b-instruct-v1:0": (0.72, 0.72),
    "meta.llama4-scout-17b-instruct-v1:0": (0.17, 0.66),
    "meta.llama4-maverick-17b-instruct-v1:0": (0.24, 0.97),
    # Mistral AI
    "mistral.mistral-7b-instruct-v0:2": (0.15, 0.20),
    "mistral.mixtral-8x7b-instruct-v0:1": (0.45, 0.70),
    "mistral.mistral-small-2402-v1:0": (1.00, 3.00),
    "mistral.mistral-large-2402-v1:0": (4.00, 12.00),
    "mistral.mistral-large-2407-v1:0": (2.00, 6.00),
    "mistral.pixtral-large-2502-v1:0": (2.00, 6.00),
    # Cohere, AI21 Labs, DeepSeek, OpenAI (open-weight)
    "cohere.command-r-v1:0": (0.50, 1.50),
    "cohere.command-r-plus-v1:0": (3.00, 15.00),
    "ai21.jamba-1-5-mini-v1:0": (0.20, 0.40),
    "ai21.jamba-1-5-large-v1:0": (2.00, 8.00),
    "deepseek.r1-v1:0": (1.35, 5.40),
    "openai.gpt-oss-20b-1:0": (0.07, 0.30),
    "openai.gpt-oss-120b-1:0": (0.15, 0.60),
}

# Cross-region inference profiles ("us.meta.llama3-1-8b-instruct-v1:0") cost what the model
# costs in the source region: the same as the table for these providers and geographies.
_SAME_PRICE_PROFILES: dict[str, frozenset[str]] = {
    "anthropic": frozenset({"us", "eu", "apac", "global"}),
    "amazon": frozenset({"us"}),  # Nova in the EU / APAC has its own, higher, prices
    "meta": frozenset({"us"}),
    "mistral": frozenset({"us"}),
    "deepseek": frozenset({"us"}),
}
# From the Claude 4.5 generation on, geographic profiles cost 10% more than global ones.
_REGIONAL_PREMIUM = frozenset(
    {
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
    }
)
_PREMIUM_GEOGRAPHIES = frozenset({"us", "eu", "apac", "jp", "au"})
_PROFILE = re.compile(r"(?P<geo>us|eu|apac|jp|au|ca|global|us-gov)\.(?P<model>.+)")
_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?P<kind>[a-z-]+)/(?P<id>.+)")


@functools.lru_cache(maxsize=256)
def bedrock_price(model: str) -> Pricing | None:
    """The on-demand price of a model id, inference profile id or their ARN; None if unknown."""
    name = model.strip().lower()
    arn = _ARN.fullmatch(name)
    if arn is not None:
        if arn["kind"] not in ("foundation-model", "inference-profile"):
            return None  # provisioned throughput, custom or imported models: not per token
        name = arn["id"]
    prices = PRICES.get(name)
    if prices is None and (profile := _PROFILE.fullmatch(name)) is not None:
        geo, base = profile["geo"], profile["model"]
        prices = PRICES.get(base)
        if prices is None:
            return None
        if base in _REGIONAL_PREMIUM:
            if geo in _PREMIUM_GEOGRAPHIES:
                prices = (round(prices[0] * 1.1, 6), round(prices[1] * 1.1, 6))
            elif geo != "global":
                return None
        elif geo not in _SAME_PRICE_PROFILES.get(base.partition(".")[0], frozenset()):
            return None
    if prices is None:
        return None
    return Pricing.model_construct(prompt_per_1m=prices[0], completion_per_1m=prices[1])


# --------------------------------------------------------------------------- the request


def converse_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(``messages``, ``system``) as Converse takes them.

    System messages become ``system`` text blocks, in order (an empty one is left out:
    Converse refuses blank blocks). Consecutive turns of one role become one message with a
    text block each, since Converse requires user and assistant to alternate.
    """
    system = [{"text": m.content} for m in messages if m.role == "system" and m.content]
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.content})
        else:
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    return turns, system


def inference_config(params: Mapping[str, Any]) -> dict[str, Any]:
    config = {
        field: params[name] for name, field in _INFERENCE_CONFIG.items() if params.get(name) is not None
    }
    if params.get("stop"):
        config["stopSequences"] = list(params["stop"])
    return config


def params_problem(params: Mapping[str, Any]) -> str | None:
    """Why Converse cannot take ``params`` (GenerationParams without the unset ones), or None."""
    for name, why in _REFUSED_PARAMS.items():
        if params.get(name) is not None:
            return (
                f"runner.params.{name}: {why}; remove it, or pass a field the model itself takes "
                "through params.extra_body (sent as additionalModelRequestFields)"
            )
    temperature = params.get("temperature")
    if temperature is not None and temperature > 1:
        return f"runner.params.temperature: Converse takes 0 to 1 (got {temperature:g})"
    extra = params.get("extra_body")
    if extra is not None and not isinstance(extra, Mapping):
        return "runner.params.extra_body: must be a mapping (sent as additionalModelRequestFields)"
    return None


# --------------------------------------------------------------------------- the reply


def completion_from_converse(response: Mapping[str, Any]) -> Completion:
    """A Converse response -> Completion; :class:`EmptyAnswer` when it holds no text."""
    stop = response.get("stopReason")
    stop = stop if isinstance(stop, str) else None
    output = response.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    content = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(content, list):
        # botocore keeps only the members of the response shape: an HTML page from a proxy
        # leaves nothing but its headers.
        meta = response.get("ResponseMetadata")
        headers = meta.get("HTTPHeaders") if isinstance(meta, Mapping) else None
        kind = headers.get("content-type") if isinstance(headers, Mapping) else None
        shown = f" (the reply's Content-Type was {kind})" if kind else ""
        raise InvalidResponse(
            f"the reply is not a Converse response: it has no output.message.content{shown}"
        )
    texts = [b["text"] for b in content if isinstance(b, Mapping) and isinstance(b.get("text"), str)]
    usage = converse_usage(response.get("usage"))
    if not texts:
        kinds = sorted({str(k) for b in content if isinstance(b, Mapping) for k in b})
        what = (
            f"the model returned no text block ({', '.join(kinds)})"
            if kinds
            else "the model returned no content"
        )
        raise EmptyAnswer(stop, what, usage=usage)
    return Completion(text="".join(texts), usage=usage, finish_reason=stop)


def converse_usage(raw: Any) -> Usage | None:
    """``inputTokens`` / ``outputTokens`` -> Usage; missing or malformed -> None (unknown).

    Prompt-cache reads and writes (only with cache points, which this backend never sends)
    are counted as prompt tokens.
    """
    if not isinstance(raw, Mapping):
        return None
    prompt = raw.get("inputTokens")
    for cached in ("cacheReadInputTokens", "cacheWriteInputTokens"):
        extra = raw.get(cached)
        if isinstance(prompt, int) and isinstance(extra, int) and extra > 0:
            prompt += extra
    return parse_usage(
        {
            "prompt_tokens": prompt,
            "completion_tokens": raw.get("outputTokens"),
            "total_tokens": raw.get("totalTokens"),
        }
    )


def client_error(exc: Any) -> APIStatusError:
    """A botocore ``ClientError`` -> the one error tree, keeping AWS's error code and message."""
    response = exc.response if isinstance(getattr(exc, "response", None), Mapping) else {}
    meta = response.get("ResponseMetadata") or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "UnknownError")
    message = str(error.get("Message") or "")
    headers = meta.get("HTTPHeaders") or {}
    status = meta.get("HTTPStatusCode")
    if not isinstance(status, int):
        return APIStatusError(f"{code}: {message}", None)
    wire = status
    if code in _TRANSIENT_CODES and status < 500 and status != 429:
        status = _TRANSIENT_CODES[code]  # a proxy's 400 ThrottlingException is still a throttle
    base = status_error(status, b"", headers)
    said = f"HTTP {wire}, " if wire != status else ""
    return type(base)(f"Error code: {status} - {said}{code}: {message}", status, base.retry_after)


# --------------------------------------------------------------------------- region, credentials


def _session(options: BedrockOptions) -> Any:
    boto3, _, exceptions = _aws()
    try:
        return boto3.session.Session(profile_name=options.profile)
    except exceptions.ProfileNotFound as exc:
        raise BackendError(f"runner.options.profile: {exc}") from None


def resolve_region(options: BedrockOptions, session: Any) -> str | None:
    """``runner.options.region``, else ``AWS_REGION``, else botocore's (AWS_DEFAULT_REGION, profile)."""
    if options.region:
        return options.region
    if env := os.environ.get("AWS_REGION", "").strip():
        return env
    _, _, exceptions = _aws()
    try:
        region = session.region_name
    except exceptions.BotoCoreError as exc:
        raise BackendError(f"runner.options: cannot read the AWS configuration: {exc}") from None
    return region or None


def _user_chose_key_variable(config: RunnerConfig) -> bool:
    return "api_key_env" in config.model_fields_set and config.api_key_env is not None


class BedrockBackend(Backend):
    name: ClassVar[str] = "bedrock"
    default_mode = "chat"
    enforces_timeout = True  # botocore's connect and read timeouts are runner.timeout_s
    Options: ClassVar[type[BaseModel]] = BedrockOptions
    options: BedrockOptions  # validated from runner.options by Backend.__init__
    sdk = ("boto3", "bedrock")

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._region: str | None = None
        self._auth = "sigv4"

    # ------------------------------------------------------------------ checks

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        cls.require_sdk()
        if not config.model:
            raise BackendError(
                "runner.model: the bedrock backend needs a model id or inference profile (e.g. "
                "amazon.nova-lite-v1:0, us.anthropic.claude-3-5-sonnet-20240620-v1:0)"
            )
        if config.mode == "completion":
            raise BackendError(
                "runner.mode: completion is not available on Bedrock's Converse API, which is "
                "chat only; remove `mode: completion` (the prompt is sent as a user message)"
            )
        problem = params_problem(config.params.to_request())
        if problem:
            raise BackendError(problem)
        try:
            options = BedrockOptions.model_validate(config.options)
        except ValidationError as exc:
            raise BackendError(
                f"runner.options: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})"
            ) from None
        if _user_chose_key_variable(config) and config.api_key_env != BEARER_ENV:
            raise BackendError(
                f"runner.api_key_env: the bedrock backend reads no key variable of its own: it "
                f"signs requests with the standard AWS credential chain ({CREDENTIALS_HINT}); "
                f"remove api_key_env (or set it to {BEARER_ENV} to require a Bedrock API key)"
            )
        env_url = os.environ.get(ENDPOINT_ENV) if config.base_url is None else None
        if env_url and (problem := base_url_problem(env_url)):
            raise BackendError(f"{ENDPOINT_ENV} (used as runner.base_url): {problem}")
        session = _session(options)
        if resolve_region(options, session) is None:
            raise BackendError(
                "runner.options.region: no AWS region is configured; set runner.options.region "
                "(e.g. us-east-1), AWS_REGION or AWS_DEFAULT_REGION, or a region in your AWS profile"
            )
        if os.environ.get(BEARER_ENV):
            endpoint = (
                config.base_url or os.environ.get(ENDPOINT_ENV) or os.environ.get("AWS_ENDPOINT_URL") or ""
            )
            if endpoint.startswith("http://"):
                raise BackendError(
                    f"runner.base_url: the Bedrock API key in {BEARER_ENV} is sent over HTTPS only "
                    f"(botocore refuses {endpoint}); use an https:// endpoint or AWS credentials"
                )
            return
        if _user_chose_key_variable(config):
            raise BackendError(
                f"runner.api_key_env: the environment variable {BEARER_ENV} is not set; export "
                f"your Bedrock API key as {BEARER_ENV}, or remove api_key_env to use AWS credentials"
            )
        _, _, exceptions = _aws()
        try:
            credentials = session.get_credentials()
        except exceptions.PartialCredentialsError as exc:
            raise BackendError(f"AWS credentials: {exc}; {CREDENTIALS_HINT}") from None
        except exceptions.BotoCoreError as exc:
            raise BackendError(f"AWS credentials cannot be loaded: {exc}") from None
        if credentials is None:
            raise BackendError(f"no AWS credentials found: {CREDENTIALS_HINT}")

    @classmethod
    def price(cls, model: str) -> Pricing | None:
        return bedrock_price(model)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        _, botocore_config, _ = _aws()
        session = _session(self.options)
        self._region = resolve_region(self.options, session)
        timeout = self.config.timeout_s
        client_config = botocore_config.Config(
            region_name=self._region,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},  # the engine retries
            max_pool_connections=self.config.concurrency,
            user_agent_extra="lm-eval-so",
        )
        self._client = session.client(
            SERVICE, endpoint_url=self.config.base_url or None, config=client_config
        )
        self._pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="bedrock")
        if os.environ.get(BEARER_ENV):
            self._auth = f"bearer ({BEARER_ENV})"
        else:
            credentials = session.get_credentials()
            method = getattr(credentials, "method", None)
            self._auth = f"sigv4 ({method})" if method else "sigv4"

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # ------------------------------------------------------------------ the call

    def request_body(self, request: Request) -> dict[str, Any]:
        """The keyword arguments of ``client.converse`` for ``request``."""
        if request.mode != "chat":
            raise BackendError("runner.mode: Bedrock's Converse API is chat only")
        messages, system = converse_messages(request.messages)
        body: dict[str, Any] = {"modelId": self.config.model, "messages": messages}
        if system:
            body["system"] = system
        if config := inference_config(request.params):
            body["inferenceConfig"] = config
        if extra := request.params.get("extra_body"):
            body["additionalModelRequestFields"] = dict(extra)
        return body

    async def complete(self, request: Request) -> Completion:
        if self._client is None or self._pool is None:
            raise RuntimeError("BedrockBackend.start() was not awaited")
        body = self.request_body(request)
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._pool, functools.partial(self._converse, body))
        return completion_from_converse(response)

    def _converse(self, body: dict[str, Any]) -> Mapping[str, Any]:
        """One blocking Converse call (in the pool), its failures mapped onto the one error tree."""
        _, _, exceptions = _aws()
        try:
            response: Mapping[str, Any] = self._client.converse(**body)
        except exceptions.ClientError as exc:
            raise client_error(exc) from None
        except (exceptions.ReadTimeoutError, exceptions.ConnectTimeoutError) as exc:
            raise timed_out(self.config.timeout_s, exc) from None
        except (exceptions.ConnectionError, exceptions.HTTPClientError) as exc:
            raise APIConnectionError(f"Connection error. ({exc})") from None
        except exceptions.ParamValidationError as exc:
            raise BadRequestError(f"the request was refused before it was sent: {exc}", None) from None
        except (exceptions.NoCredentialsError, exceptions.NoAuthTokenError) as exc:
            raise BackendError(f"AWS credentials: {exc}; {CREDENTIALS_HINT}") from None
        except exceptions.BotoCoreError as exc:  # configuration botocore refuses to send with
            raise BackendError(f"botocore: {exc}") from None
        return response

    # ------------------------------------------------------------------ identity

    def _endpoint_url(self) -> str:
        if self._client is not None:
            return str(self._client.meta.endpoint_url)
        configured = (
            self.config.base_url or os.environ.get(ENDPOINT_ENV) or os.environ.get("AWS_ENDPOINT_URL")
        )
        return configured or f"https://{SERVICE}.{self._region_name()}.amazonaws.com"

    def _region_name(self) -> str | None:
        if self._region is None:
            self._region = resolve_region(self.options, _session(self.options))
        return self._region

    def identity(self) -> dict[str, Any]:
        # The region and endpoint decide which deployment answers; the profile and credentials
        # only decide who pays, so they are left out (and options.region is the region below).
        options = {k: v for k, v in self.config.options.items() if k not in ("region", "profile")}
        return {
            **super().identity(),
            "options": options,
            "region": self._region_name(),
            "endpoint": endpoint_identity(self._endpoint_url()),
        }

    def describe(self) -> dict[str, Any]:
        facts = {
            **super().describe(),
            "region": self._region_name(),
            "endpoint_url": _without_credentials(self._endpoint_url()),
            "auth": self._auth,
        }
        if self.options.profile:
            facts["profile"] = self.options.profile
        return facts
