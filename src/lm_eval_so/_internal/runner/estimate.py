"""What a run will cost before it runs, for ``--dry-run`` and the budget check.

Prompt tokens are estimated from the text (characters / 4), completion tokens from
``max_tokens`` (256 when unset): an upper-leaning guess, not a tokenizer's count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..common.config import PipelineConfig
from ..common.records import DatasetSample
from ..models.base import Request
from ..models.lookup import backend_class
from ..models.pricing import configured_pricing, tokens_cost
from .limits import completion_budget, estimate_prompt_tokens


@dataclass(frozen=True)
class Estimate:
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: no price known for the model


def estimate_run(config: PipelineConfig, samples: Iterable[DatasetSample]) -> Estimate:
    runner = config.runner
    params = runner.params.to_request()
    mode = runner.mode or "chat"
    prompt = requests = 0
    for sample in samples:
        prompt += estimate_prompt_tokens(Request(sample, 0, mode, params)) * runner.repeats
        requests += runner.repeats
    completion = completion_budget(params) * requests
    pricing = configured_pricing(runner, backend_class(config))
    cost = None if pricing is None else tokens_cost(prompt, completion, pricing)
    return Estimate(prompt, completion, cost)
