"""``runner.backend: reverse``: answers every prompt with its input reversed.

Deterministic and offline, which makes it a good stand-in for a model in tests. A real backend
would call a model in :meth:`complete`; everything around the call (concurrency, timing,
retries, cost, turning exceptions into error records) is the runner's job.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from lm_eval_so.plugins import Backend, Completion, Request, Usage


class ReverseOptions(BaseModel):
    """``runner.options`` for this backend; unknown keys are errors at load time."""

    model_config = ConfigDict(extra="forbid")

    upper: bool = False


class ReverseBackend(Backend):
    name = "reverse"
    default_mode = "chat"
    is_local = True  # free unless runner.pricing says otherwise
    Options = ReverseOptions

    async def complete(self, request: Request) -> Completion:
        assert isinstance(self.options, ReverseOptions)
        text = request.sample.input[::-1]
        if self.options.upper:
            text = text.upper()
        prompt_tokens, completion_tokens = len(request.prompt.split()), len(text.split())
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            finish_reason="stop",
            model=self.model_name or "reverse",
        )
