"""The one model layer: every reply shape a real OpenAI-compatible server sends, both clients,
honest attempt counts, and the judge on the runner's call path.

Each case runs the real runner against the loopback server and asserts the per-sample outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import KEY, openai_config, run, samples

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.records import RunResult

CLIENTS = ["http", "sdk"]


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def run_one(tmp_path: Path, server: ServerThread, client: str, **runner: Any) -> RunResult:
    settings = {"max_retries": 0, **runner}
    config = openai_config(tmp_path, server.base_url, options={"client": client}, **settings)
    _, [result] = run(config, samples(1), tmp_path / "results.jsonl")
    return result


def completion_json(content: Any, **extra: Any) -> str:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return json.dumps({"id": "x", "model": "m", "choices": [choice], **extra})


# --------------------------------------------------------------------------- reply shapes


@pytest.mark.parametrize("client", CLIENTS)
def test_content_as_a_list_of_parts_is_the_text_parts_joined(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(content_parts=True)
    result = run_one(tmp_path, fake_openai, client)
    assert result.ok and result.output == "echo: question 0"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("body", "content_type", "error_type", "message"),
    [
        (json.dumps({"id": "x", "choices": []}), "application/json", "InvalidResponse", "no choices"),
        (
            "<html><body>Bad gateway</body></html>",
            "text/html",
            "InvalidResponse",
            "not JSON: '<html><body>Bad",
        ),
        (
            json.dumps({"error": {"message": "model is overloaded", "type": "server_error", "code": None}}),
            "application/json",
            "InternalServerError",
            "model is overloaded",
        ),
        (
            json.dumps({"error": {"message": "quota exceeded", "type": "insufficient_quota", "code": 429}}),
            "application/json",
            "RateLimitError",
            "quota exceeded",
        ),
        (completion_json(None, usage=None), "application/json", "EmptyAnswer", "finish_reason='stop'"),
        ("[1, 2]", "application/json", "InvalidResponse", "not an object"),
    ],
)
def test_odd_replies_are_that_samples_error_with_the_servers_words(
    client: str,
    body: str,
    content_type: str,
    error_type: str,
    message: str,
    fake_openai: ServerThread,
    tmp_path: Path,
) -> None:
    fake_openai.configure(raw_reply=body, raw_content_type=content_type)
    result = run_one(tmp_path, fake_openai, client)
    assert result.error is not None, result
    assert result.error.type == error_type and message in result.error.message


@pytest.mark.parametrize("client", CLIENTS)
def test_tool_calls_without_text_are_an_empty_answer(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": None, "tool_calls": [call]},
        "finish_reason": "tool_calls",
    }
    fake_openai.configure(raw_reply=json.dumps({"id": "x", "model": "m", "choices": [choice]}))
    result = run_one(tmp_path, fake_openai, client)
    assert result.error is not None and result.error.type == "EmptyAnswer"
    assert "tool calls" in result.error.message and result.finish_reason == "tool_calls"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("usage", [None, {"prompt_tokens": "3", "completion_tokens": 2}, {"total_tokens": 5}])
def test_missing_or_malformed_usage_is_unknown(
    client: str, usage: Any, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(raw_reply=completion_json("Paris", usage=usage))
    result = run_one(tmp_path, fake_openai, client)
    assert result.ok and result.output == "Paris"
    assert result.usage is None and result.cost_usd is None  # gpt-4o-mini is priced: unknown, not $0


USAGE = {"prompt_tokens": 10, "completion_tokens": 1024, "total_tokens": 1034}


def reply_json(message: dict[str, Any], finish: str, **extra: Any) -> str:
    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
    return json.dumps({"id": "x", "model": "gpt-4o-mini", "choices": [choice], **extra})


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("message", "finish", "said"),
    [
        (
            {"content": None, "reasoning_content": "Let me think..."},
            "length",
            "spent max_tokens on reasoning",
        ),
        (
            {"content": None, "refusal": "I can't help with that."},
            "stop",
            'refused: "I can\'t help with that."',
        ),
        ({"content": [{"type": "image_url", "image_url": {"url": "x"}}]}, "stop", "no text part"),
    ],
)
def test_an_answer_without_text_keeps_the_replys_usage_and_cost(
    client: str, message: dict[str, Any], finish: str, said: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    # The tokens were spent: the failed result is billed as the reply says, never 0 and $0.
    fake_openai.configure(raw_reply=reply_json(message, finish, usage=USAGE))
    result = run_one(tmp_path, fake_openai, client)
    assert result.error is not None and result.error.type == "EmptyAnswer"
    assert said in result.error.message and result.finish_reason == finish
    assert result.usage is not None and result.usage.completion_tokens == 1024
    assert result.cost_usd is not None and result.cost_usd > 0


@pytest.mark.parametrize("client", CLIENTS)
def test_an_answer_without_text_or_usage_has_unknown_cost(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(raw_reply=reply_json({"content": None}, "content_filter"))
    result = run_one(tmp_path, fake_openai, client)
    assert result.error is not None and result.error.type == "EmptyAnswer"
    assert result.usage is None and result.cost_usd is None


@pytest.mark.parametrize("client", CLIENTS)
def test_a_finish_reason_utf8_cannot_hold_is_escaped_on_a_failed_result(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    # It failed the whole run with exit 3 (the result could not be serialised).
    fake_openai.configure(raw_reply=reply_json({"content": None}, "odd\ud800"))
    config = openai_config(tmp_path, fake_openai.base_url, options={"client": client}, max_retries=0)
    _, [result] = run(config, samples(1), tmp_path / "results.jsonl")
    assert result.error is not None and result.finish_reason == "odd\\ud800"


@pytest.mark.parametrize("client", CLIENTS)
def test_an_error_on_the_choice_is_that_samples_error_and_retried(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    # OpenRouter reports an upstream provider's failure on the choice, in a 200.
    message = {"content": "", "role": "assistant"}
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": "error",
        "error": {"code": 502, "message": "Provider returned error"},
    }
    fake_openai.configure(raw_reply=json.dumps({"id": "x", "model": "m", "choices": [choice]}))
    result = run_one(tmp_path, fake_openai, client, max_retries=1)
    assert result.error is not None and result.error.type == "InternalServerError"
    assert result.error.status_code == 502 and "Provider returned error" in result.error.message
    assert result.attempts == 2


@pytest.mark.parametrize("client", CLIENTS)
def test_a_providers_own_error_code_is_not_taken_for_an_http_status(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    body = {"error": {"code": "1301", "message": "content may be unsafe"}}
    fake_openai.configure(raw_reply=json.dumps(body))
    result = run_one(tmp_path, fake_openai, client, max_retries=1)
    assert result.error is not None and result.error.type == "APIStatusError"
    assert "content may be unsafe" in result.error.message and result.attempts == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_a_gzipped_reply_is_read(client: str, fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(gzip=True)
    result = run_one(tmp_path, fake_openai, client)
    assert result.ok and result.output == "echo: question 0" and result.usage is not None


@pytest.mark.parametrize("client", CLIENTS)
def test_a_lone_surrogate_in_the_reply_is_invalid_answer(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(raw_reply=completion_json("bad \ud800"))
    result = run_one(tmp_path, fake_openai, client)
    assert result.error is not None and result.error.type == "InvalidAnswer"


def test_every_reply_shape_can_be_read_back_and_cached(fake_openai: ServerThread, tmp_path: Path) -> None:
    # The cache stores only what a result record can hold: a list of parts is stored as text.
    fake_openai.configure(content_parts=True)
    config = openai_config(tmp_path, fake_openai.base_url, cache="read_write")
    run(config, samples(2), tmp_path / "a.jsonl", cache_dir=tmp_path / "cache")
    _, results = run(config, samples(2), tmp_path / "b.jsonl", cache_dir=tmp_path / "cache")
    assert all(r.cached and r.output and r.output.startswith("echo: question") for r in results)


# --------------------------------------------------------------------------- attempts


@pytest.mark.parametrize("client", CLIENTS)
def test_attempts_count_every_request_on_the_wire(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(drop_first=100)  # every connection is closed without a reply
    config = openai_config(tmp_path, fake_openai.base_url, options={"client": client}, max_retries=2)
    _, [result] = run(config, samples(1), tmp_path / "results.jsonl")
    assert result.error is not None and result.error.type == "APIConnectionError"
    arrived = len(fake_openai.stats()["arrivals"])
    assert result.attempts == arrived == 3  # 1 + max_retries, nothing re-sent behind our back


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("status", [301, 307, 308])
def test_a_redirect_is_not_followed_but_named(
    client: str, status: int, fake_openai: ServerThread, tmp_path: Path
) -> None:
    # Followed, a 307 put two POSTs on the wire for one attempt, and a loop ten per attempt.
    fake_openai.configure(redirect_status=status, redirect_to="http://user:pw-9x@elsewhere.test/v1")
    result = run_one(tmp_path, fake_openai, client, max_retries=2)
    assert result.error is not None and result.error.status_code == status
    assert "redirected the request to 'http://***@elsewhere.test/v1'" in result.error.message
    assert "runner.base_url" in result.error.message and "pw-9x" not in result.error.message
    requests = sum(fake_openai.stats()["requests"].values())
    assert result.attempts == requests == 1  # not retried: a wrong base_url does not heal


@pytest.mark.parametrize("client", CLIENTS)
def test_a_reply_cut_off_mid_body_is_a_connection_error_and_retried(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(cut_first=1)
    result = run_one(tmp_path, fake_openai, client, max_retries=1)
    assert result.ok and result.output == "echo: question 0" and result.attempts == 2
    fake_openai.reset()
    fake_openai.configure(cut_first=5)
    (tmp_path / "again").mkdir()
    failed = run_one(tmp_path / "again", fake_openai, client, max_retries=1)
    assert failed.error is not None and failed.error.type == "APIConnectionError"
    assert failed.attempts == 2 and failed.error.message != "Connection error. (Connection error.)"


@pytest.mark.parametrize(
    ("gzipped", "client"),
    [(False, "http"), (True, "http"), (False, "sdk")],
    ids=["content-length", "gzip", "sdk-content-length"],
)
def test_a_reply_larger_than_any_completion_is_not_read_whole(
    gzipped: bool, client: str, fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 300 MiB reply was held whole (1.9 GiB of memory) and stored whole in results.jsonl.
    from lm_eval_so._internal.models import http

    monkeypatch.setattr(http, "MAX_REPLY_BYTES", 4096)
    if gzipped:  # small on the wire, large once decompressed
        fake_openai.configure(gzip=True, answers={"question 0": "x" * 20_000})
    else:
        fake_openai.configure(raw_reply=completion_json("x" * 20_000))
    result = run_one(tmp_path, fake_openai, client, max_retries=2)
    assert result.error is not None and result.error.type == "InvalidResponse"
    assert result.attempts == 1  # the same reply would come again: not retried
    assert "larger than 0 MiB" not in result.error.message  # worded from the limit
    assert "not a completion" in result.error.message and result.output is None
    assert (tmp_path / "results.jsonl").stat().st_size < 4096


def test_a_reply_under_the_limit_is_read(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(raw_reply=completion_json("y" * 100_000))
    result = run_one(tmp_path, fake_openai, "http")
    assert result.ok and result.output == "y" * 100_000
