"""The one exception tree of lm-eval-so.

Every error a user can cause derives from :class:`LmEvalError` and carries a message that
names where the problem is (file, line and field, or the sample and the cause). The CLI prints
``str(error)`` and exits with code 2; it never shows a traceback for these.

    LmEvalError
    ├── ConfigError          pipeline.yaml is wrong (file:line: field: problem)
    ├── DatasetError         a source file is wrong (file:row: column: problem)
    ├── ArtifactError        a workspace artifact is missing or corrupt
    │   └── CacheMiss        strict replay (cache: read_only) found no stored answer
    ├── BackendError         a backend cannot be set up (missing key, missing extra, bad model)
    ├── PluginError          a named backend/metric/reporter/source is not installed
    │   └── ConformanceError a plugin breaks its contract (lm_eval_so.plugins.testing)
    ├── GateFailed           a pytest item's gate did not pass
    ├── PipelineFailed       a pytest item's pipeline could not run, or was stopped early
    └── ModelCallError       one model call failed: recorded as that sample's error
        ├── APIConnectionError       no reply (refused, reset, closed mid-reply, DNS)
        │   └── APITimeoutError      no reply within runner.timeout_s
        ├── APIStatusError           an HTTP error status, or an error object in a 200
        │   ├── BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403,
        │   │   NotFoundError 404, ConflictError 409, UnprocessableEntityError 422,
        │   └── RateLimitError 429, InternalServerError 5xx
        ├── InvalidResponse          a reply that is not a completion (not JSON, no choices)
        ├── UnusableAnswer           the model answered (tokens spent) but nothing scorable
        │   ├── EmptyAnswer          the model returned no content at all
        │   └── InvalidAnswer        the answer is not storable text (a lone surrogate)
        └── AppExit                  the python app under test raised SystemExit

``GateFailed`` and ``ConformanceError`` are also ``AssertionError``s, so pytest reports them as
failed assertions, not as errors in the code under test.

The model-call errors are named as the official OpenAI SDK names them, so ``results.jsonl``
reads the same whichever client made the call. Only these and the engine's retry policy
decide what is retried (``status_code`` 408/409/429/5xx, connection errors, timeouts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import Usage


class LmEvalError(Exception):
    """Base class of every error lm-eval-so raises on purpose."""


class ConfigError(LmEvalError):
    """A pipeline configuration is invalid. The message names file, line and field."""


class DatasetError(LmEvalError):
    """A dataset source is malformed. The message names file, row and column."""


class ArtifactError(LmEvalError):
    """A workspace artifact (dataset, results, scores, manifest) is missing or corrupt."""


class BackendError(LmEvalError):
    """A backend cannot be used: missing API key, missing extra, model not found."""


class PluginError(LmEvalError):
    """A plugin name cannot be resolved; the message lists what is installed."""


class ConformanceError(PluginError, AssertionError):
    """A plugin breaks its contract; the message says which rule and how."""


class GateFailed(LmEvalError, AssertionError):
    """A gate (a threshold or a run limit) did not pass. ``str()`` is the whole readable report."""


class PipelineFailed(LmEvalError):
    """A pipeline under pytest could not run at all (missing key, unreachable backend, bad data),
    or was stopped early, so none of its gates can pass."""


class CacheMiss(ArtifactError):
    """Strict replay (``runner.cache: read_only``) found no stored answer for a request."""


class ModelCallError(LmEvalError):
    """One model call failed. ``status_code`` is the HTTP status when there was one;
    ``retry_after`` the seconds the server asked to wait; ``attempts`` the requests it took."""

    status_code: int | None = None
    retry_after: float | None = None
    attempts: int | None = None


class UnusableAnswer(ModelCallError):
    """The model answered, so tokens were spent, but gave nothing that can be scored.

    ``usage`` is the reply's (None: the reply gave none, so tokens and cost are unknown, never
    0) and ``model`` the name the server reported; the result keeps both, because the call was
    billed. ``finish_reason`` says why, when the server said.
    """

    def __init__(
        self,
        message: str,
        *,
        finish_reason: str | None = None,
        usage: Usage | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message)
        self.finish_reason = finish_reason
        self.usage = usage
        self.model = model


class APIConnectionError(ModelCallError):
    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    def __init__(self, message: str = "Request timed out.") -> None:
        super().__init__(message)


class APIStatusError(ModelCallError):
    def __init__(self, message: str, status_code: int | None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class BadRequestError(APIStatusError): ...


class AuthenticationError(APIStatusError): ...


class PermissionDeniedError(APIStatusError): ...


class NotFoundError(APIStatusError): ...


class ConflictError(APIStatusError): ...


class UnprocessableEntityError(APIStatusError): ...


class RateLimitError(APIStatusError): ...


class InternalServerError(APIStatusError): ...


class InvalidResponse(ModelCallError):
    """The server replied, but not with a completion: a body that is not JSON, no choices."""


class EmptyAnswer(UnusableAnswer):
    """The model gave no answer at all: ``content: null`` with no text, or ``None``.

    That is a failed call (an error record with its ``finish_reason``, counted in
    ``error_rate``), not an empty string scored as an answer. A model that answers ``""`` did
    answer, and its empty answer is scored like any other.
    """

    def __init__(
        self,
        finish_reason: str | None,
        what: str | None = None,
        *,
        usage: Usage | None = None,
        model: str | None = None,
    ) -> None:
        reason = f"finish_reason={finish_reason!r}" if finish_reason else "no finish_reason"
        what = what or "the model returned no content"
        super().__init__(f"{what} ({reason})", finish_reason=finish_reason, usage=usage, model=model)


class InvalidAnswer(UnusableAnswer):
    """The answer cannot be stored as text: not a ``str``, or not valid Unicode.

    A lone UTF-16 surrogate (``"\\ud800"`` in a JSON reply, or a Python app returning one)
    cannot be written as UTF-8. It is this sample's error; the run goes on.
    """


class AppExit(ModelCallError):
    """The app under test raised ``SystemExit`` (or another non-``Exception``) for one sample."""

    def __init__(self, spec: str, exc: BaseException) -> None:
        super().__init__(f"{spec} raised {type(exc).__name__}({exc!s}); the run went on without it")


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AppExit",
    "ArtifactError",
    "AuthenticationError",
    "BackendError",
    "BadRequestError",
    "CacheMiss",
    "ConfigError",
    "ConflictError",
    "DatasetError",
    "EmptyAnswer",
    "InternalServerError",
    "InvalidAnswer",
    "InvalidResponse",
    "LmEvalError",
    "ModelCallError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "RateLimitError",
    "UnprocessableEntityError",
    "UnusableAnswer",
]
