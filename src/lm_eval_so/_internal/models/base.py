"""The backend contract: one request in, one completion out.

A backend only talks to a model. The engine around it owns concurrency, timing, retries,
cost and turning exceptions into result records, so a backend may simply raise.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from ..common.config import Pricing, RunnerConfig
from ..common.errors import BackendError, EmptyAnswer, InvalidAnswer
from ..common.records import DatasetSample, Message, Usage
from .backends import module_missing

Mode = Literal["chat", "completion"]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Request:
    sample: DatasetSample
    repeat: int
    mode: Mode
    params: dict[str, Any]  # GenerationParams without the unset ones

    @property
    def messages(self) -> list[Message]:
        return self.sample.messages

    @property
    def prompt(self) -> str:
        return self.sample.prompt_text()


@dataclass
class Completion:
    text: str
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    #: Calls it took, retries included (a client that retries internally may report them).
    attempts: int = 1


def check_answer(completion: Completion) -> Completion:
    """Raise :class:`InvalidAnswer` unless ``completion.text`` is storable text.

    Server-given names (``model``, ``finish_reason``) that are not valid text are repaired
    with backslash escapes rather than failing the sample: they only label the answer.
    """
    text = completion.text
    if not isinstance(text, str):
        raise _unusable(
            completion, f"the backend returned a {type(text).__name__} as the answer's text, not a str"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _unusable(
                completion,
                f"the answer is not valid Unicode text: {exc.reason} {text[exc.start]!a} "
                f"at character {exc.start} of {len(text)}",
            ) from None
    completion.model = storable(completion.model)
    completion.finish_reason = storable(completion.finish_reason)
    return completion


def _unusable(completion: Completion, message: str) -> InvalidAnswer:
    # The call was answered and billed: the error keeps what the reply said about it.
    return InvalidAnswer(
        message, finish_reason=completion.finish_reason, usage=completion.usage, model=completion.model
    )


def storable(text: str | None) -> str | None:
    """``text`` with anything UTF-8 cannot hold (lone surrogates) written as ``\\udxxx``."""
    if text is None or text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def answer_text(
    content: Any, finish_reason: str | None, *, usage: Usage | None = None, model: str | None = None
) -> str:
    """The answer's text; :class:`EmptyAnswer` (with the reply's usage) when there is none."""
    if content is None:
        raise EmptyAnswer(finish_reason, usage=usage, model=model)
    if not isinstance(content, str):
        raise TypeError(f"the answer's content is a {type(content).__name__}, not text")
    return content


@dataclass(frozen=True)
class BackendContext:
    """What a backend may know besides its config."""

    base_dir: Path  # the pipeline.yaml's directory
    seed: int


class Backend(ABC):
    """Subclass, set ``name``, implement :meth:`complete`; register in ``lm_eval_so.backends``."""

    name: ClassVar[str]
    #: Mode used when ``runner.mode`` is not set.
    default_mode: ClassVar[Mode] = "chat"
    #: Upper bound on useful concurrency (an in-process model serves one call at a time).
    max_concurrency: ClassVar[int | None] = None
    #: True when the backend enforces ``runner.timeout_s`` itself (e.g. per HTTP attempt);
    #: otherwise the engine puts a deadline around every :meth:`complete` call.
    enforces_timeout: ClassVar[bool] = False
    #: True when a call costs nothing unless ``runner.pricing`` says otherwise (in-process
    #: models, the user's own function); False means "look the model up in the price table".
    is_local: ClassVar[bool] = False
    #: Model of ``runner.options``; validated when the pipeline is loaded.
    Options: ClassVar[type[BaseModel]] = NoOptions
    #: ``runner.options`` validated by ``Options``. A subclass narrows the type by annotation
    #: (``options: MyOptions``), as metrics do, instead of re-checking it at each use.
    options: BaseModel
    #: The optional dependency the backend needs: (importable module, extra), e.g.
    #: ``("anthropic", "anthropic")``. Checked by :meth:`require_sdk` and ``lm-eval-so plugins``.
    sdk: ClassVar[tuple[str, str] | None] = None
    #: Whether the response cache is on when ``runner.cache`` is not written in the pipeline.
    #: False for a backend whose answers depend on more than :meth:`identity` can see (the
    #: python backend: the user's code may read files, services or clocks), so that a cached
    #: answer is only ever replayed when the user asked for it.
    cache_by_default: ClassVar[bool] = True

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        self.config = config
        self.context = context
        self.options = self.Options.model_validate(config.options)

    @classmethod  # noqa: B027  (optional hook)
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        """Fail fast (raise ``BackendError``) before any sample runs: missing key, bad model."""

    @classmethod
    def require_sdk(cls) -> None:
        """BackendError naming the extra to install when :attr:`sdk`'s module is missing."""
        if cls.sdk is None:
            return
        module, extra = cls.sdk
        if module_missing(module):
            raise BackendError(
                f"runner.backend: {cls.name} needs the [{extra}] extra: pip install 'lm-eval-so[{extra}]'"
            )

    @classmethod
    def price(cls, model: str) -> Pricing | None:
        """USD per 1M tokens for ``model`` from this backend's price table, None if unknown.

        The default is the OpenAI list-price table; a provider backend overrides it with its
        own (dated) table. ``runner.pricing`` always wins over it.
        """
        from .pricing import lookup_price

        return lookup_price(model)

    @property
    def mode(self) -> Mode:
        return self.config.mode or self.default_mode

    @property
    def model_name(self) -> str | None:
        return self.config.model

    async def start(self) -> None:  # noqa: B027  (optional hook)
        """Open clients or load models; called once before the first request."""

    @abstractmethod
    async def complete(self, request: Request) -> Completion:
        """Answer one request.

        Raise on failure: the engine records the error, with the exception's int ``attempts``
        attribute when it has one (a client that retried internally).
        """

    async def aclose(self) -> None:  # noqa: B027  (optional hook)
        """Release clients or models."""

    def identity(self) -> dict[str, Any]:
        """Everything besides the request that decides the answer: part of the cache key.

        Called after :meth:`start`. The default is the backend's name, the model name and
        ``runner.options``; override it (calling ``super().identity()``) to add what else tells
        one answer from another, such as the endpoint a model is served from, a deployment or
        region, or a hash of the weights or of the code that runs. Two runs whose identity and
        request are equal may be answered from the cache, so leaving something out means
        answering for something else. Values must be JSON-serialisable; the key is a sha256 of
        them, so nothing here is stored in clear, but keep secrets out all the same.
        """
        return {"backend": self.name, "model": self.model_name, "options": self.config.options}

    def describe(self) -> dict[str, Any]:
        """Facts for the run manifest (never secrets)."""
        return {"backend": self.name, "model": self.model_name, "mode": self.mode}
