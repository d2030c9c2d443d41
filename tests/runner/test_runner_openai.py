"""The openai backend through the real SDK against the loopback fake server."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import KEY, openai_config, run, sample, samples

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.common.provenance import redactor_for
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.runner import check_backend


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def ids(results: list[RunResult]) -> list[tuple[str, int]]:
    return sorted((r.sample_id, r.repeat) for r in results)


def test_chat_mode_calls_chat_completions(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(answers={"capital of France": "Paris"})
    config = openai_config(tmp_path, fake_openai.base_url)
    items = [
        sample("fr", "What is the capital of France?", system="Be brief."),
        sample("x", "hi there"),
    ]

    stats, results = run(config, items, tmp_path / "results.jsonl")

    by_id = {r.sample_id: r for r in results}
    assert by_id["fr"].output == "Paris"
    assert by_id["x"].output == "echo: hi there"
    assert fake_openai.stats()["requests"] == {"/v1/chat/completions": 2}
    assert sorted(fake_openai.stats()["prompts"]) == ["What is the capital of France?", "hi there"]
    fr = by_id["fr"]
    # 8 prompt words (system + user), 1 completion word, priced as gpt-4o-mini.
    assert (fr.usage.prompt_tokens, fr.usage.completion_tokens, fr.usage.total_tokens) == (8, 1, 9)
    assert fr.cost_usd == pytest.approx((8 * 0.15 + 1 * 0.60) / 1e6)
    assert (fr.model, fr.finish_reason, fr.attempts, fr.error) == ("gpt-4o-mini", "stop", 1, None)
    assert fr.latency_ms > 0
    assert stats.n_requests == 2 and stats.n_errors == 0
    assert stats.usage.total_tokens == sum(r.usage.total_tokens for r in results)
    assert stats.cost_usd == pytest.approx(sum(r.cost_usd or 0 for r in results))
    assert stats.backend["base_url"].startswith(fake_openai.base_url)
    assert KEY not in str(stats.backend)


def test_completion_mode_calls_completions_with_the_prompt_text(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    config = openai_config(tmp_path, fake_openai.base_url, mode="completion", model="davinci-002")
    item = sample("a", "Q: 2+2?\nA:", system="Answer in digits.")

    _, [result] = run(config, [item], tmp_path / "results.jsonl")

    stats = fake_openai.stats()
    assert stats["requests"] == {"/v1/completions": 1}
    assert stats["prompts"] == ["Answer in digits.\n\nQ: 2+2?\nA:"]
    assert result.output == "echo: A:"
    assert result.cost_usd == pytest.approx(result.usage.total_tokens * 2.0 / 1e6)


def test_generation_params_reach_the_server(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(answers={"long": "one two three four five"})
    params = {"max_tokens": 2, "temperature": 0.0, "extra_body": {"top_k": 5}}
    config = openai_config(tmp_path, fake_openai.base_url, params=params)

    _, [result] = run(config, [sample("a", "long")], tmp_path / "results.jsonl")

    assert (result.output, result.finish_reason) == ("one two", "length")


def test_server_errors_become_results_and_the_run_finishes(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=2, fail_status=500)
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=0, concurrency=2)

    stats, results = run(config, samples(6), tmp_path / "results.jsonl")

    assert ids(results) == [(f"s{i}", 0) for i in range(6)]  # every sample exactly once
    errors = [r.error for r in results if r.error]
    assert len(errors) == 2 and stats.n_errors == 2
    assert {(e.type, e.status_code) for e in errors} == {("InternalServerError", 500)}
    assert all(r.output is None for r in results if r.error)


def test_a_failure_after_retries_records_its_attempts(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=3, fail_status=503, retry_after=0.01)
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=2)

    _, [result] = run(config, samples(1), tmp_path / "results.jsonl")

    assert result.error is not None and result.error.status_code == 503
    assert result.attempts == 3
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 3


def test_rate_limit_is_retried_honouring_retry_after(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=1, fail_status=429, retry_after=0.05)
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=2, concurrency=1)

    stats, results = run(config, samples(3), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert sorted(r.attempts for r in results) == [1, 1, 2]
    arrivals = fake_openai.stats()["arrivals"]
    assert len(arrivals) == 4  # one retry, made by the engine (the SDK's own are off)
    first, retry = [t for t, text in arrivals if text == arrivals[0][1]]
    assert retry - first >= 0.05  # Retry-After was honoured


@pytest.mark.parametrize(
    "fault",
    [
        {"required_key": "the-right-key-0000000000"},
        {"fail_first": 5, "fail_status": 500},
    ],
    ids=["401", "500"],
)
def test_a_key_echoed_in_an_error_never_lands_on_disk(
    fake_openai: ServerThread, tmp_path: Path, fault: dict[str, object]
) -> None:
    fake_openai.configure(echo_key_in_errors=True, **fault)
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=0)
    path = tmp_path / "results.jsonl"

    stats, results = run(config, samples(3), path, redactor=redactor_for(config, extra=(KEY,)))

    assert stats.n_errors == 3
    assert all(r.error and r.error.status_code in (401, 500) for r in results)
    assert all("***" in r.error.message for r in results if r.error)
    assert KEY not in path.read_text()


def test_a_hung_call_times_out_into_an_error(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(hang_first=1)
    config = openai_config(tmp_path, fake_openai.base_url, timeout_s=0.5, max_retries=0)

    stats, results = run(config, samples(3), tmp_path / "results.jsonl")

    assert ids(results) == [("s0", 0), ("s1", 0), ("s2", 0)]
    [error] = [r.error for r in results if r.error]
    assert error.type == "APITimeoutError"
    assert "no reply within 0.5 s (timeout_s" in error.message  # the limit hit, and where it is set
    assert stats.n_errors == 1


def test_a_malformed_body_becomes_an_error(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(malformed_first=1)
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=0, concurrency=1)

    stats, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert stats.n_errors == 1
    assert [r.error is None for r in results] == [False, True]


def test_calls_overlap_up_to_the_concurrency(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(latency_s=0.2)
    config = openai_config(tmp_path, fake_openai.base_url, concurrency=8)

    stats, results = run(config, samples(8), tmp_path / "results.jsonl")

    assert len(results) == 8
    # A functional check of concurrency, not a speed test: serial calls would take 1.6 s.
    assert stats.wall_seconds < 8 * 0.2
    assert fake_openai.stats()["max_in_flight"] >= 4


def test_concurrency_is_a_bound(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(latency_s=0.05)
    config = openai_config(tmp_path, fake_openai.base_url, concurrency=3)

    run(config, samples(12), tmp_path / "results.jsonl")

    assert 1 <= fake_openai.stats()["max_in_flight"] <= 3


def test_repeats_are_numbered(fake_openai: ServerThread, tmp_path: Path) -> None:
    config = openai_config(tmp_path, fake_openai.base_url, repeats=3)

    stats, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert ids(results) == [(s, r) for s in ("s0", "s1") for r in range(3)]
    assert stats.n_requests == 6


def test_results_are_on_disk_as_they_arrive(fake_openai: ServerThread, tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    seen: list[int] = []

    def on_result(result: RunResult) -> None:
        lines = path.read_text().splitlines()
        assert result.sample_id in lines[-1]
        seen.append(len(lines))

    config = openai_config(tmp_path, fake_openai.base_url, concurrency=2)
    run(config, samples(5), path, on_result=on_result)

    assert seen == [1, 2, 3, 4, 5]


def test_a_missing_key_is_a_backend_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(BackendError) as caught:
        check_backend(openai_config(tmp_path, "http://127.0.0.1:9/v1"))
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "runner.api_key_env" in message
    assert "api_key_env: null" in message


def test_a_custom_key_variable_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = openai_config(tmp_path, "http://127.0.0.1:9/v1", api_key_env="MY_SERVER_KEY")
    monkeypatch.delenv("MY_SERVER_KEY", raising=False)
    with pytest.raises(BackendError, match="MY_SERVER_KEY"):
        check_backend(config)


def test_a_keyless_server_needs_no_variable(
    fake_openai: ServerThread, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    config = openai_config(tmp_path, fake_openai.base_url, api_key_env=None)

    stats, _ = run(config, samples(1), tmp_path / "results.jsonl")

    assert stats.n_errors == 0


def test_the_model_is_required(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"runner\.model"):
        check_backend(openai_config(tmp_path, "http://127.0.0.1:9/v1", model=None))


def test_base_url_defaults_to_the_environment(
    fake_openai: ServerThread, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = openai_config(tmp_path, None)

    stats, _ = run(config, samples(2), tmp_path / "results.jsonl")

    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 2
    assert stats.backend["base_url"].startswith(fake_openai.base_url)


def test_an_unknown_model_has_unknown_cost(fake_openai: ServerThread, tmp_path: Path) -> None:
    config = openai_config(tmp_path, fake_openai.base_url, model="my-local-llm")

    stats, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert [r.cost_usd for r in results] == [None, None]
    assert stats.cost_usd is None


def test_configured_pricing_prices_any_model(fake_openai: ServerThread, tmp_path: Path) -> None:
    pricing = {"prompt_per_1m": 1.0, "completion_per_1m": 2.0}
    config = openai_config(tmp_path, fake_openai.base_url, model="my-local-llm", pricing=pricing)

    stats, [result] = run(config, samples(1), tmp_path / "results.jsonl")

    usage = result.usage
    assert result.cost_usd == pytest.approx((usage.prompt_tokens + 2 * usage.completion_tokens) / 1e6)
    assert stats.cost_usd == result.cost_usd
