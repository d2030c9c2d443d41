"""litellm: LiteLLM's OpenAI-compatible route against the OpenAI fake (fake_openai) and its native
Anthropic route against a loopback Messages endpoint (fake_litellm), with no other network.

What LiteLLM sent (Anthropic's shape: top-level system, stop_sequences, x-api-key), the QA score,
usage and cost from LiteLLM's price map (unknown when it has none, never $0), retries after the
server's delay (LiteLLM's own off), errors in the one tree, refused parameters and modes, the
cache identity, the missing-key message, the judge, a run with 20% injected errors, the example
suite, and that importing and calling LiteLLM reaches nothing but loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure_litellm_support
import pytest
from azure_litellm_support import REPO, clean_env, qa_answers, qa_rows, run_python
from runner_helpers import KEY, make_config, run, sample

from fake_litellm.fixtures import fresh_server
from fake_litellm.server import API_KEY as ANTHROPIC_KEY
from fake_litellm.server import MessagesServer
from fake_openai.server import ServerThread, serve_in_thread
from lm_eval_so import run_pipeline
from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.models.backends.litellm import LiteLLMBackend, litellm_price, litellm_version
from lm_eval_so._internal.models.lookup import get_backend
from lm_eval_so._internal.models.pricing import tokens_cost

CLAUDE = "anthropic/claude-haiku-4-5"
pytestmark = pytest.mark.usefixtures("provider_backends")


@pytest.fixture
def fake_messages() -> Iterator[MessagesServer]:
    yield from fresh_server()


@pytest.fixture
def provider_backends() -> Iterator[dict[str, str]]:
    with azure_litellm_support.provider_backends() as env:
        yield env


@pytest.fixture(autouse=True)
def provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "ANTHROPIC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # LiteLLM's own variables
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)


def openai_route(server: ServerThread, **runner: Any) -> dict[str, Any]:
    return {"backend": "litellm", "model": "openai/gpt-4o-mini", "base_url": server.base_url, **runner}


def claude_route(server: MessagesServer, **runner: Any) -> dict[str, Any]:
    return {"backend": "litellm", "model": CLAUDE, "base_url": server.base_url, **runner}


def run_litellm(tmp_path: Path, runner: dict[str, Any], n: int = 1) -> list[RunResult]:
    config = make_config(tmp_path, **runner)
    items = [sample(f"s{i}", f"question {i}", system="Answer briefly.") for i in range(n)]
    _, results = run(config, items, tmp_path / "results.jsonl")
    return results


def qa_pipeline(folder: Path, runner: dict[str, Any], *, metrics: str | None = None) -> Path:
    metrics = metrics or "    - type: exact_match\n      normalize: [strip, lower, punctuation]\n"
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: litellm_qa\nworkspace: ws\n"
        f"generator:\n  source: {REPO / 'example_suites/local_qa/questions.csv'}\n"
        "  fields: {id: qid, input: question, expected: answer}\n"
        "  prompt: {system: 'Answer with one or two words, nothing else.'}\n"
        f"runner: {json.dumps(runner)}\n"
        f"evaluator:\n  metrics:\n{metrics}"
    )
    return path


def results_of(run_dir: Path | None) -> list[RunResult]:
    assert run_dir is not None
    return [RunResult.model_validate_json(line) for line in (run_dir / "results.jsonl").open()]


# --------------------------------------------------------------------------- the wire


def test_the_anthropic_route_sends_anthropics_shape(fake_messages: MessagesServer, tmp_path: Path) -> None:
    fake_messages.configure(answers={"question 0": "Paris. It is the capital."})
    params = {"temperature": 0, "top_p": 0.9, "max_tokens": 64, "stop": ["."], "extra_body": {"top_k": 5}}
    [result] = run_litellm(tmp_path, claude_route(fake_messages, params=params))
    assert result.ok and result.output == "Paris", result
    [request] = fake_messages.requests()
    assert request.path == "/v1/messages" and request.status == 200
    # The key from LiteLLM's own variable (api_key_env not set), Anthropic's headers.
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = request.body
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == [{"type": "text", "text": "Answer briefly."}]  # top-level, not a turn
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "question 0"}]}]
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0, 0.9, 64)
    assert body["stop_sequences"] == ["."] and body["top_k"] == 5
    assert set(body) <= {
        "model",
        "system",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "stop_sequences",
        "top_k",
    }
    # Anthropic's stop_reason as LiteLLM names it; the model the server reported.
    assert result.finish_reason == "stop" and result.model == "claude-haiku-4-5-20251001"
    # Usage from the reply (words, in the fake), priced by LiteLLM's map: $1 / $5 per 1M.
    assert (
        result.usage is not None and result.usage.prompt_tokens == 4 and result.usage.completion_tokens == 1
    )
    assert result.cost_usd == pytest.approx((4 * 1.0 + 1 * 5.0) / 1e6)


def test_anthropics_required_max_tokens_is_filled_in_by_litellm(
    fake_messages: MessagesServer, tmp_path: Path
) -> None:
    [result] = run_litellm(tmp_path, claude_route(fake_messages))
    assert result.ok, result
    [request] = fake_messages.requests()
    assert request.body["max_tokens"] == 64000  # the model's maximum output in LiteLLM's map


def test_a_named_key_variable_is_passed_as_the_key(
    fake_messages: MessagesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-some-other-key")
    monkeypatch.setenv("TEAM_CLAUDE_KEY", ANTHROPIC_KEY)
    [result] = run_litellm(tmp_path, claude_route(fake_messages, api_key_env="TEAM_CLAUDE_KEY"))
    assert result.ok, result
    assert fake_messages.requests()[0].headers["x-api-key"] == ANTHROPIC_KEY


def test_the_openai_route_chat_and_completion(fake_openai: ServerThread, tmp_path: Path) -> None:
    results = run_litellm(tmp_path, openai_route(fake_openai), n=2)
    assert sorted(r.output or "" for r in results) == ["echo: question 0", "echo: question 1"]
    assert fake_openai.stats()["requests"] == {"/v1/chat/completions": 2}
    # A name LiteLLM does not know as a chat model goes to /v1/completions, the prompt as written.
    [text] = run_litellm(
        tmp_path / "c", openai_route(fake_openai, model="openai/my-base-model", mode="completion")
    )
    assert text.ok and text.output == "echo: question 0", text
    assert fake_openai.stats()["requests"]["/v1/completions"] == 1
    assert fake_openai.stats()["prompts"][-1] == "Answer briefly.\n\nquestion 0"


def test_an_empty_answer_and_unknown_usage_read_as_everywhere(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(null_content=True)
    [empty] = run_litellm(tmp_path, openai_route(fake_openai))
    assert empty.error is not None and empty.error.type == "EmptyAnswer" and empty.finish_reason == "stop"
    fake_openai.configure(null_content=False, usage="omit")
    [unknown] = run_litellm(tmp_path / "u", openai_route(fake_openai))
    # LiteLLM reports 0 tokens for a reply without usage: that is unknown, not free.
    assert unknown.ok and unknown.usage is None and unknown.cost_usd is None


# --------------------------------------------------------------------------- score, usage, cost


def test_qa_score_usage_and_cost(fake_openai: ServerThread, tmp_path: Path) -> None:
    answers, accuracy = qa_answers(wrong_every=5)  # 7 of 35 wrong
    fake_openai.configure(answers=answers)
    result = run_pipeline(qa_pipeline(tmp_path, openai_route(fake_openai)), workspace_dir=tmp_path / "ws")
    summary = result.summary
    assert summary is not None and summary.n_results == 35 and summary.n_errors == 0
    assert summary.metrics["exact_match"].mean == pytest.approx(accuracy) == pytest.approx(0.8)
    assert fake_openai.stats()["requests"] == {"/v1/chat/completions": 35}
    price = litellm_price("gpt-4o-mini")
    assert price is not None and (price.prompt_per_1m, price.completion_per_1m) == (0.15, 0.6)
    usage = summary.usage
    assert usage.prompt_tokens > 0 and summary.n_usage_unknown == 0
    assert summary.cost_usd == pytest.approx(tokens_cost(usage.prompt_tokens, usage.completion_tokens, price))


def test_the_cost_is_litellms_own_response_cost(
    fake_openai: ServerThread, fake_messages: MessagesServer
) -> None:
    # The figure LiteLLM itself reports for a call is the one the run records for it.
    from lm_eval_so._internal.models.backends.litellm import import_litellm

    litellm = import_litellm()

    async def both() -> list[Any]:
        messages = [{"role": "user", "content": "question 1"}]
        common = {"messages": messages, "num_retries": 0, "max_retries": 0}
        return [
            await litellm.acompletion(model="openai/gpt-4o-mini", api_base=fake_openai.base_url, **common),
            await litellm.acompletion(model=CLAUDE, api_base=fake_messages.base_url, **common),
        ]

    for response in asyncio.run(both()):
        usage, reported = response.usage, response._hidden_params["response_cost"]
        price = LiteLLMBackend.price(response.model)
        assert price is not None and reported > 0
        assert tokens_cost(usage.prompt_tokens, usage.completion_tokens, price) == pytest.approx(reported)


def test_a_model_litellm_cannot_price_costs_unknown_never_zero(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    results = run_litellm(tmp_path, openai_route(fake_openai, model="openai/house-model-7b"), n=2)
    assert all(r.ok and r.usage is not None and r.usage.total_tokens > 0 for r in results)
    assert [r.cost_usd for r in results] == [None, None]
    pricing = {"prompt_per_1m": 1e6, "completion_per_1m": 0}
    [priced] = run_litellm(
        tmp_path / "p", openai_route(fake_openai, model="openai/house-model-7b", pricing=pricing)
    )
    assert priced.usage is not None and priced.cost_usd == pytest.approx(priced.usage.prompt_tokens)


# --------------------------------------------------------------------------- retries and errors


def test_a_529_is_retried_after_the_servers_delay(fake_messages: MessagesServer, tmp_path: Path) -> None:
    fake_messages.configure(fail_first=1, fail_status=529, retry_after=1)
    [result] = run_litellm(tmp_path, claude_route(fake_messages, max_retries=2))
    assert result.ok and result.attempts == 2, result
    first, second = fake_messages.requests()
    assert (first.status, second.status) == (529, 200)  # LiteLLM did not retry on its own
    assert second.time - first.time >= 1.0


def test_a_429_is_retried_after_the_servers_delay(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=1, fail_status=429, retry_after=1)
    [result] = run_litellm(tmp_path, openai_route(fake_openai, max_retries=2))
    assert result.ok and result.attempts == 2, result
    (first, _), (second, _) = fake_openai.stats()["arrivals"]
    assert second - first >= 1.0


@pytest.mark.parametrize(
    ("route", "configure", "error_type", "words", "attempts"),
    [
        ("claude", {"fail_first": 1, "fail_status": 400}, "BadRequestError", "fault 400", 1),
        (
            "openai",
            {"required_key": "other", "echo_key_in_errors": True},
            "AuthenticationError",
            "Incorrect API key",
            1,
        ),
        ("openai", {"drop_first": 9}, "APIConnectionError", "Connection error", 3),
        ("openai", {"malformed_first": 9}, "InvalidResponse", "could not read the reply", 1),
        (
            "openai",
            {"raw_reply": json.dumps({"id": "x", "choices": []})},
            "InvalidResponse",
            "the server returned no choices",
            1,
        ),
        ("openai", {"hang_first": 9, "hang_s": 5}, "APITimeoutError", "timed out", 3),
        ("claude", {"fail_first": 9, "fail_status": 529}, "InternalServerError", "Error code: 529", 3),
    ],
    ids=["400", "401", "dropped", "not-json", "no-choices", "timeout", "529-exhausted"],
)
def test_errors_are_named_by_the_one_tree(
    route: str,
    configure: dict[str, Any],
    error_type: str,
    words: str,
    attempts: int,
    fake_openai: ServerThread,
    fake_messages: MessagesServer,
    tmp_path: Path,
) -> None:
    server: Any = fake_messages if route == "claude" else fake_openai
    server.configure(**configure)
    make = claude_route if route == "claude" else openai_route
    [result] = run_litellm(tmp_path, make(server, max_retries=2, timeout_s=0.5))
    assert result.error is not None and result.error.type == error_type, result
    assert words in result.error.message and result.attempts == attempts, result.error
    assert KEY not in result.error.message and ANTHROPIC_KEY not in result.error.message


def test_twenty_percent_injected_errors(fake_messages: MessagesServer, tmp_path: Path) -> None:
    answers, accuracy = qa_answers(wrong_every=5)
    fake_messages.configure(answers=answers, fail_every=5, fail_status=529, retry_after=0.02)
    runner = claude_route(fake_messages, max_retries=2, concurrency=1, params={"max_tokens": 16})
    result = run_pipeline(qa_pipeline(tmp_path, runner), workspace_dir=tmp_path / "ws")
    summary = result.summary
    assert summary is not None
    requests = fake_messages.requests()
    failed = sum(r.status == 529 for r in requests)
    retries = sum(r.attempts - 1 for r in results_of(result.run_dir))
    accuracy_seen = summary.metrics["exact_match"].mean
    print(
        f"litellm 20% errors: accuracy={accuracy_seen:.4f} requests={len(requests)} "
        f"failed={failed} retries={retries} errors={summary.n_errors}"
    )
    assert (len(requests), failed, retries, summary.n_errors) == (43, 8, 8, 0)
    assert accuracy_seen == pytest.approx(accuracy)


# --------------------------------------------------------------------------- refused up front


@pytest.mark.parametrize(
    ("runner", "words"),
    [
        (
            {"model": CLAUDE, "params": {"seed": 7}},
            "runner.params.seed: LiteLLM's anthropic route does not take seed",
        ),
        (
            {"model": CLAUDE, "mode": "completion"},
            "LiteLLM's anthropic route has no text-completion endpoint",
        ),
        ({"model": "nowhere/some-model"}, "LiteLLM does not know which provider serves 'nowhere/some-model'"),
        (
            {"model": CLAUDE, "params": {"extra_body": {"api_key": "x"}}},
            "api_key cannot be set through extra_body",
        ),
    ],
    ids=["seed-on-anthropic", "completion-on-anthropic", "unknown-provider", "extra-body-clash"],
)
def test_what_the_route_cannot_take_is_refused_before_any_call(
    runner: dict[str, Any], words: str, tmp_path: Path
) -> None:
    config = make_config(tmp_path, backend="litellm", **runner)
    with pytest.raises(BackendError, match=words.replace("(", r"\(").replace(")", r"\)")):
        get_backend(config.runner, tmp_path, 0)


@pytest.mark.parametrize(
    ("runner", "env", "words"),
    [
        ({"model": CLAUDE}, {}, "reads its key from ANTHROPIC_API_KEY, which is not set"),
        ({"model": "openai/gpt-4o-mini"}, {}, "reads its key from OPENAI_API_KEY, which is not set"),
        (
            {"model": CLAUDE, "api_key_env": "TEAM_CLAUDE_KEY"},
            {"ANTHROPIC_API_KEY": "x"},
            "TEAM_CLAUDE_KEY is not set",
        ),
        (
            {"model": CLAUDE, "params": {"presence_penalty": 1}},
            {"ANTHROPIC_API_KEY": "x"},
            "presence_penalty",
        ),
    ],
    ids=["anthropic-key", "openai-key", "named-key", "refused-param"],
)
def test_a_setup_problem_is_one_message_exit_2_and_no_run(
    runner: dict[str, Any],
    env: dict[str, str],
    words: str,
    provider_backends: dict[str, str],
    fake_messages: MessagesServer,
    tmp_path: Path,
) -> None:
    qa_pipeline(tmp_path, {"backend": "litellm", "base_url": fake_messages.base_url, **runner})
    proc = run_python(
        ["-m", "lm_eval_so", "run", "pipeline.yaml"], clean_env(**provider_backends, **env), tmp_path
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "ws" / "runs").exists()
    assert fake_messages.requests() == []


def test_api_key_env_null_is_a_server_that_needs_no_key(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    [result] = run_litellm(tmp_path, openai_route(fake_openai, model="openai/local-model", api_key_env=None))
    assert result.ok and result.output == "echo: question 0", result


# --------------------------------------------------------------------------- identity


def test_the_cache_identity(fake_openai: ServerThread, tmp_path: Path) -> None:
    answers, _ = qa_answers()
    fake_openai.configure(answers=answers)

    def run_with(runner: dict[str, Any], folder: str) -> list[RunResult]:
        base = tmp_path / folder
        base.mkdir()
        return results_of(run_pipeline(qa_pipeline(base, runner), workspace_dir=tmp_path / "ws").run_dir)

    def asked() -> int:
        return sum(fake_openai.stats()["requests"].values())

    assert not any(r.cached for r in run_with(openai_route(fake_openai), "a")) and asked() == 35
    assert all(r.cached for r in run_with(openai_route(fake_openai), "b")) and asked() == 35
    # Another model string through the same server is another model.
    assert not any(r.cached for r in run_with(openai_route(fake_openai, model="openai/gpt-4o"), "m"))
    assert asked() == 70
    with serve_in_thread() as other:  # the same model string behind another api_base
        other.configure(answers=answers)
        assert not any(r.cached for r in run_with(openai_route(other), "e"))
        assert other.stats()["requests"] == {"/v1/chat/completions": 35}


def test_identity_and_describe(
    fake_messages: MessagesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = get_backend(make_config(tmp_path, **claude_route(fake_messages)).runner, tmp_path, 0)
    asyncio.run(backend.start())
    assert backend.identity() == {
        "backend": "litellm",
        "model": CLAUDE,
        "options": {},
        "api_base": fake_messages.base_url,  # host:port explicit already
        "litellm_version": litellm_version(),
    }
    assert backend.describe() == {
        "backend": "litellm",
        "model": CLAUDE,
        "mode": "chat",
        "provider": "anthropic",
        "api_base": fake_messages.base_url,
        "key": "LiteLLM's provider variables",
        "sdk": f"litellm {litellm_version()}",
    }
    assert ANTHROPIC_KEY not in json.dumps([backend.identity(), backend.describe()])
    # Without base_url, the variable LiteLLM would read for the provider names the endpoint.
    monkeypatch.setenv("ANTHROPIC_API_BASE", "https://gateway.example.com/anthropic")
    plain = get_backend(make_config(tmp_path, backend="litellm", model=CLAUDE).runner, tmp_path, 0)
    assert plain.identity()["api_base"] == "https://gateway.example.com:443/anthropic"


# --------------------------------------------------------------------------- judge, suite


def test_litellm_as_the_llm_judge(fake_messages: MessagesServer, tmp_path: Path) -> None:
    fake_messages.configure(answers={"Paris": "Names the city.\nSCORE: 5", "Lyon": "Wrong city.\nSCORE: 1"})
    (tmp_path / "litellm_judged_app.py").write_text(
        "def answer(input):\n    return 'Paris' if 'France' in input else 'Lyon'\n"
    )
    (tmp_path / "data.csv").write_text(
        "id,input,expected\nfr,Capital of France?,Paris\nit,Capital of Italy?,Rome\n"
    )
    judge = claude_route(fake_messages, params={"max_tokens": 64})
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: judged\nworkspace: ws\ngenerator: {source: data.csv}\n"
        "runner: {backend: python, function: 'litellm_judged_app:answer'}\n"
        "evaluator:\n  metrics:\n    - type: llm_judge\n      rubric: The answer names the capital city.\n"
        f"      judge: {json.dumps(judge)}\n"
    )
    summary = run_pipeline(path, workspace_dir=tmp_path / "ws").summary
    assert summary is not None and summary.judge_calls == 2
    assert summary.metrics["llm_judge"].mean == pytest.approx(0.5)  # grades 5 and 1 on 1..5
    requests = fake_messages.requests()
    assert len(requests) == 2 and all(
        "The answer names the capital city." in json.dumps(r.body) for r in requests
    )
    usage = summary.judge_usage
    assert usage is not None and usage.prompt_tokens > 0
    assert summary.judge_cost_usd == pytest.approx(
        (usage.prompt_tokens * 1.0 + usage.completion_tokens * 5.0) / 1e6
    )


def test_the_example_suite_passes_against_the_fake(
    fake_openai: ServerThread, provider_backends: dict[str, str], tmp_path: Path
) -> None:
    fake_openai.configure(answers={r["question"]: r["answer"] for r in qa_rows()})
    env = clean_env(
        **provider_backends,
        LITELLM_MODEL="openai/gpt-4o-mini",
        LITELLM_API_BASE=fake_openai.base_url,
        OPENAI_API_KEY=KEY,
    )
    args = ["-m", "pytest", "-p", "no:cacheprovider", "-rs", "example_suites/litellm"]
    proc = run_python([*args, "--lm-eval-workspace", str(tmp_path)], env, REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert fake_openai.stats()["requests"] == {"/v1/chat/completions": 20}

    skipped = run_python(
        [*args, "--lm-eval-workspace", str(tmp_path / "skip")], clean_env(**provider_backends), REPO
    )
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "needs LITELLM_MODEL (requires_env)" in skipped.stdout


# --------------------------------------------------------------------------- no network

GUARD = textwrap.dedent(
    """
    import json, sys
    LOOPBACK = ("127.0.0.1", "::1", "localhost")
    outside = []

    def guard(event, args):
        if event == "socket.getaddrinfo" and str(args[0]) not in LOOPBACK:
            outside.append(f"{args[0]}:{args[1]}")
            raise OSError(f"network access refused by the test: {args[0]}")
        if event == "socket.connect" and isinstance(args[1], tuple) and str(args[1][0]) not in LOOPBACK:
            outside.append(str(args[1]))
            raise OSError(f"network access refused by the test: {args[1]}")

    sys.addaudithook(guard)
    """
)

CALLS = textwrap.dedent(
    """
    import asyncio, os
    from fake_openai.server import serve_in_thread
    from fake_litellm.server import MessagesServer
    from runner_helpers import make_config, run, sample
    from azure_litellm_support import provider_backends

    with provider_backends(), serve_in_thread() as openai_fake, MessagesServer() as claude_fake:
        for name, base in (("openai/gpt-4o-mini", openai_fake.base_url),
                           ("anthropic/claude-haiku-4-5", claude_fake.base_url)):
            for attempt in range(2):  # two runs, two event loops, in one process
                config = make_config(tmp, backend="litellm", model=name, base_url=base)
                _, results = run(config, [sample("a", "question a")], tmp / f"{attempt}-{name[:6]}.jsonl")
                assert results[0].ok, results[0]
    print(json.dumps({"outside": outside, "cost_map_env": os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP")}))
    """
)


def test_importing_and_calling_litellm_reaches_only_loopback(
    provider_backends: dict[str, str], tmp_path: Path
) -> None:
    tests = Path(__file__).resolve().parents[1]
    path = os.pathsep.join(
        filter(None, [str(tests), str(tests / "runner"), provider_backends.get("PYTHONPATH")])
    )
    env = clean_env(OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=ANTHROPIC_KEY, PYTHONPATH=path)
    script = GUARD + f"from pathlib import Path\ntmp = Path({str(tmp_path)!r})\n" + CALLS
    proc = run_python(["-c", script], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"outside": [], "cost_map_env": "True"}, proc.stderr
    # Quiet: no LiteLLM banner, and no logging task carried from one run's event loop to the next.
    assert "Give Feedback" not in proc.stderr and "LoggingWorker" not in proc.stderr, proc.stderr


def test_the_guard_sees_litellms_own_fetch(tmp_path: Path) -> None:
    # The control: imported without the backend's settings, LiteLLM asks GitHub for its price map.
    script = GUARD + "import litellm\nprint(json.dumps(outside))\n"
    proc = run_python(["-c", script], clean_env(), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "raw.githubusercontent.com:443" in json.loads(proc.stdout.strip().splitlines()[-1])
