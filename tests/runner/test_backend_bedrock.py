"""The bedrock backend: boto3's Converse calls against the loopback Bedrock Runtime.

Every test drives the real SDK (boto3, SigV4-signed requests) through the runner, the CLI or
the judge, and asserts what the fake received and what a user reads: the request on the wire,
scores, usage and cost, retries and their spacing, error records, cache hits and misses.
"""

from __future__ import annotations

import csv
import importlib.metadata as md
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import make_config, run, sample, samples

from fake_bedrock.fixtures import fresh_server
from fake_bedrock.server import (
    ACCESS_KEY,
    SECRET_KEY,
    BedrockServerThread,
    FakeBedrockConfig,
    self_signed_tls,
    serve_in_thread,
)
from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.models.backends.bedrock import BedrockBackend, bedrock_price
from lm_eval_so._internal.models.base import BackendContext
from lm_eval_so._internal.runner import check_backend
from plugin_fake_dists import write_dist

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "example_suites" / "local_qa" / "questions.csv"
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"  # $3 / $15 per 1M tokens on demand
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN"
TEST_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata lookup from the credential chain
}


# --------------------------------------------------------------------------- environment


def _no_aws(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not k.startswith(("AWS_", "OPENAI_", "LM_EVAL_SO_"))}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Only the test credentials: nothing from the machine's AWS environment or ~/.aws."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    nowhere = tmp_path_factory.mktemp("no-aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    for name, value in TEST_AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def fake_bedrock() -> Iterator[BedrockServerThread]:
    yield from fresh_server()


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    """The backend under its name in this process, as its entry point will register it."""
    if "bedrock" in registry.names("backends"):
        yield
        return
    registry.register("backends", "bedrock", BedrockBackend)
    yield
    registry.unregister("backends", "bedrock")


@pytest.fixture
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a subprocess that must find ``backend: bedrock`` by its entry point.

    Until lm-eval-so's own metadata declares it, a distribution on PYTHONPATH declares it,
    found by the same entry-point discovery a pip install goes through.
    """
    if any(ep.name == "bedrock" for ep in md.entry_points(group="lm_eval_so.backends")):
        return {}
    root = tmp_path_factory.mktemp("bedrock-entry-point")
    target = "lm_eval_so._internal.models.backends.bedrock:BedrockBackend"
    write_dist(root, "lm-eval-so-bedrock-entry-point", "0", {"backends": {"bedrock": target}})
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}


def subprocess_env(plugin_env: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    nowhere = {
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-creds"),
    }
    return {**_no_aws(dict(os.environ)), **TEST_AWS_ENV, **nowhere, **plugin_env, **extra}


def cli(args: list[str | Path], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=180,
    )  # fmt: skip


def run_dir_of(proc: subprocess.CompletedProcess[str]) -> Path:
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def results_of(run_dir: Path) -> list[RunResult]:
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    return [RunResult.model_validate_json(line) for line in lines if line.strip()]


def bedrock_config(tmp_path: Path, server: BedrockServerThread, **runner: Any) -> Any:
    settings = {"backend": "bedrock", "model": MODEL, "base_url": server.url, **runner}
    return make_config(tmp_path, **settings)


def qa_rows(n: int = 20) -> list[dict[str, str]]:
    return list(csv.DictReader(QUESTIONS.open()))[:n]


def qa_pipeline(folder: Path, url: str, *, runner: str = "", name: str = "bedrock_qa") -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: {name}\nworkspace: ws\n"
        f"generator:\n  source: {QUESTIONS}\n  fields: {{id: qid, input: question, expected: answer}}\n"
        "  prompt:\n    system: Answer with one or two words, nothing else.\n    template: '{input}'\n"
        "  limit: 20\n"
        f"runner:\n  backend: bedrock\n  model: {MODEL}\n  base_url: {url}\n"
        f"  params: {{temperature: 0, max_tokens: 16}}\n{runner}"
        "evaluator:\n  metrics:\n    - type: exact_match\n      normalize: [strip, lower, punctuation]\n"
    )
    return path


# --------------------------------------------------------------------------- the request


def test_the_request_boto3_sends_is_a_signed_converse_call(
    fake_bedrock: BedrockServerThread, tmp_path: Path
) -> None:
    fake_bedrock.configure(answers={"capital of France": "Paris"})
    params = {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "stop": ["\n\n"],
        "extra_body": {"top_k": 5},
    }
    config = bedrock_config(tmp_path, fake_bedrock, params=params)
    item = sample("fr", "What is the capital of France?", system="Be brief.")

    stats, [result] = run(config, [item], tmp_path / "results.jsonl")

    [request] = fake_bedrock.stats()["requests"]
    assert request["method"] == "POST"
    assert request["path"] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    assert request["model_id"] == MODEL
    headers = request["headers"]
    # SigV4 for service "bedrock" in the configured region, verified by the fake (signature too).
    assert headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert "/us-east-1/bedrock/aws4_request, SignedHeaders=" in headers["Authorization"]
    assert len(headers["X-Amz-Date"]) == 16 and headers["Content-Type"] == "application/json"
    assert "Boto3/" in headers["User-Agent"] and "lm-eval-so" in headers["User-Agent"]
    assert headers["amz-sdk-request"] == "attempt=1; max=1"  # botocore's own retries are off
    assert request["body"] == {
        "messages": [{"role": "user", "content": [{"text": "What is the capital of France?"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"temperature": 0.2, "topP": 0.9, "maxTokens": 64, "stopSequences": ["\n\n"]},
        "additionalModelRequestFields": {"top_k": 5},
    }
    assert (result.output, result.finish_reason, result.model, result.attempts) == (
        "Paris",
        "end_turn",
        MODEL,
        1,
    )
    # 8 words in (system + user), 1 out; priced at $3 / $15 per 1M.
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        8,
        1,
        9,
    )
    assert result.cost_usd == pytest.approx((8 * 3.00 + 1 * 15.00) / 1e6)
    assert stats.cost_usd == pytest.approx(result.cost_usd)
    assert stats.backend["region"] == "us-east-1" and stats.backend["endpoint_url"] == fake_bedrock.url
    assert stats.backend["auth"] == "sigv4 (env)" and SECRET_KEY not in json.dumps(stats.backend)


def test_turns_of_one_role_are_one_message_and_max_tokens_stops_the_answer(
    fake_bedrock: BedrockServerThread, tmp_path: Path
) -> None:
    from lm_eval_so._internal.common.records import DatasetSample, Message

    fake_bedrock.configure(answers={"count": "one two three four five"})
    messages = [
        Message(role="system", content="Rule one."),
        Message(role="user", content="Q: 1+1?"),
        Message(role="assistant", content="2"),
        Message(role="user", content="Now"),
        Message(role="user", content="count"),
        Message(role="system", content="Rule two."),
    ]
    item = DatasetSample(id="a", input="count", messages=messages)
    config = bedrock_config(tmp_path, fake_bedrock, params={"max_tokens": 2})

    _, [result] = run(config, [item], tmp_path / "results.jsonl")

    body = fake_bedrock.stats()["requests"][0]["body"]
    assert body["system"] == [{"text": "Rule one."}, {"text": "Rule two."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [{"text": "Now"}, {"text": "count"}]
    assert (result.output, result.finish_reason) == ("one two", "max_tokens")


def test_temporary_credentials_send_the_session_token(
    fake_bedrock: BedrockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bedrock.configure(session_token=SESSION_TOKEN)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    _, [result] = run(bedrock_config(tmp_path, fake_bedrock), samples(1), tmp_path / "r.jsonl")
    assert result.ok, result.error
    headers = fake_bedrock.stats()["requests"][0]["headers"]
    assert headers["X-Amz-Security-Token"] == SESSION_TOKEN
    assert "x-amz-security-token" in headers["Authorization"]


def test_a_bedrock_api_key_is_sent_as_a_bearer_token_over_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("cryptography")  # to make the fake's TLS certificate
    tls, certificate = self_signed_tls(tmp_path)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certificate))  # botocore's own CA setting
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-test-0123")
    with serve_in_thread(FakeBedrockConfig(bearer_token="bedrock-api-key-test-0123"), tls=tls) as server:
        config = make_config(tmp_path, backend="bedrock", model=MODEL, base_url=server.url)
        check_backend(config)  # no SigV4 credentials needed

        stats, [result] = run(config, samples(1), tmp_path / "r.jsonl")

        assert result.ok, result.error
        assert server.stats()["requests"][0]["headers"]["Authorization"] == "Bearer bedrock-api-key-test-0123"
    assert stats.backend["auth"] == "bearer (AWS_BEARER_TOKEN_BEDROCK)"
    # botocore sends a bearer token over HTTPS only: a plain-HTTP endpoint is refused up front.
    plain = make_config(tmp_path, backend="bedrock", model=MODEL, base_url="http://127.0.0.1:9")
    with pytest.raises(BackendError, match="AWS_BEARER_TOKEN_BEDROCK is sent over HTTPS only"):
        check_backend(plain)


def test_the_region_comes_from_options_then_aws_region_then_botocore(
    fake_bedrock: BedrockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bedrock.configure(region="eu-west-1")
    # AWS_DEFAULT_REGION (us-east-1) would be refused by the fake: AWS_REGION wins over it...
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    _, [by_env] = run(bedrock_config(tmp_path, fake_bedrock), samples(1), tmp_path / "a.jsonl")
    assert by_env.ok, by_env.error
    # ... and runner.options.region wins over both.
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    config = bedrock_config(tmp_path, fake_bedrock, options={"region": "eu-west-1"})
    _, [by_option] = run(config, samples(1), tmp_path / "b.jsonl")
    assert by_option.ok, by_option.error
    scopes = [r["headers"]["Authorization"].split("/")[2] for r in fake_bedrock.stats()["requests"]]
    assert scopes == ["eu-west-1", "eu-west-1"]


def test_a_path_prefix_of_the_endpoint_is_kept_for_gateways(
    fake_bedrock: BedrockServerThread, tmp_path: Path
) -> None:
    config = make_config(
        tmp_path, backend="bedrock", model="us.amazon.nova-lite-v1:0", base_url=f"{fake_bedrock.url}/bedrock"
    )
    _, [result] = run(config, samples(1), tmp_path / "r.jsonl")
    assert result.ok, result.error
    assert fake_bedrock.stats()["requests"][0]["path"] == "/bedrock/model/us.amazon.nova-lite-v1%3A0/converse"
    # A US cross-region profile of Nova Lite costs what Nova Lite costs in the US.
    assert result.cost_usd == pytest.approx(
        (result.usage.prompt_tokens * 0.06 + result.usage.completion_tokens * 0.24) / 1e6
    )


# --------------------------------------------------------------------------- scores, usage, cost


def test_qa_accuracy_is_the_fakes_known_accuracy(
    fake_bedrock: BedrockServerThread, tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    rows = qa_rows()
    fake_bedrock.configure(answers={r["question"]: r["answer"] for r in rows[:15]})  # 15 of 20 known
    proc = cli(
        ["run", qa_pipeline(tmp_path, fake_bedrock.url)],
        cwd=tmp_path,
        env=subprocess_env(plugin_env, tmp_path),
    )
    run_dir = run_dir_of(proc)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["metrics"]["exact_match"]["mean"] == 0.75
    assert fake_bedrock.stats()["count"] == 20
    results = results_of(run_dir)
    assert summary["usage"]["total_tokens"] == sum(r.usage.total_tokens for r in results if r.usage)
    prompt = sum(r.usage.prompt_tokens for r in results if r.usage)
    completion = sum(r.usage.completion_tokens for r in results if r.usage)
    assert summary["cost_usd"] == pytest.approx((prompt * 3.00 + completion * 15.00) / 1e6)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "AKIA" not in json.dumps(manifest) and SECRET_KEY not in (run_dir / "results.jsonl").read_text()


def test_usage_missing_from_the_reply_is_unknown_usage_and_cost(
    fake_bedrock: BedrockServerThread, tmp_path: Path
) -> None:
    fake_bedrock.configure(usage="omit")
    _, [result] = run(bedrock_config(tmp_path, fake_bedrock), samples(1), tmp_path / "r.jsonl")
    assert result.ok and result.usage is None and result.cost_usd is None  # priced model: unknown, not $0


def test_an_unknown_model_costs_unknown_and_runner_pricing_wins(
    fake_bedrock: BedrockServerThread, tmp_path: Path
) -> None:
    config = bedrock_config(tmp_path, fake_bedrock, model="acme.house-model-v1:0")
    _, [unknown] = run(config, samples(1), tmp_path / "a.jsonl")
    assert unknown.ok and unknown.usage is not None and unknown.cost_usd is None
    priced = bedrock_config(
        tmp_path,
        fake_bedrock,
        model="acme.house-model-v1:0",
        pricing={"prompt_per_1m": 1e6, "completion_per_1m": 0},
    )
    _, [known] = run(priced, samples(1), tmp_path / "b.jsonl")
    assert known.cost_usd == pytest.approx(known.usage.prompt_tokens)


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", (3.00, 15.00)),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", (3.00, 15.00)),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", (3.00, 15.00)),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", (3.00, 15.00)),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", (3.30, 16.50)),  # geographic: +10%
        ("amazon.nova-lite-v1:0", (0.06, 0.24)),
        ("meta.llama3-1-70b-instruct-v1:0", (0.72, 0.72)),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", (0.80, 3.20)),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
            (0.72, 0.72),
        ),
        ("eu.amazon.nova-lite-v1:0", None),  # Nova's EU price differs from the US one
        ("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", None),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdef123456", None),  # hourly
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdef123456", None),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0-typo", None),
    ],
)
def test_the_price_table(model: str, price: tuple[float, float] | None) -> None:
    found = bedrock_price(model)
    assert (None if found is None else (found.prompt_per_1m, found.completion_per_1m)) == (
        None if price is None else pytest.approx(price)
    )


# --------------------------------------------------------------------------- errors and retries


def test_throttling_is_retried_after_the_servers_delay(
    fake_bedrock: BedrockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")  # botocore's own retries stay off regardless
    fake_bedrock.configure(fail_first=1, fail_status=429, retry_after=0.4)
    config = bedrock_config(tmp_path, fake_bedrock, max_retries=2, concurrency=1)

    stats, results = run(config, samples(3), tmp_path / "r.jsonl")

    assert stats.n_errors == 0 and sorted(r.attempts for r in results) == [1, 1, 2]
    stats_now = fake_bedrock.stats()
    assert stats_now["rejected"][0][:2] == [429, "ThrottlingException"]
    arrivals = stats_now["arrivals"]
    assert len(arrivals) == 4  # one retry, by the engine: botocore made no attempt of its own
    first, retry = [t for t, text in arrivals if text == arrivals[0][1]]
    assert retry - first >= 0.4  # Retry-After honoured


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (503, "ServiceUnavailableException", "InternalServerError"),
        (500, "InternalServerException", "InternalServerError"),
        (429, "ModelNotReadyException", "RateLimitError"),
    ],
)
def test_transient_errors_are_retried_and_keep_the_aws_code(
    fake_bedrock: BedrockServerThread, tmp_path: Path, status: int, code: str, kind: str
) -> None:
    fake_bedrock.configure(fail_first=3, fail_status=status, fail_code=code, retry_after=0)
    config = bedrock_config(tmp_path, fake_bedrock, max_retries=2)
    _, [failed] = run(config, samples(1), tmp_path / "a.jsonl")
    assert failed.error is not None and failed.attempts == 3 and fake_bedrock.stats()["count"] == 3
    assert (failed.error.type, failed.error.status_code) == (kind, status)
    assert f"{code}: " in failed.error.message
    _, [recovered] = run(config, samples(1), tmp_path / "b.jsonl")  # the 4th call answers
    assert recovered.ok


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, "BadRequestError", "ValidationException"),
        (403, "PermissionDeniedError", "AccessDeniedException"),
        (404, "NotFoundError", "ResourceNotFoundException"),
        (424, "APIStatusError", "ModelErrorException"),
    ],
)
def test_a_client_error_is_that_samples_error_and_not_retried(
    fake_bedrock: BedrockServerThread, tmp_path: Path, status: int, kind: str, code: str
) -> None:
    fake_bedrock.configure(fail_first=1, fail_status=status)
    config = bedrock_config(tmp_path, fake_bedrock, max_retries=3, concurrency=1)

    stats, results = run(config, samples(2), tmp_path / "r.jsonl")

    assert stats.n_errors == 1 and fake_bedrock.stats()["count"] == 2  # no retry
    error = results[0].error
    assert error is not None and (error.type, error.status_code, results[0].attempts) == (kind, status, 1)
    assert error.message.startswith(f"Error code: {status} - {code}: ")
    assert results[1].ok


def test_a_wrong_secret_is_the_servers_signature_error(
    fake_bedrock: BedrockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-0000000000000000000000000")
    _, [result] = run(bedrock_config(tmp_path, fake_bedrock, max_retries=2), samples(1), tmp_path / "r.jsonl")
    assert result.error is not None and result.error.type == "PermissionDeniedError" and result.attempts == 1
    assert "InvalidSignatureException: The request signature we calculated" in result.error.message


def test_a_hung_call_times_out(fake_bedrock: BedrockServerThread, tmp_path: Path) -> None:
    fake_bedrock.configure(hang_first=1)
    config = bedrock_config(tmp_path, fake_bedrock, timeout_s=0.5, max_retries=0, concurrency=1)
    _, results = run(config, samples(2), tmp_path / "r.jsonl")
    assert [r.error.type if r.error else None for r in results] == ["APITimeoutError", None]
    assert results[0].error is not None and "no reply within 0.5 s (timeout_s" in results[0].error.message


def test_a_dead_endpoint_is_a_connection_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = make_config(
        tmp_path, backend="bedrock", model=MODEL, base_url=f"http://127.0.0.1:{port}", max_retries=1
    )
    _, [result] = run(config, samples(1), tmp_path / "r.jsonl")
    assert result.error is not None and result.error.type == "APIConnectionError" and result.attempts == 2


@pytest.mark.parametrize(
    ("content", "stop", "kind", "words"),
    [
        (
            [{"reasoningContent": {"reasoningText": {"text": "hmm"}}}, {"text": "Paris"}],
            "end_turn",
            None,
            "Paris",
        ),
        ([{"text": "Par"}, {"text": "is"}], "end_turn", None, "Paris"),
        ([{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}], "tool_use", "EmptyAnswer", "toolUse"),
        ([], "content_filtered", "EmptyAnswer", "content_filtered"),
    ],
)
def test_the_answer_is_the_text_blocks(
    fake_bedrock: BedrockServerThread,
    tmp_path: Path,
    content: list[Any],
    stop: str,
    kind: str | None,
    words: str,
) -> None:
    fake_bedrock.configure(content=content, stop_reason=stop)
    _, [result] = run(bedrock_config(tmp_path, fake_bedrock, max_retries=0), samples(1), tmp_path / "r.jsonl")
    assert result.finish_reason == stop
    if kind is None:
        assert result.output == words
    else:
        assert result.error is not None and result.error.type == kind and words in result.error.message
    assert result.usage is not None and result.usage.prompt_tokens > 0  # answered: billed either way


def test_a_reply_that_is_not_json_is_an_invalid_response(
    fake_bedrock: BedrockServerThread, tmp_path: Path
) -> None:
    fake_bedrock.configure(raw_reply="<html>Bad gateway</html>", raw_content_type="text/html")
    _, [result] = run(bedrock_config(tmp_path, fake_bedrock, max_retries=0), samples(1), tmp_path / "r.jsonl")
    assert result.error is not None and result.error.type == "InvalidResponse"
    assert "not a Converse response" in result.error.message and "text/html" in result.error.message


def test_twenty_percent_injected_errors(fake_bedrock: BedrockServerThread, tmp_path: Path) -> None:
    """Every 5th request fails with a 500; with max_retries: 2 every sample still answers."""
    rows = qa_rows()
    fake_bedrock.configure(
        answers={r["question"]: r["answer"] for r in rows}, fail_every=5, fail_status=500, retry_after=0
    )
    # One call at a time, so each failure's retry is the next request. With several in flight a
    # retry can land on the next 5th request too, and a sample can fail three times running.
    config = bedrock_config(tmp_path, fake_bedrock, max_retries=2, concurrency=1)
    items = [sample(r["qid"], r["question"], system="Answer with one or two words.") for r in rows]

    stats, results = run(config, items, tmp_path / "r.jsonl")

    answers = {r["qid"]: r["answer"] for r in rows}
    correct = sum(r.output == answers[r.sample_id] for r in results)
    server = fake_bedrock.stats()
    retries = sum(r.attempts - 1 for r in results)
    # 24 requests: the 5th, 10th, 15th and 20th failed and each was retried once, successfully.
    assert (correct, stats.n_errors, server["count"], server["faults_served"]["fail"], retries) == (
        20,
        0,
        24,
        4,
        4,
    )


# --------------------------------------------------------------------------- cache identity


def test_the_cache_replays_the_same_config_and_misses_on_another_region_or_endpoint(
    fake_bedrock: BedrockServerThread, tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    env = subprocess_env(plugin_env, tmp_path)
    pipeline = qa_pipeline(tmp_path, fake_bedrock.url)
    first = run_dir_of(cli(["run", pipeline], cwd=tmp_path, env=env))
    assert fake_bedrock.stats()["count"] == 20

    # The same config: every answer is replayed, nothing is sent.
    replay = run_dir_of(cli(["run", pipeline], cwd=tmp_path, env=env))
    assert all(r.cached for r in results_of(replay)) and fake_bedrock.stats()["count"] == 20

    # The same model in another region is another deployment: asked again.
    fake_bedrock.configure(region="us-west-2")
    qa_pipeline(tmp_path, fake_bedrock.url, runner="  options: {region: us-west-2}\n")
    other_region = run_dir_of(cli(["run", pipeline], cwd=tmp_path, env=env))
    assert not any(r.cached for r in results_of(other_region)) and fake_bedrock.stats()["count"] == 40

    # Another endpoint serving the same model id: asked too.
    with serve_in_thread(FakeBedrockConfig(answers={"capital": "somewhere"})) as other:
        qa_pipeline(tmp_path, other.url)
        proc = cli(["run", pipeline], cwd=tmp_path, env=env)
        elsewhere = run_dir_of(proc)
        assert other.stats()["count"] == 20
    assert not any(r.cached for r in results_of(elsewhere))
    assert {
        r.output for r in results_of(elsewhere) if "capital" in r.sample_id or r.sample_id.startswith("cap")
    } == {"somewhere"}
    assert first != replay != other_region != elsewhere


def test_identity_names_region_and_endpoint_but_not_who_pays(
    fake_bedrock: BedrockServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def identity(**runner: Any) -> dict[str, Any]:
        config = bedrock_config(tmp_path, fake_bedrock, **runner).runner
        backend = BedrockBackend(config, BackendContext(tmp_path, 0))
        import asyncio

        async def started() -> dict[str, Any]:
            await backend.start()
            try:
                return backend.identity()
            finally:
                await backend.aclose()

        return asyncio.run(started())

    base = identity()
    assert base == {
        "backend": "bedrock",
        "model": MODEL,
        "options": {},
        "region": "us-east-1",
        "endpoint": fake_bedrock.url,
    }
    assert identity(options={"region": "us-east-1"}) == base  # written in YAML or in the env: one region
    assert identity(options={"region": "eu-central-1"})["region"] == "eu-central-1"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOTHERACCOUNT0000")  # another account: same answers
    assert identity() == base
    assert identity(base_url=f"{fake_bedrock.url}/proxy")["endpoint"] == f"{fake_bedrock.url}/proxy"


# --------------------------------------------------------------------------- checks, before any call


@pytest.mark.parametrize(
    ("runner", "env", "message"),
    [
        ({"params": {"seed": 7}}, {}, "runner.params.seed: Converse has no seed"),
        ({"params": {"presence_penalty": 0.5}}, {}, "runner.params.presence_penalty"),
        ({"params": {"temperature": 1.5}}, {}, "Converse takes 0 to 1 (got 1.5)"),
        ({"mode": "completion"}, {}, "completion is not available on Bedrock's Converse API"),
        ({"model": None}, {}, "runner.model: the bedrock backend needs a model id"),
        ({"api_key_env": "OPENAI_API_KEY"}, {}, "the bedrock backend reads no key variable of its own"),
        (
            {"api_key_env": "AWS_BEARER_TOKEN_BEDROCK"},
            {},
            "the environment variable AWS_BEARER_TOKEN_BEDROCK is not set",
        ),
        (
            {"options": {"profile": "nope"}},
            {},
            "runner.options.profile: The config profile (nope) could not be found",
        ),
        ({}, {"AWS_DEFAULT_REGION": None}, "runner.options.region: no AWS region is configured"),
        ({}, {"AWS_SECRET_ACCESS_KEY": None}, "missing: AWS_SECRET_ACCESS_KEY"),
        (
            {},
            {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
            "no AWS credentials found: set AWS_ACCESS_KEY_ID",
        ),
    ],
)
def test_check_names_what_is_missing_without_calling_the_model(
    fake_bedrock: BedrockServerThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runner: dict[str, Any],
    env: dict[str, str | None],
    message: str,
) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(BackendError) as raised:
        check_backend(bedrock_config(tmp_path, fake_bedrock, **runner))
    assert message in str(raised.value)
    assert fake_bedrock.stats()["requests"] == []


def test_missing_credentials_exit_2_with_the_variables_named_and_no_run(
    fake_bedrock: BedrockServerThread, tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    env = subprocess_env(plugin_env, tmp_path)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    pipeline = qa_pipeline(tmp_path, fake_bedrock.url)

    proc = cli(["run", pipeline], cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in proc.stderr
    assert "AWS_PROFILE" in proc.stderr and "AWS_BEARER_TOKEN_BEDROCK" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "ws" / "runs").exists() or not any((tmp_path / "ws" / "runs").iterdir())

    dry = cli(["run", pipeline, "--dry-run"], cwd=tmp_path, env=env)
    assert dry.returncode == 2 and "no AWS credentials found" in dry.stdout + dry.stderr
    assert fake_bedrock.stats()["requests"] == []


def test_the_conformance_checks_pass_with_the_endpoint_from_the_environment(
    fake_bedrock: BedrockServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_so.plugins.testing import check_backend as conformance
    from lm_eval_so.plugins.testing import sample as conformance_sample

    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake_bedrock.url)  # botocore's own variable
    fake_bedrock.configure(answers={"hello": "hi"})
    [completion] = conformance(BedrockBackend, [conformance_sample("hello")], model=MODEL, registered=False)
    assert completion.text == "hi" and completion.usage is not None
    assert fake_bedrock.stats()["count"] == 1


# --------------------------------------------------------------------------- judge, example suite


def test_bedrock_as_the_llm_judge(fake_bedrock: BedrockServerThread, tmp_path: Path) -> None:
    from lm_eval_so import run_pipeline

    (tmp_path / "data.csv").write_text(
        "id,input,expected\n"
        "fr,What is the capital of France?,Paris\n"
        "de,What is the capital of Germany?,Berlin\n"
    )
    (tmp_path / "app.py").write_text(
        "def answer(input):\n    return 'Paris' if 'France' in input else 'Munich'\n"
    )
    # Judge prompts hold the graded answer; the runner's are answered by the python app.
    fake_bedrock.configure(
        answers={
            "Answer to grade:\nParis": "Names the capital.\nSCORE: 5",
            "Answer to grade:\nMunich": "Wrong city.\nSCORE: 1",
        }
    )
    (tmp_path / "pipeline.yaml").write_text(
        "name: judged\nworkspace: ws\ngenerator: {source: data.csv}\n"
        "runner: {backend: python, function: 'app:answer'}\n"
        "evaluator:\n  metrics:\n    - type: llm_judge\n      rubric: The answer names the capital city.\n"
        f"      judge:\n        backend: bedrock\n        model: '{MODEL}'\n"
        f"        base_url: '{fake_bedrock.url}'\n        params: {{temperature: 0, max_tokens: 64}}\n"
    )

    result = run_pipeline(tmp_path / "pipeline.yaml")

    assert result.summary is not None
    assert result.metric("llm_judge").mean == pytest.approx(0.5)  # grades 5 and 1 on 1..5
    requests = fake_bedrock.stats()["requests"]
    assert len(requests) == 2 and all(r["model_id"] == MODEL for r in requests)
    assert all(
        "The answer names the capital city." in r["body"]["messages"][0]["content"][0]["text"]
        for r in requests
    )
    assert result.summary.judge_calls == 2
    usage = result.summary.judge_usage
    assert usage is not None and usage.prompt_tokens > 0
    assert result.summary.judge_cost_usd == pytest.approx(
        (usage.prompt_tokens * 3.00 + usage.completion_tokens * 15.00) / 1e6
    )


def test_the_example_suite_passes_against_the_fake(
    fake_bedrock: BedrockServerThread, tmp_path: Path, plugin_env: dict[str, str]
) -> None:
    rows = list(csv.DictReader(QUESTIONS.open()))
    fake_bedrock.configure(answers={r["question"]: r["answer"] for r in rows})
    env = subprocess_env(plugin_env, tmp_path, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake_bedrock.url)
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", REPO / "example_suites" / "bedrock",
         "--lm-eval-workspace", tmp_path / "ws"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert fake_bedrock.stats()["count"] == 20  # limit: 20

    # Without the endpoint variable the suite is skipped with the reason.
    del env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"]
    skipped = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", REPO / "example_suites" / "bedrock",
         "--lm-eval-workspace", tmp_path / "ws2"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "bedrock_qa: needs AWS_ENDPOINT_URL_BEDROCK_RUNTIME (requires_env)" in skipped.stdout
