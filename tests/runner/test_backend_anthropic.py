"""The anthropic backend: the official SDK against a loopback fake of the Messages API.

Each test runs the real runner (in process, or the CLI in a subprocess) and asserts what a user
reads: the request the SDK put on the wire, the score, tokens and cost, retries and their
spacing, error records, cache replays, and the one-line messages of a refused configuration.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import make_config, run, sample

from fake_anthropic.fixtures import shared_server
from fake_anthropic.server import AnthropicServerThread, FakeAnthropicConfig, serve_in_thread
from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.common.records import DatasetSample, Message, RunResult
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.models.backends.anthropic import (
    DEFAULT_API_VERSION,
    DEFAULT_MAX_TOKENS,
    AnthropicBackend,
    claude_price,
)
from lm_eval_so._internal.models.base import BackendContext
from lm_eval_so._internal.models.lookup import get_backend
from plugin_fake_dists import write_dist

KEY = "sk-ant-test-0123456789abcdef"
MODEL = "claude-haiku-4-5"  # $1 / $5 per 1M tokens in the table
REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "example_suites" / "local_qa" / "questions.csv"
ENTRY_POINT = "lm_eval_so._internal.models.backends.anthropic:AnthropicBackend"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def backend_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``backend: anthropic`` resolvable here and in subprocesses; the env those need.

    Until the package's own entry point is installed, a distribution on a temporary path
    declares it, exactly as a plugin would (found in process and, via PYTHONPATH, by the CLI).
    """
    if "anthropic" in registry.names("backends"):
        yield {}
        return
    root = tmp_path_factory.mktemp("anthropic_dist")
    write_dist(root, "lm-eval-so-anthropic-preview", "0.0.0", {"backends": {"anthropic": ENTRY_POINT}})
    sys.path.insert(0, str(root))
    registry.refresh()
    try:
        yield {"PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    finally:
        sys.path.remove(str(root))
        importlib.invalidate_caches()
        registry.refresh()


@pytest.fixture(autouse=True)
def anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def fake_anthropic() -> Iterator[AnthropicServerThread]:
    server = shared_server()
    server.reset()
    yield server
    server.reset()


# --------------------------------------------------------------------------- helpers


def claude_config(base_dir: Path, base_url: str | None, **runner: Any) -> Any:
    settings = {"backend": "anthropic", "model": MODEL, "base_url": base_url, "max_retries": 0, **runner}
    return make_config(base_dir, **settings)


def run_one(
    tmp_path: Path, server: AnthropicServerThread, item: DatasetSample | None = None, **runner: Any
) -> RunResult:
    config = claude_config(tmp_path, runner.pop("base_url", server.base_url), **runner)
    _, [result] = run(config, [item or sample("s0", "question 0")], tmp_path / "results.jsonl")
    return result


def qa_rows() -> list[dict[str, str]]:
    with QUESTIONS.open(newline="") as handle:
        return list(csv.DictReader(handle))


def qa_answers(wrong_topic: str = "animals") -> dict[str, str]:
    """The fake's answers: right for every question, except the ``wrong_topic`` ones."""
    return {r["question"]: ("no idea" if r["topic"] == wrong_topic else r["answer"]) for r in qa_rows()}


def qa_pipeline(folder: Path, base_url: str, runner: str = "", name: str = "claude_qa") -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: {name}\nworkspace: ws\n"
        f"generator:\n  source: {QUESTIONS}\n  fields: {{id: qid, input: question, expected: answer}}\n"
        "  prompt:\n    system: Answer with one or two words, nothing else.\n    template: '{input}'\n"
        f"runner:\n  backend: anthropic\n  model: {MODEL}\n  base_url: {base_url}\n"
        "  params: {max_tokens: 16}\n"
        f"{runner}"
        "evaluator:\n  metrics:\n    - type: exact_match\n      normalize: [strip, lower, punctuation]\n"
    )
    return path


def cli(
    backend_env: dict[str, str], *args: str | Path, cwd: Path, key: str | None = KEY, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "LM_EVAL_SO_", "PYTEST_"))
    }
    full = {**clean, **backend_env, **({"ANTHROPIC_API_KEY": key} if key else {}), **env}
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so", *map(str, args)],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=300,
    )


def run_dir_of(proc: subprocess.CompletedProcess[str]) -> Path:
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def results_of(run_dir: Path) -> list[RunResult]:
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    return [RunResult.model_validate_json(line) for line in lines if line.strip()]


def summary_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


# --------------------------------------------------------------------------- the request


def test_the_request_the_sdk_puts_on_the_wire(fake_anthropic: AnthropicServerThread, tmp_path: Path) -> None:
    fake_anthropic.configure(answers={"capital of France": "Paris"})
    item = DatasetSample(
        id="fr",
        input="What is the capital of France?",
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="user", content="What is the capital of Italy?"),
            Message(role="assistant", content="Rome"),
            Message(role="system", content="One word."),
            Message(role="user", content="What is the capital of France?"),
        ],
    )
    result = run_one(tmp_path, fake_anthropic, item, params={"stop": ["###"]})
    assert result.ok and result.output == "Paris", result

    [sent] = fake_anthropic.requests()
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {KEY}"  # the SDK 2.x sends the key as a bearer token
    assert sent.headers["anthropic-version"] == DEFAULT_API_VERSION == "2026-10-21"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-stainless-retry-count"] == "0"  # the SDK does not retry behind our back
    assert sent.body == {
        "model": MODEL,
        "max_tokens": DEFAULT_MAX_TOKENS,  # the API requires it; 1024 when params.max_tokens is unset
        "system": "Be brief.\n\nOne word.",  # every system message, top level, in order
        "messages": [
            {"role": "user", "content": "What is the capital of Italy?"},
            {"role": "assistant", "content": "Rome"},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "stop_sequences": ["###"],
    }


def test_max_tokens_and_stop_are_honoured_and_reported(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(answers={"long": "one two three four five", "stop": "alpha END beta"})
    config = claude_config(tmp_path, fake_anthropic.base_url, params={"max_tokens": 3, "stop": ["END"]})
    _, results = run(config, [sample("a", "long"), sample("b", "stop")], tmp_path / "r.jsonl")
    by_id = {r.sample_id: r for r in results}
    assert (by_id["a"].output, by_id["a"].finish_reason) == ("one two three", "max_tokens")
    assert (by_id["b"].output, by_id["b"].finish_reason) == ("alpha ", "stop_sequence")
    assert {r.body["max_tokens"] for r in fake_anthropic.requests()} == {3}


def test_extra_body_is_sent_as_written_and_sampling_params_with_the_old_version(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    params = {"temperature": 0, "top_p": 0.9, "extra_body": {"top_k": 5, "metadata": {"user_id": "eval"}}}
    result = run_one(tmp_path, fake_anthropic, params=params, options={"api_version": "2023-06-01"})
    assert result.ok, result
    [sent] = fake_anthropic.requests()
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert {k: sent.body[k] for k in ("temperature", "top_p", "top_k", "metadata")} == {
        "temperature": 0,
        "top_p": 0.9,
        "top_k": 5,
        "metadata": {"user_id": "eval"},
    }


def test_the_servers_400_is_that_samples_error_and_not_retried(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    # top_k through extra_body is the user's explicit word: sent, and the 2026-10-21 API refuses it.
    result = run_one(tmp_path, fake_anthropic, params={"extra_body": {"top_k": 5}}, max_retries=2)
    assert result.error is not None and result.error.type == "BadRequestError"
    assert result.error.status_code == 400 and "top_k: Extra inputs are not permitted" in result.error.message
    assert result.attempts == 1 and len(fake_anthropic.requests()) == 1


# --------------------------------------------------------------------------- refused configurations


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"seed": 7}, "runner.params.seed: the Anthropic Messages API has no seed parameter"),
        ({"presence_penalty": 0.5}, "runner.params.presence_penalty"),
        ({"frequency_penalty": 0.5}, "runner.params.frequency_penalty"),
        (
            {"temperature": 0},
            "runner.params.temperature: Anthropic API version 2026-10-21 rejects temperature",
        ),
        ({"top_p": 0.5}, "runner.options.api_version: '2023-06-01'"),
        (
            {"stop": ["\n"]},
            "runner.params.stop: the Anthropic API refuses a stop sequence that is empty or only",
        ),
    ],
)
def test_a_param_anthropic_cannot_take_is_refused_before_any_call(
    params: dict[str, Any], named: str, fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    config = claude_config(tmp_path, fake_anthropic.base_url, params=params)
    with pytest.raises(BackendError, match=r"^runner\.params") as caught:
        get_backend(config.runner, tmp_path, 0)
    assert named in str(caught.value)
    assert fake_anthropic.requests(path=None) == []


def test_completion_mode_is_refused(tmp_path: Path) -> None:
    config = claude_config(tmp_path, None, mode="completion")
    with pytest.raises(BackendError, match="Anthropic has no text-completion endpoint"):
        get_backend(config.runner, tmp_path, 0)


def test_missing_key_is_named_exit_2_and_no_run(backend_env: dict[str, str], tmp_path: Path) -> None:
    pipeline = qa_pipeline(tmp_path, "http://127.0.0.1:9")
    for args in (("run", pipeline), ("run", "--dry-run", pipeline)):
        proc = cli(backend_env, *args, cwd=tmp_path, key=None)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        said = proc.stdout + proc.stderr  # --dry-run reports on stdout, a run on stderr
        assert "the environment variable ANTHROPIC_API_KEY is not set" in said and "Traceback" not in said
        assert not (tmp_path / "ws" / "runs").exists()
    # A variable the pipeline names is the one asked for.
    pipeline.write_text(pipeline.read_text().replace("  params:", "  api_key_env: CLAUDE_KEY\n  params:"))
    proc = cli(backend_env, "run", pipeline, cwd=tmp_path)
    assert proc.returncode == 2 and "the environment variable CLAUDE_KEY is not set" in proc.stderr
    assert not (tmp_path / "ws" / "runs").exists()


def test_the_openai_default_key_variable_is_never_read_for_anthropic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_so._internal.common.config import RunnerConfig
    from lm_eval_so._internal.models.backends.anthropic import credential

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret")
    # A run's resolved pipeline.yaml writes every default out, the OpenAI variable's name too.
    spelled_out = RunnerConfig.model_validate({"backend": "anthropic", "api_key_env": "OPENAI_API_KEY"})
    assert credential(spelled_out) == (KEY, "api_key")
    named = RunnerConfig.model_validate({"backend": "anthropic", "api_key_env": "MY_CLAUDE_KEY"})
    monkeypatch.setenv("MY_CLAUDE_KEY", "sk-ant-mine")
    assert credential(named) == ("sk-ant-mine", "api_key")


def test_the_auth_token_and_base_url_variables_are_read(
    fake_anthropic: AnthropicServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "gateway-token")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    result = run_one(tmp_path, fake_anthropic, base_url=None)
    assert result.ok, result
    assert fake_anthropic.requests()[0].headers["authorization"] == "Bearer gateway-token"


def test_a_base_url_with_v1_says_which_url_was_not_found(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    result = run_one(tmp_path, fake_anthropic, base_url=f"{fake_anthropic.base_url}/v1")
    assert result.error is not None and result.error.type == "NotFoundError"
    assert f"(POST {fake_anthropic.base_url}/v1/v1/messages)" in result.error.message


# --------------------------------------------------------------------------- replies


def test_the_answer_is_the_text_blocks_joined(fake_anthropic: AnthropicServerThread, tmp_path: Path) -> None:
    fake_anthropic.configure(blocks="mixed", answers={"question": "Paris is the capital"})
    result = run_one(tmp_path, fake_anthropic)
    assert result.ok and result.output == "Paris is the capital"  # thinking and tool_use left out


@pytest.mark.parametrize(
    ("blocks", "finish", "words"),
    [
        ("tool_use", "tool_use", "answered with tool_use blocks and no text"),
        ("empty", "end_turn", "no content"),
    ],
)
def test_no_text_block_is_an_empty_answer_with_its_stop_reason(
    blocks: str, finish: str, words: str, fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(blocks=blocks)
    result = run_one(tmp_path, fake_anthropic)
    assert result.error is not None and result.error.type == "EmptyAnswer"
    assert words in result.error.message and result.finish_reason == finish
    # The call was answered and billed: the reply's usage is kept, not 0 tokens and $0.
    assert result.usage is not None and result.usage.prompt_tokens > 0


@pytest.mark.parametrize(
    ("reply", "error_type", "words"),
    [
        ("<html>Bad gateway</html>", "InvalidResponse", "not JSON: '<html>Bad gateway</html>'"),
        (
            json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            "InternalServerError",
            "Error code: 529 - Overloaded",
        ),
        (json.dumps({"id": "msg_1", "type": "message"}), "InvalidResponse", "without a content list"),
    ],
)
def test_odd_replies_are_that_samples_error_with_the_servers_words(
    reply: str, error_type: str, words: str, fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(raw_reply=reply)
    result = run_one(tmp_path, fake_anthropic)
    assert result.error is not None and result.error.type == error_type
    assert words in result.error.message


# --------------------------------------------------------------------------- usage and cost


def test_cache_tokens_are_prompt_tokens_and_a_snapshot_is_priced_as_its_model(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(
        answers={"question": "one two"},
        model="claude-haiku-4-5-20251001",
        cache_read_tokens=100,
        cache_creation_tokens=20,
    )
    result = run_one(tmp_path, fake_anthropic, model="claude-haiku-4-5")
    assert result.ok and result.usage is not None
    # 2 words asked + 100 read from the prompt cache + 20 written to it; 2 words answered.
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        122,
        2,
        124,
    )
    assert result.model == "claude-haiku-4-5-20251001"  # the server's name for it, priced as its model
    assert result.cost_usd == pytest.approx((122 * 1.00 + 2 * 5.00) / 1e6)


@pytest.mark.parametrize("usage", ["omit", "null"])
def test_missing_usage_is_unknown_not_zero(
    usage: str, fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(usage=usage)
    result = run_one(tmp_path, fake_anthropic)
    assert result.ok and result.usage is None and result.cost_usd is None


def test_an_unknown_model_costs_unknown_and_runner_pricing_wins(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    unknown = run_one(tmp_path, fake_anthropic, model="claude-opus-4-9")
    assert unknown.ok and unknown.usage is not None and unknown.cost_usd is None
    priced = run_one(tmp_path / "p", fake_anthropic, pricing={"prompt_per_1m": 1e6, "completion_per_1m": 0})
    assert priced.usage is not None and priced.cost_usd == pytest.approx(priced.usage.prompt_tokens)


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("claude-opus-4-5", (5.0, 25.0)),
        ("claude-opus-4-5-20251101", (5.0, 25.0)),
        ("claude-opus-4-1-20250805", (15.0, 75.0)),
        ("claude-opus-4-20250514", (15.0, 75.0)),
        ("claude-opus-4-0", (15.0, 75.0)),
        ("claude-opus-4@20250514", (15.0, 75.0)),
        ("claude-sonnet-4-20250514", (3.0, 15.0)),
        ("claude-3-7-sonnet-latest", (3.0, 15.0)),
        ("claude-3-5-sonnet-20241022", (3.0, 15.0)),
        ("claude-3-5-haiku-20241022", (0.8, 4.0)),
        ("claude-3-haiku-20240307", (0.25, 1.25)),
        ("Claude-Haiku-4-5-20251001", (1.0, 5.0)),
        ("claude-sonnet-5-5", (2.0, 10.0)),
        ("claude-opus-4-9", None),  # not "claude-opus-4": another model, another price
        ("claude-sonnet-4-5-preview", None),
        ("claude-fable-5-2", None),
        ("gpt-4o", None),
    ],
)
def test_the_price_table_resolves_aliases_and_snapshots_only(
    model: str, price: tuple[float, float] | None
) -> None:
    found = claude_price(model)
    assert (None if found is None else (found.prompt_per_1m, found.completion_per_1m)) == price
    assert AnthropicBackend.price(model) == found


# --------------------------------------------------------------------------- retries and errors


@pytest.mark.parametrize(("status", "error_type"), [(429, "RateLimitError"), (529, "InternalServerError")])
def test_a_rate_limit_or_overload_is_retried_after_the_servers_delay(
    status: int, error_type: str, fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(fail_first=1, fail_status=status, retry_after=1)
    result = run_one(tmp_path, fake_anthropic, max_retries=2)
    assert result.ok and result.attempts == 2, result
    first, second = fake_anthropic.requests()
    assert second.at - first.at >= 1.0  # the server's retry-after, not a short backoff
    # Out of retries, the record says what the server said.
    fake_anthropic.reset()
    fake_anthropic.configure(fail_first=5, fail_status=status, retry_after=0)
    failed = run_one(tmp_path / "again", fake_anthropic, max_retries=1)
    assert failed.error is not None and failed.error.type == error_type and failed.error.status_code == status
    assert failed.attempts == 2 and len(fake_anthropic.requests()) == 2
    assert ("overloaded_error" if status == 529 else "rate_limit_error") in failed.error.message


def test_a_wrong_key_is_an_error_record_and_not_retried(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(required_key="sk-ant-the-right-one")
    result = run_one(tmp_path, fake_anthropic, max_retries=3)
    assert result.error is not None and result.error.type == "AuthenticationError"
    assert result.error.status_code == 401 and "authentication_error" in result.error.message
    assert KEY not in result.error.message
    assert result.attempts == 1 and len(fake_anthropic.requests()) == 1


def test_the_timeout_is_enforced_per_attempt_and_drops_are_counted(
    fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(latency_s=3)
    slow = run_one(tmp_path, fake_anthropic, timeout_s=0.3)
    assert slow.error is not None and slow.error.type == "APITimeoutError" and slow.attempts == 1
    fake_anthropic.reset()
    fake_anthropic.configure(drop_first=100)
    dropped = run_one(tmp_path / "d", fake_anthropic, max_retries=2)
    assert dropped.error is not None and dropped.error.type == "APIConnectionError"
    assert dropped.attempts == len(fake_anthropic.requests()) == 3  # 1 + max_retries, none hidden


# --------------------------------------------------------------------------- whole runs


def test_qa_set_score_usage_and_cost(
    backend_env: dict[str, str], fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(answers=qa_answers())
    rows = qa_rows()
    proc = cli(backend_env, "run", qa_pipeline(tmp_path, fake_anthropic.base_url), cwd=tmp_path)
    summary = summary_of(run_dir_of(proc))
    right = sum(r["topic"] != "animals" for r in rows)
    assert summary["metrics"]["exact_match"]["mean"] == right / len(rows) == 30 / 35
    assert summary["n_errors"] == 0 and len(fake_anthropic.requests()) == len(rows)
    usage = summary["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert summary["cost_usd"] == pytest.approx(
        (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 5.0) / 1e6
    )
    sent = fake_anthropic.requests()[0].body
    assert sent["system"] == "Answer with one or two words, nothing else." and sent["max_tokens"] == 16


def test_twenty_percent_injected_errors(
    backend_env: dict[str, str], fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    # Every 5th request is a 500; one call at a time, so each failure's retry is the next request.
    fake_anthropic.configure(answers=qa_answers(), fail_every=5, fail_status=500)
    pipeline = qa_pipeline(tmp_path, fake_anthropic.base_url, "  max_retries: 2\n  concurrency: 1\n")
    run_dir = run_dir_of(cli(backend_env, "run", pipeline, cwd=tmp_path))
    summary, results = summary_of(run_dir), results_of(run_dir)
    requests = len(fake_anthropic.requests())
    retries = sum(r.attempts for r in results) - len(results)
    figures = {
        "accuracy": summary["metrics"]["exact_match"]["mean"],
        "requests": requests,
        "retries": retries,
    }
    print(f"20% injected 500s, max_retries 2: {figures}, errors {summary['n_errors']}")
    assert figures == {"accuracy": 30 / 35, "requests": 43, "retries": 8}
    assert summary["n_errors"] == 0 and requests == sum(r.attempts for r in results)


def test_cache_identity_endpoint_and_api_version(
    backend_env: dict[str, str], fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(answers=qa_answers())
    pipeline = qa_pipeline(tmp_path, fake_anthropic.base_url, "  cache: read_write\n")
    run_dir_of(cli(backend_env, "run", pipeline, cwd=tmp_path))
    asked = len(fake_anthropic.requests())

    again = run_dir_of(cli(backend_env, "run", pipeline, cwd=tmp_path))  # the same config replays
    assert all(r.cached for r in results_of(again)) and len(fake_anthropic.requests()) == asked

    with serve_in_thread(FakeAnthropicConfig(answers=qa_answers(wrong_topic="colors"))) as other:
        qa_pipeline(tmp_path, other.base_url, "  cache: read_write\n")  # another endpoint: a miss
        moved = run_dir_of(cli(backend_env, "run", pipeline, cwd=tmp_path))
        assert len(other.requests()) == asked and not any(r.cached for r in results_of(moved))

    # Another API version is another request: asked again.
    qa_pipeline(
        tmp_path, fake_anthropic.base_url, "  cache: read_write\n  options: {api_version: '2023-06-01'}\n"
    )
    versioned = run_dir_of(cli(backend_env, "run", pipeline, cwd=tmp_path))
    assert not any(r.cached for r in results_of(versioned)) and len(fake_anthropic.requests()) == 2 * asked


def test_identity_names_endpoint_version_and_default_max_tokens(tmp_path: Path) -> None:
    def identity(**runner: Any) -> dict[str, Any]:
        config = claude_config(tmp_path, runner.pop("base_url", "http://127.0.0.1:1"), **runner)
        return AnthropicBackend(config.runner, BackendContext(tmp_path, 0)).identity()

    base = identity()
    assert base == {
        "backend": "anthropic",
        "model": MODEL,
        "options": {},
        "endpoint": "http://127.0.0.1:1",
        "api_version": "2026-10-21",
        "default_max_tokens": 1024,
    }
    assert identity(base_url="http://127.0.0.1:2")["endpoint"] != base["endpoint"]
    assert identity(options={"api_version": "2023-06-01"})["api_version"] == "2023-06-01"
    assert identity(base_url=None)["endpoint"] == "https://api.anthropic.com:443"


def test_llm_judge_through_the_anthropic_backend(
    backend_env: dict[str, str], fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    # Judge prompts carry "Answer to grade:" and the answer; the questions do not.
    fake_anthropic.configure(
        answers={
            "Answer to grade:\nParis": "Names the city.\nSCORE: 5",
            "Answer to grade:\nLyon": "Wrong city.\nSCORE: 1",
            "France": "Paris",
            "Japan": "Lyon",
        }
    )
    (tmp_path / "data.csv").write_text(
        "id,input,expected\nfr,What is the capital of France?,Paris\njp,What is the capital of Japan?,Tokyo\n"
    )
    judge = f"backend: anthropic, model: {MODEL}, base_url: '{fake_anthropic.base_url}'"
    (tmp_path / "pipeline.yaml").write_text(
        "name: judged\nworkspace: ws\ngenerator: {source: data.csv}\n"
        f"runner: {{backend: anthropic, model: {MODEL}, base_url: '{fake_anthropic.base_url}'}}\n"
        "evaluator:\n  metrics:\n    - type: llm_judge\n      rubric: The answer names the capital city.\n"
        f"      judge: {{{judge}}}\n      pass_score: 4\n"
    )
    run_dir = run_dir_of(cli(backend_env, "run", tmp_path / "pipeline.yaml", cwd=tmp_path))
    summary = summary_of(run_dir)
    assert summary["metrics"]["llm_judge"]["mean"] == pytest.approx(0.5)  # grades 5 and 1 on 1..5
    assert summary["judge_calls"] == 2
    graded = [r for r in fake_anthropic.requests() if "Answer to grade:" in r.body["messages"][0]["content"]]
    assert len(graded) == 2 and all("system" not in r.body and r.body["max_tokens"] == 1024 for r in graded)
    usage = summary["judge_usage"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 5.0) / 1e6
    assert summary["judge_cost_usd"] == pytest.approx(expected) and expected > 0

    # Re-scoring from the run's resolved copy asks the same judge again.
    rescore = subprocess.run(
        [sys.executable, "-m", "lm_eval_so._internal.evaluator.cli", run_dir],
        capture_output=True, text=True, timeout=300,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}, **backend_env},
    )  # fmt: skip
    assert rescore.returncode == 0, rescore.stderr
    assert summary_of(Path(rescore.stdout.strip().splitlines()[-1]))["judge_calls"] == 2


def test_the_example_suite_passes_against_the_fake(
    backend_env: dict[str, str], fake_anthropic: AnthropicServerThread, tmp_path: Path
) -> None:
    fake_anthropic.configure(answers={r["question"]: r["answer"] for r in qa_rows()})
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "PYTEST_"))}
    env = {**clean, **backend_env, "ANTHROPIC_BASE_URL": fake_anthropic.base_url, "ANTHROPIC_API_KEY": KEY}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
         REPO / "example_suites" / "anthropic", "--lm-eval-workspace", tmp_path],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert len(fake_anthropic.requests()) == 20  # limit: 20


def test_the_backend_follows_the_plugin_contract(
    fake_anthropic: AnthropicServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_so.plugins.testing import check_backend
    from lm_eval_so.plugins.testing import sample as contract_sample

    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    [completion] = check_backend(AnthropicBackend, [contract_sample("hello", system="Be kind.")], model=MODEL)
    assert completion.text == "echo: hello"
    # check_backend sets `api_key_env: null`: a gateway without keys gets a placeholder.
    assert fake_anthropic.requests()[0].headers["authorization"] == "Bearer no-key"


def test_the_sdk_is_imported_only_when_used_and_a_missing_extra_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code = "import sys, lm_eval_so._internal.models.backends.anthropic; print('anthropic' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
    monkeypatch.setattr(AnthropicBackend, "sdk", ("anthropic_sdk_not_installed", "anthropic"))
    with pytest.raises(BackendError, match=r"pip install 'lm-eval-so\[anthropic\]'"):
        get_backend(claude_config(tmp_path, None).runner, tmp_path, 0)
