"""The gemini backend: the google-genai SDK against a loopback Gemini API / Vertex AI server.

Each test runs the real runner (in-process, or the CLI as a user runs it) and asserts what the
SDK put on the wire, what the result records say, and what the summary reports.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import make_config, run, sample, samples

from fake_gemini.server import ACCESS_TOKEN, API_KEY, GeminiFake, serve_gemini
from lm_eval_so._internal.common.config import RunnerConfig, config_from_text
from lm_eval_so._internal.common.errors import BackendError, ConfigError
from lm_eval_so._internal.common.records import Message, RunResult
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.models.backends.gemini import GeminiBackend, lookup_gemini_price
from lm_eval_so._internal.models.base import BackendContext
from lm_eval_so._internal.models.pricing import cost_for

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "example_suites" / "local_qa" / "questions.csv"
ROWS = list(csv.DictReader(QUESTIONS.open(encoding="utf-8")))
WRONG = {"cap-03", "col-02", "ani-01"}  # the fake answers these wrongly: accuracy 32/35 exactly
QA_ANSWERS = {r["question"]: ("no idea" if r["qid"] in WRONG else r["answer"]) for r in ROWS}
SYSTEM = "Answer with one or two words, nothing else."
MODEL = "gemini-2.5-flash"
# Variables the SDK or google-auth read: none of the developer's own may leak into a test.
GOOGLE_VARIABLES = (
    "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION", "GOOGLE_APPLICATION_CREDENTIALS",
    "GCLOUD_PROJECT", "GOOGLE_GENAI_CLIENT_MODE",
)  # fmt: skip


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[GeminiFake]:
    with serve_gemini() as fake:
        yield fake


@pytest.fixture
def gemini(server: GeminiFake) -> Iterator[GeminiFake]:
    server.reset()
    yield server
    server.reset()


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for PYTHONPATH that registers ``gemini`` in a subprocess, until the installed
    lm-eval-so declares the entry point itself (then it stays empty)."""
    root = tmp_path_factory.mktemp("gemini_plugin")
    if "gemini" not in registry.names("backends"):
        info = root / "lm_eval_so_gemini_dev-0.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lm-eval-so-gemini-dev\nVersion: 0.0.0\n")
        (info / "entry_points.txt").write_text(
            "[lm_eval_so.backends]\ngemini = lm_eval_so._internal.models.backends.gemini:GeminiBackend\n"
        )
    return root


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in GOOGLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
    # google-auth: no gcloud config of the developer's, no metadata-server probe.
    (tmp_path / "gcloud").mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    registered = "gemini" not in registry.names("backends")
    if registered:
        registry.register("backends", "gemini", GeminiBackend)
    yield
    if registered:
        registry.unregister("backends", "gemini")


def gemini_config(tmp_path: Path, base_url: str, **runner: Any) -> Any:
    settings = {"backend": "gemini", "model": MODEL, "base_url": base_url, "max_retries": 0, **runner}
    return make_config(tmp_path, **settings)


def run_one(tmp_path: Path, fake: GeminiFake, items: list[Any] | None = None, **runner: Any) -> RunResult:
    config = gemini_config(tmp_path, fake.url, **runner)
    _, results = run(config, items or samples(1), tmp_path / "results.jsonl")
    return results[0]


def env_for_cli(plugin_dir: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    prefixes = ("OPENAI_", "LM_EVAL_SO_", "PYTEST_", "GOOGLE_", "GEMINI_", "GCLOUD", "CLOUDSDK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    gcloud = tmp_path / "gcloud-cli"
    gcloud.mkdir(exist_ok=True)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH")])),
        CLOUDSDK_CONFIG=str(gcloud),
        NO_GCE_CHECK="true",
        GCE_METADATA_HOST=f"127.0.0.1:{_dead_port()}",
        GCE_METADATA_IP=f"127.0.0.1:{_dead_port()}",
    )
    env.update(extra)
    return env


def cli(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def qa_pipeline(folder: Path, runner: str, *, name: str = "gemini_qa", metrics: str = "") -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: {name}\nworkspace: ws\n"
        f"generator:\n  source: {QUESTIONS}\n  fields: {{id: qid, input: question, expected: answer}}\n"
        f"  prompt:\n    system: {SYSTEM}\n    template: '{{input}}'\n"
        f"runner:\n{runner}"
        "evaluator:\n  metrics:\n    - type: exact_match\n      normalize: [strip, lower, punctuation]\n"
        f"{metrics}"
    )
    return path


def runner_yaml(base_url: str, **extra: Any) -> str:
    lines = ["backend: gemini", f"model: {MODEL}", f"base_url: {base_url}"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in extra.items()]
    return "".join(f"  {line}\n" for line in lines)


def run_dir_of(proc: subprocess.CompletedProcess[str]) -> Path:
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def read_results(run_dir: Path) -> list[RunResult]:
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    return [RunResult.model_validate_json(line) for line in lines if line.strip()]


def summary_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def generate_path(model: str = MODEL, version: str = "v1") -> str:
    return f"/{version}/models/{model}:generateContent"


# --------------------------------------------------------------------------- the request


def test_the_request_the_sdk_sends(gemini: GeminiFake, tmp_path: Path) -> None:
    params = {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 32,
        "stop": ["\n\n"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
    }
    item = sample("s0", "question 0", system="Answer briefly.")
    result = run_one(tmp_path, gemini, [item], params=params, timeout_s=20)
    assert result.ok and result.output == "echo: question 0", result
    assert (result.finish_reason, result.model, result.attempts) == ("STOP", MODEL, 1)

    stats = gemini.stats()
    assert stats["requests"] == {generate_path(): 1}  # the SDK's default API version is v1
    headers, body = stats["headers"][0], stats["bodies"][0]
    assert headers["x-goog-api-key"] == API_KEY and stats["queries"][0] == {}  # a header, not ?key=
    assert headers["x-goog-api-client"].startswith("google-genai-sdk/")
    assert headers["X-Server-Timeout"] == "20"  # runner.timeout_s, told to the server too
    assert body["systemInstruction"] == {"parts": [{"text": "Answer briefly."}], "role": "user"}
    assert body["contents"] == [{"parts": [{"text": "question 0"}], "role": "user"}]
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 32,
        "stopSequences": ["\n\n"],
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": 0.25,
    }
    assert set(body) == {"contents", "systemInstruction", "generationConfig"}


def test_a_conversation_keeps_its_turns_and_every_system_message(gemini: GeminiFake, tmp_path: Path) -> None:
    from lm_eval_so._internal.common.records import DatasetSample

    messages = [
        Message(role="system", content="Be terse."),
        Message(role="user", content="hello"),
        Message(role="assistant", content="hi"),
        Message(role="system", content="Answer in French."),
        Message(role="user", content="question 1"),
    ]
    item = DatasetSample(id="c", input="question 1", messages=messages)
    result = run_one(tmp_path, gemini, [item])
    assert result.ok and result.output == "echo: question 1"
    body = gemini.stats()["bodies"][0]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert [c["parts"][0]["text"] for c in body["contents"]] == ["hello", "hi", "question 1"]
    assert body["systemInstruction"]["parts"] == [{"text": "Be terse."}, {"text": "Answer in French."}]
    assert body.get("generationConfig", {}) == {}  # nothing set, nothing sent: the model's defaults


def test_extra_body_reaches_gemini_only_fields(gemini: GeminiFake, tmp_path: Path) -> None:
    extra = {"generationConfig": {"topK": 40, "thinkingConfig": {"thinkingBudget": 0}}}
    result = run_one(tmp_path, gemini, params={"temperature": 0, "extra_body": extra})
    assert result.ok
    config = gemini.stats()["bodies"][0]["generationConfig"]
    assert config == {"temperature": 0.0, "topK": 40, "thinkingConfig": {"thinkingBudget": 0}}


def test_api_version_option_picks_the_path(gemini: GeminiFake, tmp_path: Path) -> None:
    result = run_one(tmp_path, gemini, options={"api_version": "v1beta"})
    assert result.ok
    assert gemini.stats()["requests"] == {generate_path(version="v1beta"): 1}


@pytest.mark.parametrize(
    ("variables", "runner"),
    [
        ({"GOOGLE_API_KEY": API_KEY, "GEMINI_API_KEY": "a-stale-key"}, {}),  # the SDK's order
        ({"GOOGLE_API_KEY": API_KEY}, {}),
        ({"GEMINI_API_KEY": "unused", "MY_GEMINI_KEY": API_KEY}, {"api_key_env": "MY_GEMINI_KEY"}),
    ],
    ids=["google-wins", "google-only", "api_key_env"],
)
def test_which_key_is_sent(
    variables: dict[str, str],
    runner: dict[str, Any],
    gemini: GeminiFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = run_one(tmp_path, gemini, **runner)
    assert result.ok, result.error
    assert gemini.stats()["headers"][0]["x-goog-api-key"] == API_KEY


# --------------------------------------------------------------------------- replies


def test_thinking_tokens_are_completion_tokens_and_thoughts_are_not_the_answer(
    gemini: GeminiFake, tmp_path: Path
) -> None:
    gemini.configure(thoughts=12, answers={"question": "Paris"})
    thinking = {"generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    result = run_one(tmp_path, gemini, params={"extra_body": thinking})
    assert result.ok and result.output == "Paris"  # the thought part is left out
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (2, 1 + 12)
    assert result.usage.total_tokens == 15
    assert result.cost_usd == pytest.approx((2 * 0.30 + 13 * 2.50) / 1e6)


@pytest.mark.parametrize(
    ("fault", "finish", "words"),
    [
        ({"no_content": True, "finish_reason": "SAFETY"}, "SAFETY", "no content"),
        ({"block_reason": "PROHIBITED_CONTENT"}, "PROHIBITED_CONTENT", "blocked the prompt"),
        ({"thoughts_only": True, "thoughts": 30}, "MAX_TOKENS", "spent on thinking"),
    ],
    ids=["safety", "prompt-blocked", "thoughts-only"],
)
def test_no_text_is_an_empty_answer_with_the_reason(
    fault: dict[str, Any], finish: str, words: str, gemini: GeminiFake, tmp_path: Path
) -> None:
    gemini.configure(**fault)
    result = run_one(tmp_path, gemini)
    assert result.error is not None and result.error.type == "EmptyAnswer", result
    assert result.finish_reason == finish and words in result.error.message
    assert result.attempts == 1  # a refusal does not heal by asking again
    assert result.usage is not None and result.usage.prompt_tokens > 0  # answered: billed


@pytest.mark.parametrize("usage", ["omit", "no_prompt"])
def test_missing_usage_is_unknown_not_zero(usage: str, gemini: GeminiFake, tmp_path: Path) -> None:
    gemini.configure(usage=usage)
    result = run_one(tmp_path, gemini)
    assert result.ok and result.usage is None and result.cost_usd is None


def test_a_zero_count_left_out_by_google_is_read_from_the_total(gemini: GeminiFake, tmp_path: Path) -> None:
    gemini.configure(answers={"question": ""})  # no words: candidatesTokenCount is omitted
    result = run_one(tmp_path, gemini)
    assert result.ok and result.output == ""
    assert result.usage is not None and result.usage.completion_tokens == 0
    assert result.usage.prompt_tokens == 2 and result.cost_usd == pytest.approx(2 * 0.30 / 1e6)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("<html>Bad gateway</html>", "not a GenerateContentResponse"), ('{"candidates": []}', "no candidates")],
)
def test_a_reply_that_is_not_a_response_is_invalid(
    raw: str, message: str, gemini: GeminiFake, tmp_path: Path
) -> None:
    gemini.configure(raw_reply=raw)
    result = run_one(tmp_path, gemini)
    assert result.error is not None and result.error.type == "InvalidResponse"
    assert message in result.error.message


# --------------------------------------------------------------------------- errors and retries


def _gaps(stats: dict[str, Any]) -> list[float]:
    times = [t for t, _ in stats["arrivals"]]
    return [b - a for a, b in itertools.pairwise(times)]


def test_a_429_waits_for_retry_after(gemini: GeminiFake, tmp_path: Path) -> None:
    gemini.configure(fail_first=1, fail_status=429, retry_after=1)
    result = run_one(tmp_path, gemini, max_retries=2)
    assert result.ok and result.attempts == 2
    [gap] = _gaps(gemini.stats())
    assert gap >= 1.0  # the server's Retry-After, not the engine's (shorter) backoff


def test_a_429_waits_for_the_retry_info_in_the_body(gemini: GeminiFake, tmp_path: Path) -> None:
    # Google sends the delay as google.rpc.RetryInfo in the error body, not as a header.
    gemini.configure(fail_first=1, fail_status=429, retry_delay="0.8s")
    result = run_one(tmp_path, gemini, max_retries=2)
    assert result.ok and result.attempts == 2
    [gap] = _gaps(gemini.stats())
    assert gap >= 0.8


def test_server_errors_are_retried_by_the_engine_only(gemini: GeminiFake, tmp_path: Path) -> None:
    gemini.configure(fail_first=2, fail_status=503)
    result = run_one(tmp_path, gemini, max_retries=2)
    assert result.ok and result.attempts == 3 == len(gemini.stats()["arrivals"])

    gemini.reset()
    gemini.configure(fail_first=5, fail_status=500)
    result = run_one(tmp_path / "again", gemini, max_retries=0)
    assert result.error is not None and result.error.type == "InternalServerError"
    assert result.error.status_code == 500 and "INTERNAL" in result.error.message
    assert result.attempts == 1 == len(gemini.stats()["arrivals"])  # the SDK sent it once


def test_dropped_connections_are_not_retried_behind_the_engines_back(
    gemini: GeminiFake, tmp_path: Path
) -> None:
    # Left to itself the SDK re-sends once after a 1-10 s sleep on a dropped connection.
    gemini.configure(drop_first=100)
    result = run_one(tmp_path, gemini, max_retries=2)
    assert result.error is not None and result.error.type == "APIConnectionError"
    assert result.attempts == 3 == len(gemini.stats()["arrivals"])


def test_the_timeout_is_per_attempt(gemini: GeminiFake, tmp_path: Path) -> None:
    gemini.configure(hang_first=1)
    result = run_one(tmp_path, gemini, timeout_s=0.5, max_retries=1)
    assert result.ok and result.attempts == 2


@pytest.mark.parametrize(
    ("setup", "error_type", "status", "words"),
    [
        ({"api_key": "another-key"}, "BadRequestError", 400, "API key not valid"),
        ({"fail_first": 1, "fail_status": 404}, "NotFoundError", 404, "NOT_FOUND"),
    ],
    ids=["wrong-key", "not-found"],
)
def test_client_errors_are_recorded_once(
    setup: dict[str, Any], error_type: str, status: int, words: str, gemini: GeminiFake, tmp_path: Path
) -> None:
    gemini.configure(**setup)
    result = run_one(tmp_path, gemini, max_retries=2)
    assert result.error is not None and result.error.type == error_type, result
    assert result.error.status_code == status and words in result.error.message
    assert result.attempts == 1 and sum(gemini.stats()["requests"].values()) == 1


def test_a_field_gemini_does_not_know_is_the_servers_bad_request(gemini: GeminiFake, tmp_path: Path) -> None:
    result = run_one(tmp_path, gemini, params={"extra_body": {"generationConfig": {"bogus": 1}}})
    assert result.error is not None and result.error.type == "BadRequestError"
    assert "Unknown name" in result.error.message and "bogus" in result.error.message


# --------------------------------------------------------------------------- checks before any call


def check(**runner: Any) -> None:
    config = RunnerConfig.model_validate({"backend": "gemini", "model": MODEL, **runner})
    GeminiBackend.check(config, BackendContext(base_dir=Path("."), seed=0))


@pytest.mark.parametrize(
    ("runner", "words"),
    [
        ({"mode": "completion"}, "no text-completion endpoint"),
        ({"params": {"stop": ["a", "b", "c", "d", "e", "f"]}}, "at most 5 stop sequences"),
        ({"params": {"seed": 2**40}}, "32-bit seed"),
        ({"model": None}, "needs a model name"),
        ({"options": {"vertexai": True, "project": "p"}, "api_key_env": "GEMINI_API_KEY"}, "not an API key"),
    ],
    ids=["completion-mode", "six-stops", "int64-seed", "no-model", "vertex-with-key"],
)
def test_what_gemini_cannot_take_is_refused_up_front(runner: dict[str, Any], words: str) -> None:
    with pytest.raises(BackendError, match=words):
        check(**runner)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"project": "p"}, "add `vertexai: true`"),
        ({"api_version": "beta"}, "v1, v1beta or v1beta1"),
        ({"vertexai": True, "location": "us central"}, "one name"),
        ({"region": "us"}, "region"),
    ],
)
def test_options_are_checked_when_the_pipeline_loads(
    options: dict[str, Any], words: str, tmp_path: Path
) -> None:
    text = (
        "name: t\ngenerator: {source: data.csv}\n"
        f"runner:\n  backend: gemini\n  model: {MODEL}\n  options: {json.dumps(options)}\n"
    )
    with pytest.raises(ConfigError, match=r"runner\.options") as info:
        config_from_text(text, tmp_path / "pipeline.yaml", env={})
    assert words in str(info.value) and "pipeline.yaml:6:" in str(info.value)  # located at its line


def test_a_missing_key_is_named_before_any_run(plugin_dir: Path, tmp_path: Path) -> None:
    pipeline = qa_pipeline(tmp_path, runner_yaml("http://127.0.0.1:9"))
    env = env_for_cli(plugin_dir, tmp_path)
    for args in (["run", pipeline], ["run", pipeline, "--dry-run"]):
        proc = cli(*args, cwd=tmp_path, env=env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "neither GEMINI_API_KEY nor GOOGLE_API_KEY is set" in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "ws" / "runs").exists()

    qa_pipeline(tmp_path, runner_yaml("http://127.0.0.1:9", api_key_env="TEAM_GEMINI_KEY"))
    proc = cli("run", pipeline, cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "the environment variable TEAM_GEMINI_KEY is not set" in proc.stderr
    assert not (tmp_path / "ws" / "runs").exists()


# --------------------------------------------------------------------------- whole runs


def test_qa_suite_score_usage_and_cost(gemini: GeminiFake, plugin_dir: Path, tmp_path: Path) -> None:
    gemini.configure(answers=QA_ANSWERS)
    pipeline = qa_pipeline(tmp_path, runner_yaml(gemini.url, params={"temperature": 0, "max_tokens": 16}))
    proc = cli("run", pipeline, cwd=tmp_path, env=env_for_cli(plugin_dir, tmp_path, GEMINI_API_KEY=API_KEY))
    run_dir = run_dir_of(proc)
    summary = summary_of(run_dir)
    assert summary["metrics"]["exact_match"]["mean"] == pytest.approx(32 / 35)
    assert summary["n_results"] == 35 and summary["n_errors"] == 0
    assert sum(gemini.stats()["requests"].values()) == 35

    by_id = {r["qid"]: r for r in ROWS}
    system_words = len(SYSTEM.split())
    total = 0.0
    for result in read_results(run_dir):
        row = by_id[result.sample_id]
        assert result.usage is not None
        assert result.usage.prompt_tokens == system_words + len(row["question"].split())
        assert result.usage.completion_tokens == len(QA_ANSWERS[row["question"]].split())
        expected = (result.usage.prompt_tokens * 0.30 + result.usage.completion_tokens * 2.50) / 1e6
        assert result.cost_usd == pytest.approx(expected)
        total += expected
    assert summary["cost_usd"] == pytest.approx(total) and total > 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "gemini" in json.dumps(manifest) and API_KEY not in json.dumps(manifest)


def test_one_error_in_five_is_absorbed_by_retries(
    gemini: GeminiFake, plugin_dir: Path, tmp_path: Path
) -> None:
    gemini.configure(answers=QA_ANSWERS, fail_every=5, fail_status=500)
    # One call at a time, so each failure's retry is the next request (with several in flight a
    # retry can land on the next 5th request too, and a sample fail three times running).
    runner = runner_yaml(gemini.url, max_retries=2, concurrency=1)
    pipeline = qa_pipeline(tmp_path, runner)
    proc = cli("run", pipeline, cwd=tmp_path, env=env_for_cli(plugin_dir, tmp_path, GEMINI_API_KEY=API_KEY))
    run_dir = run_dir_of(proc)
    results, stats = read_results(run_dir), gemini.stats()
    requests, failures = sum(stats["requests"].values()), stats["faults_served"]["fail"]
    retries = sum(r.attempts - 1 for r in results)
    print(f"20% errors: accuracy {summary_of(run_dir)['metrics']['exact_match']['mean']:.4f}, "
          f"requests {requests}, retries {retries}, failures served {failures}")  # fmt: skip
    assert all(r.ok for r in results) and len(results) == 35
    assert summary_of(run_dir)["metrics"]["exact_match"]["mean"] == pytest.approx(32 / 35)
    assert requests == 35 + failures == 35 + retries and failures == requests // 5


def test_the_cache_replays_the_same_endpoint_and_asks_another(
    gemini: GeminiFake, plugin_dir: Path, tmp_path: Path
) -> None:
    gemini.configure(answers=QA_ANSWERS)
    env = env_for_cli(plugin_dir, tmp_path, GEMINI_API_KEY=API_KEY)
    pipeline = qa_pipeline(tmp_path, runner_yaml(gemini.url, params={"temperature": 0}))
    first = run_dir_of(cli("run", pipeline, "--limit", "5", cwd=tmp_path, env=env))
    again = run_dir_of(cli("run", pipeline, "--limit", "5", cwd=tmp_path, env=env))
    assert sum(gemini.stats()["requests"].values()) == 5
    assert all(r.cached for r in read_results(again)) and not any(r.cached for r in read_results(first))
    assert summary_of(again)["cost_usd"] == pytest.approx(summary_of(first)["cost_usd"])

    with serve_gemini() as other:  # the same model name served elsewhere, answering otherwise
        qa_pipeline(tmp_path, runner_yaml(other.url, params={"temperature": 0}))
        moved = run_dir_of(cli("run", pipeline, "--limit", "5", cwd=tmp_path, env=env))
        assert sum(other.stats()["requests"].values()) == 5
    results = read_results(moved)
    assert not any(r.cached for r in results) and all(r.output.startswith("echo:") for r in results)  # type: ignore[union-attr]


@pytest.fixture
def adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Application Default Credentials: an authorized-user file whose access token is still
    valid, so google-auth sends it as it is and never calls Google's token endpoint."""
    path = tmp_path / "adc.json"
    info = {
        "type": "authorized_user",
        "client_id": "fake.apps.googleusercontent.com",
        "client_secret": "fake-secret",
        "refresh_token": "fake-refresh",
        "token": ACCESS_TOKEN,
        "expiry": "2999-01-01T00:00:00Z",
        "quota_project_id": "billing-project",
    }
    path.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


def test_identity_names_endpoint_api_version_project_and_location(
    adc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def started_identity(backend: GeminiBackend) -> dict[str, Any]:
        await backend.start()  # the engine asks for the identity of a started backend
        try:
            return backend.identity()
        finally:
            await backend.aclose()

    def identity(**runner: Any) -> dict[str, Any]:
        config = RunnerConfig.model_validate({"backend": "gemini", "model": MODEL, **runner})
        return asyncio.run(started_identity(GeminiBackend(config, BackendContext(base_dir=tmp_path, seed=0))))

    base = identity(base_url="http://127.0.0.1:8000")
    assert base["endpoint"] == "http://127.0.0.1:8000" and base["api_version"] == "v1"
    assert base["vertexai"] is False and "project" not in base
    assert identity(base_url="HTTP://127.0.0.1:8000/") == base
    vertex = {"vertexai": True, "project": "p1", "location": "us-central1"}
    variants = [
        identity(),
        identity(base_url="http://127.0.0.1:8001"),
        identity(base_url="http://127.0.0.1:8000", options={"api_version": "v1beta"}),
        identity(options=vertex),
        identity(options={**vertex, "project": "p2"}),
        identity(options={**vertex, "location": "europe-west4"}),
    ]
    assert variants[0]["endpoint"] == "https://generativelanguage.googleapis.com:443"
    assert variants[3]["endpoint"] == "https://us-central1-aiplatform.googleapis.com:443"
    assert (variants[3]["project"], variants[3]["location"], variants[3]["api_version"]) == (
        "p1",
        "us-central1",
        "v1beta1",
    )
    assert len({json.dumps(v, sort_keys=True) for v in [base, *variants]}) == 7
    # A key in the environment is no part of it: who pays does not change the answer.
    monkeypatch.setenv("GOOGLE_API_KEY", "another-key")
    assert identity(base_url="http://127.0.0.1:8000") == base


def test_vertex_ai_with_application_default_credentials(
    adc: Path, gemini: GeminiFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "must-not-be-sent")
    options = {"vertexai": True, "project": "my-project", "location": "us-central1"}
    config = gemini_config(tmp_path, gemini.url, options=options, params={"temperature": 0})
    _, [result] = run(config, [sample("s0", "question 0", system="Be brief.")], tmp_path / "r.jsonl")
    assert result.ok and result.output == "echo: question 0", result
    stats = gemini.stats()
    path = (
        "/v1beta1/projects/my-project/locations/us-central1"
        "/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert stats["requests"] == {path: 1}
    headers = stats["headers"][0]
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers["x-goog-user-project"] == "billing-project"
    assert "x-goog-api-key" not in headers
    body = stats["bodies"][0]
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert body["generationConfig"] == {"temperature": 0.0}


def test_vertex_project_and_location_come_from_the_environment(
    adc: Path, gemini: GeminiFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    result = run_one(tmp_path, gemini, options={"vertexai": True})
    assert result.ok, result.error
    # No location anywhere: "global", as the SDK defaults.
    [path] = gemini.stats()["requests"]
    assert path.startswith("/v1beta1/projects/env-project/locations/global/publishers/google/models/")


def test_vertex_ai_without_credentials_is_one_clear_message(plugin_dir: Path, tmp_path: Path) -> None:
    pipeline = qa_pipeline(
        tmp_path, runner_yaml("http://127.0.0.1:9", options={"vertexai": True, "project": "p"})
    )
    proc = cli("run", pipeline, cwd=tmp_path, env=env_for_cli(plugin_dir, tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if "dataset" not in line]  # not google-auth's log
    assert "no Google Cloud credentials found" in line and "gcloud auth application-default login" in line
    assert not (tmp_path / "ws" / "runs").exists()


def test_gemini_as_the_llm_judge(gemini: GeminiFake, plugin_dir: Path, tmp_path: Path) -> None:
    gemini.configure(answers=QA_ANSWERS)
    with serve_gemini() as judge:
        # The judge's prompt holds the graded answer: a right one gets 5, "no idea" gets 1.
        judge.configure(
            answers={"Answer to grade:\nno idea": "Wrong. SCORE: 1", "Answer to grade:": "SCORE: 5"}
        )
        metrics = (
            "    - type: llm_judge\n      rubric: The answer is correct.\n      judge:\n"
            f"        backend: gemini\n        model: gemini-2.5-flash-lite\n        base_url: {judge.url}\n"
            "        params: {temperature: 0}\n"
        )
        pipeline = qa_pipeline(tmp_path, runner_yaml(gemini.url), metrics=metrics)
        env = env_for_cli(plugin_dir, tmp_path, GEMINI_API_KEY=API_KEY)
        run_dir = run_dir_of(cli("run", pipeline, "--limit", "10", cwd=tmp_path, env=env))
        judge_stats = judge.stats()
    summary = summary_of(run_dir)
    # Samples cap-01..cap-10: cap-03 is answered "no idea" (grade 1 -> 0.0), the rest 5 -> 1.0.
    assert summary["metrics"]["llm_judge"]["mean"] == pytest.approx(0.9)
    assert summary["judge_calls"] == 10
    assert judge_stats["requests"] == {generate_path("gemini-2.5-flash-lite"): 10}
    assert "The answer is correct." in judge_stats["bodies"][0]["contents"][0]["parts"][0]["text"]
    usage = summary["judge_usage"]
    expected = (usage["prompt_tokens"] * 0.10 + usage["completion_tokens"] * 0.40) / 1e6
    assert summary["judge_cost_usd"] == pytest.approx(expected) and expected > 0


def test_the_example_suite_passes_against_the_fake(
    gemini: GeminiFake, plugin_dir: Path, tmp_path: Path
) -> None:
    gemini.configure(answers={r["question"]: r["answer"] for r in ROWS})
    suite = REPO / "example_suites" / "gemini"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", str(suite)]
    workspace = ["--lm-eval-workspace", str(tmp_path / "ws")]
    env = env_for_cli(plugin_dir, tmp_path, GEMINI_API_KEY=API_KEY)
    skipped = subprocess.run(
        [*command, *workspace], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "needs GOOGLE_GEMINI_BASE_URL (requires_env)" in skipped.stdout
    assert sum(gemini.stats()["requests"].values()) == 0

    env["GOOGLE_GEMINI_BASE_URL"] = gemini.url
    proc = subprocess.run(
        [*command, *workspace], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert sum(gemini.stats()["requests"].values()) == 20  # limit: 20


# --------------------------------------------------------------------------- prices


@pytest.mark.parametrize(
    ("model", "prices"),
    [
        ("gemini-2.5-flash", (0.30, 2.50)),
        ("models/gemini-2.5-flash", (0.30, 2.50)),
        ("publishers/google/models/gemini-2.5-pro", (1.25, 10.00)),
        ("gemini-2.0-flash-001", (0.10, 0.40)),
        ("gemini-2.5-flash-lite", (0.10, 0.40)),
        ("gemini-2.0-flash-lite-001", (0.075, 0.30)),
        ("gemini-2.5-flash-preview-04-17", None),  # a preview had its own price: unknown
        ("gemini-flash-latest", None),  # an alias that moves: unknown
        ("gemini-exp-1206", None),
    ],
)
def test_price_table(model: str, prices: tuple[float, float] | None) -> None:
    found = lookup_gemini_price(model)
    assert (None if found is None else (found.prompt_per_1m, found.completion_per_1m)) == prices


def test_cost_comes_from_the_gemini_table_and_runner_pricing_wins() -> None:
    from lm_eval_so._internal.common.records import Usage

    usage = Usage(prompt_tokens=1000, completion_tokens=100, total_tokens=1100)
    config = RunnerConfig.model_validate({"backend": "gemini", "model": "gemini-2.5-pro"})
    assert cost_for(config, usage, GeminiBackend) == pytest.approx((1000 * 1.25 + 100 * 10.0) / 1e6)
    unknown = RunnerConfig.model_validate({"backend": "gemini", "model": "gemini-9-ultra"})
    assert cost_for(unknown, usage, GeminiBackend) is None  # unknown, never $0
    priced = RunnerConfig.model_validate(
        {
            "backend": "gemini",
            "model": "gemini-2.5-pro",
            "pricing": {"prompt_per_1m": 1, "completion_per_1m": 2},
        }
    )
    assert cost_for(priced, usage, GeminiBackend) == pytest.approx((1000 + 200) / 1e6)


def test_importing_the_backend_does_not_import_the_sdk() -> None:
    code = (
        "import sys, lm_eval_so._internal.models.backends.gemini as g; "
        "assert 'google.genai' not in sys.modules and 'google.auth' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
