"""azure_openai: the official AsyncAzureOpenAI against a loopback Azure resource (fake_azure).

What the SDK sent (path, api-version, api-key or Entra ID token, body), the score on the QA set,
usage and cost, retries after the server's delay, non-retryable 4xx, the cache identity, the
missing-key message, the judge, a run with 20% injected errors and the example suite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure_litellm_support
import pytest
from azure_litellm_support import REPO, clean_env, qa_answers, qa_rows, run_python
from runner_helpers import make_config, run, sample

from fake_azure.fixtures import fresh_server
from fake_azure.server import AD_TOKEN, API_KEY, AzureServerThread
from lm_eval_so import run_pipeline
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.models.pricing import lookup_price, tokens_cost

VERSION = "2024-10-21"
pytestmark = pytest.mark.usefixtures("provider_backends")


@pytest.fixture
def fake_azure() -> Iterator[AzureServerThread]:
    yield from fresh_server()


@pytest.fixture
def provider_backends() -> Iterator[dict[str, str]]:
    with azure_litellm_support.provider_backends() as env:
        yield env


@pytest.fixture(autouse=True)
def azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "AZURE_OPENAI_AD_TOKEN", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", API_KEY)


def azure_runner(server: AzureServerThread, **runner: Any) -> dict[str, Any]:
    options = {"api_version": VERSION, **runner.pop("options", {})}
    return {
        "backend": "azure_openai",
        "model": "gpt4o-mini-prod",
        "base_url": server.base_url,
        "options": options,
        **runner,
    }


def run_azure(tmp_path: Path, server: AzureServerThread, n: int = 1, **runner: Any) -> list[RunResult]:
    config = make_config(tmp_path, **azure_runner(server, **runner))
    items = [sample(f"s{i}", f"question {i}", system="Answer briefly.") for i in range(n)]
    _, results = run(config, items, tmp_path / "results.jsonl")
    return results


def qa_pipeline(folder: Path, runner: dict[str, Any], *, metrics: str | None = None) -> Path:
    """A pipeline over example_suites/local_qa/questions.csv with ``runner`` (JSON is YAML)."""
    metrics = metrics or "    - type: exact_match\n      normalize: [strip, lower, punctuation]\n"
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: azure_qa\nworkspace: ws\n"
        f"generator:\n  source: {REPO / 'example_suites/local_qa/questions.csv'}\n"
        "  fields: {id: qid, input: question, expected: answer}\n"
        "  prompt: {system: 'Answer with one or two words, nothing else.'}\n"
        f"runner: {json.dumps(runner)}\n"
        f"evaluator:\n  metrics:\n{metrics}"
    )
    return path


# --------------------------------------------------------------------------- the wire


def test_the_request_the_sdk_sent(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    params = {
        "temperature": 0,
        "top_p": 0.5,
        "max_tokens": 16,
        "stop": ["\n\n"],
        "seed": 7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "extra_body": {"user": "eval-run", "max_completion_tokens": 32},
    }
    [result] = run_azure(tmp_path, fake_azure, params=params)
    assert result.ok and result.output == "echo: question 0", result
    [request] = fake_azure.generation_requests()
    assert request.path == "/openai/deployments/gpt4o-mini-prod/chat/completions"
    assert request.query == {"api-version": VERSION}
    assert request.headers["api-key"] == API_KEY and "authorization" not in request.headers
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.body == {
        "model": "gpt4o-mini-prod",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "question 0"},
        ],
        "temperature": 0,
        "top_p": 0.5,
        "max_tokens": 16,
        "stop": ["\n\n"],
        "seed": 7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "user": "eval-run",
        "max_completion_tokens": 32,
    }
    # Azure's reply names the deployment's model, not the deployment; finish_reason is kept.
    assert result.model == "gpt-4o-mini-2024-07-18" and result.finish_reason == "stop"


def test_an_entra_id_token_is_sent_as_bearer(
    fake_azure: AzureServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    monkeypatch.setenv("MY_ENTRA_TOKEN", AD_TOKEN)
    [result] = run_azure(tmp_path, fake_azure, options={"azure_ad_token_env": "MY_ENTRA_TOKEN"})
    assert result.ok, result
    [request] = fake_azure.generation_requests()
    assert request.headers["authorization"] == f"Bearer {AD_TOKEN}" and "api-key" not in request.headers


def test_a_named_key_variable_or_none_for_a_gateway(
    fake_azure: AzureServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "not-this-one")
    monkeypatch.setenv("TEAM_AZURE_KEY", API_KEY)
    [named] = run_azure(tmp_path, fake_azure, api_key_env="TEAM_AZURE_KEY")
    assert named.ok, named
    # api_key_env: null, a gateway that adds its own credentials: a placeholder is sent.
    fake_azure.configure_azure(api_key="no-key")
    [keyless] = run_azure(tmp_path / "keyless", fake_azure, api_key_env=None)
    assert keyless.ok, keyless
    assert [r.headers["api-key"] for r in fake_azure.generation_requests()] == [API_KEY, "no-key"]


def test_endpoint_version_and_key_come_from_azures_variables(
    fake_azure: AzureServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake_azure.base_url + "/openai/")  # trailing /openai: dropped
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    config = make_config(tmp_path, backend="azure_openai", model="gpt4o-mini-prod")
    _, [result] = run(config, [sample("a", "question a")], tmp_path / "results.jsonl")
    assert result.ok, result
    [request] = fake_azure.generation_requests()
    assert request.path == "/openai/deployments/gpt4o-mini-prod/chat/completions"
    assert request.query == {"api-version": "2024-06-01"}


def test_options_deployment_routes_and_runner_model_is_a_label(
    fake_azure: AzureServerThread, tmp_path: Path
) -> None:
    [result] = run_azure(tmp_path, fake_azure, model="my-label", options={"deployment": "gpt4o-mini-eval"})
    assert result.ok, result
    [request] = fake_azure.generation_requests()
    assert request.path == "/openai/deployments/gpt4o-mini-eval/chat/completions"


def test_completion_mode_on_an_instruct_deployment(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    [result] = run_azure(tmp_path, fake_azure, model="instruct", mode="completion")
    assert result.ok and result.output == "echo: question 0", result
    [request] = fake_azure.generation_requests()
    assert request.path == "/openai/deployments/instruct/completions"
    assert request.body["prompt"] == "Answer briefly.\n\nquestion 0" and "messages" not in request.body

    # A chat deployment has no completions operation: Azure's 400, not retried.
    [refused] = run_azure(tmp_path / "chat", fake_azure, mode="completion", max_retries=2)
    assert refused.error is not None and refused.error.type == "BadRequestError"
    assert "completion operation does not work" in refused.error.message and refused.attempts == 1


# --------------------------------------------------------------------------- score, usage, cost


def test_qa_score_usage_and_cost(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    answers, accuracy = qa_answers(wrong_every=5)  # 7 of 35 wrong
    assert accuracy == pytest.approx(0.8)
    fake_azure.configure(answers=answers)
    runner = azure_runner(fake_azure, options={"model_family": "gpt-4o-mini"}, params={"temperature": 0})
    result = run_pipeline(qa_pipeline(tmp_path, runner), workspace_dir=tmp_path / "ws")
    summary = result.summary
    assert summary is not None and summary.n_results == 35 and summary.n_errors == 0
    assert summary.metrics["exact_match"].mean == pytest.approx(accuracy)
    assert len(fake_azure.generation_requests()) == 35
    # Usage as the server counted it (words, in the fake), priced at gpt-4o-mini's list price.
    usage, price = summary.usage, lookup_price("gpt-4o-mini")
    assert price is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    expected = tokens_cost(usage.prompt_tokens, usage.completion_tokens, price)
    assert summary.cost_usd == pytest.approx(expected)
    manifest = json.loads((result.run_dir / "manifest.json").read_text())  # type: ignore[operator]
    assert API_KEY not in json.dumps(manifest)


def test_describe_says_where_and_how_it_is_priced_and_never_the_key(
    fake_azure: AzureServerThread, tmp_path: Path
) -> None:
    from lm_eval_so._internal.models.lookup import get_backend

    runner = azure_runner(fake_azure, options={"model_family": "gpt-4o-mini"})
    backend = get_backend(make_config(tmp_path, **runner).runner, tmp_path, 0)
    described = backend.describe()
    assert described == {
        "backend": "azure_openai",
        "model": "gpt4o-mini-prod",
        "mode": "chat",
        "endpoint": fake_azure.base_url,
        "deployment": "gpt4o-mini-prod",
        "api_version": VERSION,
        "auth": "api-key",
        "pricing": "OpenAI list price of gpt-4o-mini",
    }
    assert API_KEY not in json.dumps([described, backend.identity()])


def test_without_model_family_the_cost_is_unknown(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    results = run_azure(tmp_path, fake_azure, n=2)
    assert all(r.ok and r.usage is not None and r.usage.total_tokens > 0 for r in results)
    # The reply names gpt-4o-mini, but what a deployment is billed at is not guessed.
    assert [r.cost_usd for r in results] == [None, None]
    [priced] = run_azure(tmp_path / "p", fake_azure, pricing={"prompt_per_1m": 1e6, "completion_per_1m": 0})
    assert priced.usage is not None and priced.cost_usd == pytest.approx(priced.usage.prompt_tokens)


# --------------------------------------------------------------------------- retries and errors


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [(429, {"retry_after": 1}, 1.0), (500, {"retry_after_ms": 700}, 0.7)],
    ids=["429-retry-after", "500-retry-after-ms"],
)
def test_a_retry_waits_as_the_server_asked(
    status: int, header: dict[str, float], wait: float, fake_azure: AzureServerThread, tmp_path: Path
) -> None:
    fake_azure.configure(fail_first=1, fail_status=status, **header)
    [result] = run_azure(tmp_path, fake_azure, max_retries=2)
    assert result.ok and result.attempts == 2, result
    first, second = fake_azure.generation_requests()
    assert (first.status, second.status) == (status, 200)
    assert second.time - first.time >= wait


@pytest.mark.parametrize(
    ("runner", "configure", "error_type", "words"),
    [
        ({"model": "nothing-here"}, {}, "NotFoundError", "API deployment for this resource does not exist"),
        ({}, {"filter_prompts": ["question"]}, "BadRequestError", "content management policy"),
        ({}, {"api_key": "another-key"}, "AuthenticationError", "Access denied"),
        ({"options": {"api_version": "1999-01-01"}}, {}, "BadRequestError", "API version not supported"),
    ],
    ids=["deployment-not-found", "prompt-filtered", "wrong-key", "unknown-api-version"],
)
def test_a_non_retryable_4xx_is_that_samples_error(
    runner: dict[str, Any],
    configure: dict[str, Any],
    error_type: str,
    words: str,
    fake_azure: AzureServerThread,
    tmp_path: Path,
) -> None:
    fake_azure.configure_azure(**configure)
    [result] = run_azure(tmp_path, fake_azure, max_retries=3, **runner)
    assert result.error is not None and result.error.type == error_type, result
    assert words in result.error.message and result.attempts == 1
    assert len(fake_azure.generation_requests()) == 1
    assert API_KEY not in result.error.message


def test_an_answer_withheld_by_the_content_filter_is_an_empty_answer(
    fake_azure: AzureServerThread, tmp_path: Path
) -> None:
    fake_azure.configure_azure(filter_answers=["question"])
    [result] = run_azure(tmp_path, fake_azure, max_retries=2)
    assert result.error is not None and result.error.type == "EmptyAnswer"
    assert result.finish_reason == "content_filter" and result.attempts == 1


def test_twenty_percent_injected_errors(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    answers, accuracy = qa_answers(wrong_every=5)
    fake_azure.configure(answers=answers, fail_status=500, retry_after_ms=20)
    fake_azure.configure_azure(fail_every=5)  # requests 5, 10, 15 ... fail: 20% of them
    runner = azure_runner(fake_azure, max_retries=2, concurrency=1)
    result = run_pipeline(qa_pipeline(tmp_path, runner), workspace_dir=tmp_path / "ws")
    summary = result.summary
    assert summary is not None
    requests = fake_azure.generation_requests()
    failed = sum(r.status == 500 for r in requests)
    results = [RunResult.model_validate_json(line) for line in (result.run_dir / "results.jsonl").open()]  # type: ignore[operator]
    retries = sum(r.attempts - 1 for r in results)
    accuracy_seen = summary.metrics["exact_match"].mean
    print(
        f"azure_openai 20% errors: accuracy={accuracy_seen:.4f} requests={len(requests)} "
        f"failed={failed} retries={retries} errors={summary.n_errors}"
    )
    # 35 samples: requests = 35 + failures and every 5th fails, so 43 requests, 8 failures, each
    # retried once and answered; the score is the clean run's.
    assert (len(requests), failed, retries, summary.n_errors) == (43, 8, 8, 0)
    assert summary.metrics["exact_match"].mean == pytest.approx(accuracy)


# --------------------------------------------------------------------------- cache identity


def test_the_cache_identity(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    answers, _ = qa_answers()
    fake_azure.configure(answers=answers)

    def run_with(runner: dict[str, Any], folder: str) -> list[RunResult]:
        base = tmp_path / folder
        base.mkdir()
        path = qa_pipeline(base, runner)
        result = run_pipeline(path, workspace_dir=tmp_path / "ws")  # one workspace: one cache
        assert result.run_dir is not None
        return [RunResult.model_validate_json(line) for line in (result.run_dir / "results.jsonl").open()]

    first = run_with(azure_runner(fake_azure), "a")
    assert not any(r.cached for r in first) and len(fake_azure.generation_requests()) == 35
    again = run_with(azure_runner(fake_azure), "b")
    assert all(r.cached for r in again) and len(fake_azure.generation_requests()) == 35

    for change, folder in (
        ({"model": "gpt4o-mini-eval"}, "deployment"),
        ({"options": {"api_version": "2024-06-01"}}, "version"),
    ):
        before = len(fake_azure.generation_requests())
        results = run_with(azure_runner(fake_azure, **change), folder)
        assert not any(r.cached for r in results), change
        assert len(fake_azure.generation_requests()) == before + 35, change

    with AzureServerThread() as other:  # the same deployment name on another resource
        other.configure(answers=answers)
        results = run_with(azure_runner(other), "endpoint")
        assert not any(r.cached for r in results) and len(other.generation_requests()) == 35


# --------------------------------------------------------------------------- setup errors


WITH_KEY = {"AZURE_OPENAI_API_KEY": API_KEY}
SETUP_PROBLEMS = {
    # id: (runner without base_url, environment, words the message must hold)
    "default-key": ({"options": {"api_version": VERSION}}, {}, "AZURE_OPENAI_API_KEY is not set"),
    "named-key": (
        {"api_key_env": "TEAM_AZURE_KEY", "options": {"api_version": VERSION}},
        WITH_KEY,
        "TEAM_AZURE_KEY is not set",
    ),
    "entra-token": (
        {"options": {"api_version": VERSION, "azure_ad_token_env": "ENTRA_TOKEN"}},
        WITH_KEY,
        "ENTRA_TOKEN is not set",
    ),
    "api-version": ({}, WITH_KEY, "set runner.options.api_version or export OPENAI_API_VERSION"),
    "model-family": (
        {"options": {"api_version": VERSION, "model_family": "gpt-9"}},
        WITH_KEY,
        "'gpt-9' is not in the OpenAI price table",
    ),
}


@pytest.mark.parametrize("case", [*SETUP_PROBLEMS, "endpoint"])
def test_a_setup_problem_is_one_message_exit_2_and_no_run(
    case: str,
    provider_backends: dict[str, str],
    fake_azure: AzureServerThread,
    tmp_path: Path,
) -> None:
    if case == "endpoint":
        runner, env, words = {"options": {"api_version": VERSION}}, WITH_KEY, "export AZURE_OPENAI_ENDPOINT"
    else:
        runner, env, words = SETUP_PROBLEMS[case]
        runner = {**runner, "base_url": fake_azure.base_url}
    qa_pipeline(tmp_path, {"backend": "azure_openai", "model": "gpt4o-mini-prod", **runner})
    proc = run_python(
        ["-m", "lm_eval_so", "run", "pipeline.yaml"], clean_env(**provider_backends, **env), tmp_path
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "ws" / "runs").exists()
    assert fake_azure.generation_requests() == []


# --------------------------------------------------------------------------- judge, suite


def test_azure_as_the_llm_judge(fake_azure: AzureServerThread, tmp_path: Path) -> None:
    fake_azure.configure(answers={"Paris": "Names the city.\nSCORE: 5", "Lyon": "Wrong city.\nSCORE: 1"})
    app = "def answer(input):\n    return 'Paris' if 'France' in input else 'Lyon'\n"
    (tmp_path / "azure_judged_app.py").write_text(app)
    data = "id,input,expected\nfr,Capital of France?,Paris\nit,Capital of Italy?,Rome\n"
    (tmp_path / "data.csv").write_text(data)
    options = {"model_family": "gpt-4o"}
    judge = azure_runner(fake_azure, model="judge", options=options, params={"temperature": 0})
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: judged\nworkspace: ws\ngenerator: {source: data.csv}\n"
        "runner: {backend: python, function: 'azure_judged_app:answer'}\n"
        "evaluator:\n  metrics:\n    - type: llm_judge\n      rubric: The answer names the capital city.\n"
        f"      judge: {json.dumps(judge)}\n"
    )
    summary = run_pipeline(path, workspace_dir=tmp_path / "ws").summary
    assert summary is not None and summary.judge_calls == 2
    assert summary.metrics["llm_judge"].mean == pytest.approx(0.5)  # grades 5 and 1 on 1..5
    requests = fake_azure.generation_requests()
    assert {r.path for r in requests} == {"/openai/deployments/judge/chat/completions"}
    assert all("The answer names the capital city." in r.body["messages"][-1]["content"] for r in requests)
    price, usage = lookup_price("gpt-4o"), summary.judge_usage
    assert price is not None and usage is not None and usage.prompt_tokens > 0
    expected = tokens_cost(usage.prompt_tokens, usage.completion_tokens, price)
    assert summary.judge_cost_usd == pytest.approx(expected)


def test_the_example_suite_passes_against_the_fake(
    fake_azure: AzureServerThread,
    provider_backends: dict[str, str],
    tmp_path: Path,
) -> None:
    fake_azure.configure(answers={r["question"]: r["answer"] for r in qa_rows()})
    env = clean_env(
        **provider_backends,
        AZURE_OPENAI_ENDPOINT=fake_azure.base_url,
        AZURE_OPENAI_API_KEY=API_KEY,
        AZURE_OPENAI_DEPLOYMENT="gpt4o-mini-prod",
    )
    args = ["-m", "pytest", "-p", "no:cacheprovider", "-rs", "example_suites/azure_openai"]
    proc = run_python([*args, "--lm-eval-workspace", str(tmp_path)], env, REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    requests = fake_azure.generation_requests()
    assert len(requests) == 20 and {r.query["api-version"] for r in requests} == {VERSION}

    # Without the endpoint variable the suite is skipped, with the reason.
    skip_args = [*args, "--lm-eval-workspace", str(tmp_path / "skip")]
    skipped = run_python(skip_args, clean_env(**provider_backends), REPO)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "needs AZURE_OPENAI_ENDPOINT (requires_env)" in skipped.stdout


def test_a_dry_run_names_what_would_be_asked(
    fake_azure: AzureServerThread, provider_backends: dict[str, str], tmp_path: Path
) -> None:
    qa_pipeline(tmp_path, azure_runner(fake_azure))
    env = clean_env(**provider_backends, AZURE_OPENAI_API_KEY=API_KEY)
    proc = run_python(["-m", "lm_eval_so", "run", "pipeline.yaml", "--dry-run"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fake_azure.generation_requests() == []
    assert API_KEY not in proc.stdout + proc.stderr
