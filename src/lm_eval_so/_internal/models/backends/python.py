"""The user's own application under test: ``runner.function: "package.module:function"``.

The function may be sync or async. It receives, by keyword, whichever of these its signature
names: ``input`` (the sample's input), ``prompt`` (the prompt text), ``messages`` (a list of
``{"role", "content"}`` dicts), ``sample`` (the :class:`DatasetSample`), ``metadata`` (dict) and
``params`` (the generation parameters, dict). A function with exactly one positional parameter
of another name gets ``input``. It returns a ``str``, a dict with ``output`` (and optionally
``usage``: ``{prompt_tokens, completion_tokens}``), or an object with an ``.output`` attribute.

Sync functions run on a thread pool sized to ``runner.concurrency`` so they never block the
event loop; if yours is not thread-safe, set ``concurrency: 1``.

The response cache is off for this backend unless the pipeline sets ``runner.cache`` (or the
command line ``--cache``): an app's answer can depend on files, services and modules that no
key can see, so replaying one is something to ask for. When asked, the key includes a hash of
the code (see :func:`~.python_support.code_identity`), so editing the app is a cache miss.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from ...common.config import RunnerConfig
from ...common.errors import AppExit
from ..base import Backend, BackendContext, Completion, Request
from .python_support import ARGUMENTS, call_plan, code_identity, import_function, to_completion


class PythonBackend(Backend):
    name: ClassVar[str] = "python"
    default_mode = "chat"
    is_local = True
    cache_by_default = False

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._function: Callable[..., Any] | None = None
        self._names: tuple[str, ...] = ()
        self._positional = False
        self._is_async = False
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        function = import_function(config.function, context.base_dir)
        call_plan(function, config.function or "")

    @property
    def model_name(self) -> str | None:
        return self.config.model or self.config.function

    async def start(self) -> None:
        spec = self.config.function or ""
        self._function = import_function(spec, self.context.base_dir)
        self._names, self._positional = call_plan(self._function, spec)
        self._is_async = _is_async(self._function)
        if not self._is_async:
            self._executor = ThreadPoolExecutor(
                max_workers=self.config.concurrency, thread_name_prefix="lm-eval-so-python"
            )

    async def complete(self, request: Request) -> Completion:
        if self._function is None:
            raise RuntimeError("PythonBackend.start() was not awaited")
        call = functools.partial(self._function, *self._args(request), **self._kwargs(request))
        try:
            if self._is_async:
                returned = await call()
            else:
                assert self._executor is not None
                returned = await asyncio.get_running_loop().run_in_executor(self._executor, call)
                if inspect.isawaitable(returned):  # a sync wrapper around a coroutine
                    returned = await returned
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise  # the user's Ctrl-C, or the run being cancelled: not the app's answer
        except BaseException as exc:
            if isinstance(exc, Exception):
                raise
            # sys.exit() (or another BaseException) inside the app under test must not end
            # the whole run: it is this sample's error.
            raise AppExit(self.config.function or "", exc) from exc
        return to_completion(returned, self.config.function or "")

    def _args(self, request: Request) -> tuple[Any, ...]:
        return (request.sample.input,) if self._positional else ()

    def _kwargs(self, request: Request) -> dict[str, Any]:
        return {name: ARGUMENTS[name](request) for name in self._names}

    async def aclose(self) -> None:
        if self._executor is not None:
            # A function still running after its timeout must not hold up the run's end.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def identity(self) -> dict[str, Any]:
        if self._function is None:
            raise RuntimeError("PythonBackend.start() was not awaited")
        code = code_identity(self._function, self.context.base_dir)
        return {**super().identity(), "function": self.config.function, "code_sha256": code}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "function": self.config.function}


def _is_async(function: Callable[..., Any]) -> bool:
    call = getattr(function, "__call__", None)  # noqa: B004  (callable objects with async __call__)
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)
