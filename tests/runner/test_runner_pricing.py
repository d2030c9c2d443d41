"""The price table, snapshot matching, overrides, and cost arithmetic."""

from __future__ import annotations

import pytest

from lm_eval_so._internal.common.config import Pricing, RunnerConfig
from lm_eval_so._internal.common.records import Usage
from lm_eval_so._internal.models.pricing import PRICES, lookup_price
from lm_eval_so._internal.runner import cost_for

USAGE = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, total_tokens=2_000_000)


def price(model: str) -> tuple[float, float] | None:
    found = lookup_price(model)
    return None if found is None else (found.prompt_per_1m, found.completion_per_1m)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4", "gpt-4"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
        ("gpt-4-1106-preview", "gpt-4-1106-preview"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("o1-mini-2024-09-12", "o1-mini"),
        ("o3-mini", "o3-mini"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("GPT-4o", "gpt-4o"),
    ],
)
def test_snapshots_resolve_to_their_family(model: str, family: str) -> None:
    assert price(model) == PRICES[family]


def test_mini_is_never_priced_as_its_bigger_sibling() -> None:
    assert price("gpt-4o-mini") != price("gpt-4o")
    assert price("gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]
    assert price("gpt-4.1-nano-2025-04-14") == PRICES["gpt-4.1-nano"]


def test_a_snapshot_with_its_own_price_wins() -> None:
    assert price("gpt-4o-2024-05-13") == (5.00, 15.00)


@pytest.mark.parametrize(
    "model", ["llama-3-8b", "gpt-4o-realtime-preview", "ft:gpt-4o-mini:org::abc", "gpt-4ox", ""]
)
def test_unknown_models_have_no_price(model: str) -> None:
    assert price(model) is None


def test_cost_uses_the_table() -> None:
    config = RunnerConfig(model="gpt-4o-mini")
    usage = Usage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500)
    assert cost_for(config, usage, "openai") == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


def test_reported_model_is_priced_before_the_configured_one() -> None:
    config = RunnerConfig(model="my-deployment")
    assert cost_for(config, USAGE, "openai", model="gpt-4o-2024-08-06") == pytest.approx(12.5)
    assert cost_for(config, USAGE, "openai", model="something-else") is None


def test_configured_pricing_overrides_everything() -> None:
    pricing = Pricing(prompt_per_1m=1.0, completion_per_1m=2.0)
    for backend in ("openai", "llamacpp", "python"):
        config = RunnerConfig(backend=backend, model="gpt-4", pricing=pricing)
        assert cost_for(config, USAGE, backend) == pytest.approx(3.0)


def test_local_backends_cost_nothing_and_unknown_models_cost_unknown() -> None:
    assert cost_for(RunnerConfig(backend="llamacpp"), USAGE, "llamacpp") == 0.0
    assert cost_for(RunnerConfig(backend="python"), USAGE, "python") == 0.0
    assert cost_for(RunnerConfig(model="mystery-model"), USAGE, "openai") is None
    assert cost_for(RunnerConfig(model=None), USAGE, "openai") is None


def test_backend_classes_say_whether_they_are_local() -> None:
    from lm_eval_so._internal.models.backends.llamacpp import LlamaCppBackend
    from lm_eval_so._internal.models.backends.openai import OpenAIBackend

    assert cost_for(RunnerConfig(), USAGE, LlamaCppBackend) == 0.0
    assert cost_for(RunnerConfig(model="gpt-4"), USAGE, OpenAIBackend) == pytest.approx(90.0)
