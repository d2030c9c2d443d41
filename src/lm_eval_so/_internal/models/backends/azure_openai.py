"""Azure OpenAI: a model deployment on an Azure resource, through the official SDK's
``openai.AsyncAzureOpenAI`` (the ``openai`` package is a core dependency: no extra).

What is sent, and why:

* ``POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version={version}``
  (``/completions`` in ``mode: completion``, for the deployments that have it, such as
  ``gpt-35-turbo-instruct``). The endpoint is ``runner.base_url``, else ``AZURE_OPENAI_ENDPOINT``:
  the resource's root, ``https://<resource>.openai.azure.com`` (a trailing ``/openai`` is
  accepted and dropped; the deployment goes in ``runner.model``, never in the URL).
* The deployment is ``runner.model``, or ``runner.options.deployment`` when set (then
  ``runner.model`` is only a label). Azure routes by the deployment; the ``model`` field of the
  body carries the same name, as the SDK sends it.
* ``api-version``: ``runner.options.api_version``, else ``OPENAI_API_VERSION``; there is no
  default (a version decides which parameters and reply fields exist): a missing one is a
  :class:`BackendError` naming both.
* The key as the ``api-key`` header: from ``runner.api_key_env`` when the pipeline sets it,
  otherwise ``AZURE_OPENAI_API_KEY``. Or a Microsoft Entra ID (Azure AD) token as
  ``Authorization: Bearer``: ``runner.options.azure_ad_token_env`` names the variable holding it
  (obtain it with ``az account get-access-token --resource https://cognitiveservices.azure.com``;
  azure-identity is not pulled in, and a token is not refreshed during a run). ``api_key_env:
  null``: a placeholder key, for a gateway that adds its own credentials.
* The messages as written (system first, ``role: system``), and the parameters as the OpenAI
  API takes them: ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``,
  ``presence_penalty``, ``frequency_penalty``; ``extra_body`` is merged into the JSON body
  (``max_completion_tokens`` for reasoning deployments, ``data_sources``...). No default
  ``max_tokens``: the deployment's own applies.

What comes back is read by the openai backend's one reply reader (openai_reply.py), so errors,
usage and odd replies read the same whichever backend made the call. Azure-specific shapes read
as the user would expect: a prompt blocked by the content filter is a 400 ``BadRequestError``
with Azure's message (not retried); an answer withheld by it (``finish_reason:
content_filter``, no content) is :class:`EmptyAnswer` with that finish reason.

Cost: Azure bills a deployment by the model behind it, which a deployment name does not say.
``runner.options.model_family`` (e.g. ``gpt-4o-mini``) prices it at OpenAI's list price for that
model (models/pricing.py; Azure's global deployments list the same prices, regional and data-zone
ones about 10% more); without it the cost is unknown, never a guess. ``runner.pricing`` wins.

Errors: the SDK's retries are off (``max_retries=0``); its exceptions are mapped through
:func:`~lm_eval_so._internal.models.status.status_error`, so Azure's 429 (``retry-after`` /
``retry-after-ms``) is retried by the engine after the server's delay.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...common.config import EnvName, Pricing, RunnerConfig, base_url_problem
from ...common.errors import BackendError, ModelCallError
from ...common.redact import Redactor
from ..base import Backend, BackendContext, Completion, Request
from ..http import sdk_http_client
from ..keys import secret_from
from ..pricing import lookup_price
from ..status import connection_error, status_error, timed_out
from .openai import _SDK_KEYWORDS, _without_credentials, endpoint_identity
from .openai_reply import completion_from_reply

if TYPE_CHECKING:
    from openai import AsyncAzureOpenAI

#: Where the key is read from when the pipeline does not set ``runner.api_key_env``.
KEY_VARIABLE = "AZURE_OPENAI_API_KEY"
ENDPOINT_VARIABLE = "AZURE_OPENAI_ENDPOINT"
VERSION_VARIABLE = "OPENAI_API_VERSION"
#: Sent when ``api_key_env: null``: a gateway that adds its own credentials still gets a header.
KEYLESS_PLACEHOLDER = "no-key"


class AzureOpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_version: str | None = Field(
        None, min_length=1, description="The api-version query parameter; OPENAI_API_VERSION by default."
    )
    deployment: str | None = Field(
        None, min_length=1, description="The deployment name; runner.model by default."
    )
    model_family: str | None = Field(
        None,
        min_length=1,
        description="The OpenAI model the deployment serves (gpt-4o-mini...): its price; else unknown.",
    )
    azure_ad_token_env: EnvName | None = Field(
        None, description="Variable holding a Microsoft Entra ID token, sent as Authorization: Bearer."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `model_family: ${AZURE_OPENAI_MODEL_FAMILY:-}` means "not given" when the variable is empty.
        return None if value == "" else value


def _options_of(config: RunnerConfig) -> AzureOpenAIOptions:
    return AzureOpenAIOptions.model_validate(config.options)


def credential(config: RunnerConfig) -> tuple[str, str]:
    """``(secret, kind)``: the key (``"api_key"``) or the Entra ID token (``"azure_ad_token"``).

    BackendError naming the variable when it is not set.
    """
    options = _options_of(config)
    key_chosen = "api_key_env" in config.model_fields_set
    if options.azure_ad_token_env is not None:
        if key_chosen and config.api_key_env is not None:
            raise BackendError(
                "runner.options.azure_ad_token_env: Azure takes a key or a token, not both; "
                "remove runner.api_key_env or runner.options.azure_ad_token_env"
            )
        name = options.azure_ad_token_env
        token = secret_from(name, "runner.options.azure_ad_token_env")
        if not token:
            raise BackendError(
                f"runner.options.azure_ad_token_env: the environment variable {name} is not set; "
                f"export a Microsoft Entra ID token as {name} (az account get-access-token "
                "--resource https://cognitiveservices.azure.com --query accessToken -o tsv)"
            )
        return token, "azure_ad_token"
    if key_chosen and config.api_key_env is None:
        return KEYLESS_PLACEHOLDER, "api_key"
    name = config.api_key_env if key_chosen and config.api_key_env else KEY_VARIABLE
    key = secret_from(name)
    if not key:
        raise BackendError(
            f"runner.api_key_env: the environment variable {name} is not set; export your Azure "
            f"OpenAI key as {name}"
            + (
                ""
                if key_chosen
                else ", name another variable in runner.api_key_env, or use an Entra ID token "
                "(runner.options.azure_ad_token_env)"
            )
        )
    return key, "api_key"


def api_version(config: RunnerConfig) -> str:
    version = _options_of(config).api_version or os.environ.get(VERSION_VARIABLE)
    if not version:
        raise BackendError(
            "runner.options.api_version: the azure_openai backend needs an API version (e.g. "
            f"2024-10-21); set runner.options.api_version or export {VERSION_VARIABLE}"
        )
    return version


def azure_endpoint(config: RunnerConfig) -> str:
    """The resource endpoint without a trailing ``/openai``; BackendError when there is none."""
    from_env = config.base_url is None
    url = config.base_url or os.environ.get(ENDPOINT_VARIABLE)
    where = f"{ENDPOINT_VARIABLE} (used as runner.base_url)" if from_env else "runner.base_url"
    if not url:
        raise BackendError(
            "runner.base_url: the azure_openai backend needs your resource's endpoint "
            f"(https://<resource>.openai.azure.com); set runner.base_url or export {ENDPOINT_VARIABLE}"
        )
    problem = base_url_problem(url)
    if problem:
        raise BackendError(f"{where}: {problem}")
    path = urlsplit(url).path.rstrip("/")
    if "/deployments" in path:
        raise BackendError(
            f"{where}: give the resource's endpoint (https://<resource>.openai.azure.com), not a "
            "deployment's URL; the deployment goes in runner.model"
        )
    root = url.rstrip("/")
    return root.removesuffix("/openai") if path.endswith("/openai") else root


def deployment(config: RunnerConfig) -> str:
    name = _options_of(config).deployment or config.model
    if not name:
        raise BackendError(
            "runner.model: the azure_openai backend needs the deployment name (runner.model, or "
            "runner.options.deployment), as shown under Deployments in Azure AI Foundry"
        )
    return name


class AzureOpenAIBackend(Backend):
    """A deployment of an Azure OpenAI resource; the cost is unknown unless ``model_family`` is set."""

    name: ClassVar[str] = "azure_openai"
    default_mode = "chat"
    enforces_timeout = True  # the SDK applies runner.timeout_s to every attempt
    Options: ClassVar[type[BaseModel]] = AzureOpenAIOptions
    options: AzureOpenAIOptions  # validated from runner.options by Backend.__init__
    sdk: ClassVar[tuple[str, str] | None] = None  # openai is a core dependency

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._client: AsyncAzureOpenAI | None = None
        self._redactor = Redactor()  # the key or token, once start() has read it
        family = self.options.model_family
        family_price = lookup_price(family) if family else None
        # Azure bills by the deployment's model, which no name in a reply or the config tells
        # reliably: the price is the declared family's (or unknown), whatever name is asked.
        self.price = lambda model: family_price  # type: ignore[method-assign]

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        cls.require_sdk()
        deployment(config)
        azure_endpoint(config)
        api_version(config)
        family = _options_of(config).model_family
        if family and lookup_price(family) is None:
            raise BackendError(
                f"runner.options.model_family: {family!r} is not in the OpenAI price table "
                "(e.g. gpt-4o-mini, gpt-4.1); set runner.pricing for it instead"
            )
        credential(config)

    @classmethod
    def price(cls, model: str) -> Pricing | None:
        """Unknown from a name alone: a deployment name (or a reply's model) says too little.

        A built backend prices by ``runner.options.model_family`` (see ``__init__``).
        """
        return None

    async def start(self) -> None:
        from openai import AsyncAzureOpenAI, DefaultAsyncHttpxClient

        secret, kind = credential(self.config)
        self._redactor = Redactor([secret] if secret != KEYLESS_PLACEHOLDER else [])
        self._client = AsyncAzureOpenAI(
            azure_endpoint=azure_endpoint(self.config),
            api_version=api_version(self.config),
            api_key=secret if kind == "api_key" else None,
            azure_ad_token=secret if kind == "azure_ad_token" else None,
            timeout=self.config.timeout_s,
            max_retries=0,  # the engine retries (runner.max_retries), for every backend alike
            # The SDK's client, but following no redirect (a hop is a request no attempt
            # counts) and refusing a reply announced above the size limit.
            http_client=sdk_http_client(DefaultAsyncHttpxClient),
        )

    async def complete(self, request: Request) -> Completion:
        import openai

        if self._client is None:
            raise RuntimeError("AzureOpenAIBackend.start() was not awaited")
        chat = request.mode == "chat"
        body = self.payload(request)
        extra = {k: body.pop(k) for k in list(body) if k not in _SDK_KEYWORDS}
        create = self._client.chat.completions if chat else self._client.completions
        try:
            raw = await create.with_raw_response.create(**body, extra_body=extra or None)
        except openai.APIStatusError as exc:  # the same classification as every backend
            error = status_error(exc.status_code, exc.response.content, exc.response.headers)
            raise self._redacted(error) from None
        except openai.APITimeoutError:
            raise timed_out(self.config.timeout_s) from None
        except openai.APIConnectionError as exc:
            raise self._redacted(connection_error(exc)) from None
        response = raw.http_response
        return completion_from_reply(response.status_code, response.headers, response.content, chat=chat)

    def payload(self, request: Request) -> dict[str, Any]:
        """The JSON body for ``request``: the OpenAI shape, ``extra_body`` merged in."""
        params = dict(request.params)
        body: dict[str, Any] = {"model": deployment(self.config)}
        if request.mode == "chat":
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            body["prompt"] = request.prompt
        body.update(params.pop("extra_body", None) or {})
        body.update(params)
        return body

    def _redacted(self, error: ModelCallError) -> ModelCallError:
        # Azure's 401 does not quote the key, but a gateway in front of it may: keep it out.
        return self._redactor.error(error)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def identity(self) -> dict[str, Any]:
        # The same deployment name on another resource, or under another API version, may
        # answer otherwise.
        return {
            **super().identity(),
            "endpoint": endpoint_identity(azure_endpoint(self.config)),
            "deployment": deployment(self.config),
            "api_version": api_version(self.config),
        }

    def describe(self) -> dict[str, Any]:
        family = self.options.model_family
        if self.config.pricing is not None:
            pricing = "runner.pricing"
        else:
            pricing = f"OpenAI list price of {family}" if family else "unknown (no options.model_family)"
        return {
            **super().describe(),
            "endpoint": _without_credentials(azure_endpoint(self.config)),
            "deployment": deployment(self.config),
            "api_version": api_version(self.config),
            "auth": "azure_ad_token" if self.options.azure_ad_token_env else "api-key",
            "pricing": pricing,
        }
