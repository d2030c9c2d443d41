"""Retries and rate limits against injected 429/500/timeouts, through both HTTP clients.

Waits are checked from the server's own arrival times, with generous margins and only as
lower bounds (a wait that is too short is a bug; a slow machine is not).
"""

from __future__ import annotations

import itertools
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import KEY, openai_config, run, samples

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.models.retry import is_retryable, parse_retry_after

CLIENTS = ["http", "sdk"]


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def config_for(tmp_path: Path, server: ServerThread, client: str, **runner: Any) -> Any:
    return openai_config(tmp_path, server.base_url, options={"client": client}, **runner)


def assert_each_once(results: list[RunResult], n: int) -> None:
    keys = [(r.sample_id, r.repeat) for r in results]
    assert len(keys) == len(set(keys)) == n


def arrival_gaps(server: ServerThread, text: str) -> list[float]:
    times = [t for t, prompt in server.stats()["arrivals"] if prompt == text]
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize("client", CLIENTS)
def test_429_is_retried_honouring_retry_after(client: str, fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=1, fail_status=429, retry_after=0.3)
    config = config_for(tmp_path, fake_openai, client, max_retries=3, concurrency=1)

    stats, results = run(config, samples(4), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert_each_once(results, 4)
    assert sorted(r.attempts for r in results) == [1, 1, 1, 2]
    [gap] = arrival_gaps(fake_openai, "question 0")
    assert gap >= 0.3


def test_retry_after_ms_is_honoured(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=1, fail_status=429, retry_after_ms=400)
    config = config_for(tmp_path, fake_openai, "fast", max_retries=2, concurrency=1)

    stats, _ = run(config, samples(1), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert arrival_gaps(fake_openai, "question 0")[0] >= 0.4


def test_retry_after_as_an_http_date_is_honoured(fake_openai: ServerThread, tmp_path: Path) -> None:
    # HTTP dates have one-second resolution: ask for 2 s, expect at least 1 s.
    fake_openai.configure(fail_first=1, fail_status=503, retry_after=2.0, retry_after_date=True)
    config = config_for(tmp_path, fake_openai, "fast", max_retries=2, concurrency=1)

    stats, _ = run(config, samples(1), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert arrival_gaps(fake_openai, "question 0")[0] >= 1.0


@pytest.mark.parametrize("client", CLIENTS)
def test_500s_are_retried_until_every_sample_completes(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(fail_first=12, fail_status=500, retry_after=0.01)
    config = config_for(tmp_path, fake_openai, client, max_retries=8, concurrency=4)

    stats, results = run(config, samples(20), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert_each_once(results, 20)
    assert sum(r.attempts for r in results) == 20 + 12  # every failed attempt was retried once
    assert len(fake_openai.stats()["arrivals"]) == 32


@pytest.mark.parametrize("client", CLIENTS)
def test_timeouts_are_retried(client: str, fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(hang_first=2)
    config = config_for(tmp_path, fake_openai, client, timeout_s=0.3, max_retries=3, concurrency=2)

    stats, results = run(config, samples(5), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert_each_once(results, 5)
    assert sum(r.attempts for r in results) == 7


@pytest.mark.parametrize("client", CLIENTS)
def test_other_4xx_are_not_retried(client: str, fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=1, fail_status=400)
    config = config_for(tmp_path, fake_openai, client, max_retries=5, concurrency=1)

    stats, results = run(config, samples(3), tmp_path / "results.jsonl")

    [failed] = [r for r in results if r.error]
    assert failed.error is not None
    assert (failed.error.type, failed.error.status_code, failed.attempts) == ("BadRequestError", 400, 1)
    assert failed.error.message.startswith("Error code: 400 - ")
    assert len(fake_openai.stats()["arrivals"]) == 3
    assert stats.n_errors == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_exhausted_retries_leave_an_error_result(
    client: str, fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(fail_first=100, fail_status=429, retry_after=0.01)
    config = config_for(tmp_path, fake_openai, client, max_retries=2, concurrency=2)

    stats, results = run(config, samples(3), tmp_path / "results.jsonl")

    assert_each_once(results, 3)
    assert stats.n_errors == 3
    for result in results:
        assert result.error is not None
        assert (result.error.type, result.error.status_code, result.attempts) == ("RateLimitError", 429, 3)
    assert len(fake_openai.stats()["arrivals"]) == 9


def test_requests_per_minute_are_limited(fake_openai: ServerThread, tmp_path: Path) -> None:
    # 1200 rpm = 20/s with a one-second burst: 40 calls need at least ~1 s.
    config = config_for(tmp_path, fake_openai, "fast", concurrency=16, rate_limit={"rpm": 1200})

    stats, results = run(config, samples(40), tmp_path / "results.jsonl")

    assert stats.n_errors == 0 and len(results) == 40
    times = sorted(t for t, _ in fake_openai.stats()["arrivals"])
    assert times[-1] - times[0] >= 0.8


def test_tokens_per_minute_are_limited(fake_openai: ServerThread, tmp_path: Path) -> None:
    # Each call is estimated at 2 prompt + 100 completion tokens; 6000 tpm = 100 tokens/s.
    params = {"max_tokens": 100}
    config = config_for(tmp_path, fake_openai, "fast", concurrency=8, rate_limit={"tpm": 6000}, params=params)

    run(config, samples(3), tmp_path / "results.jsonl")

    times = sorted(t for t, _ in fake_openai.stats()["arrivals"])
    assert times[-1] - times[0] >= 1.5  # ~2 s for the two calls beyond the burst


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    in_ten = parse_retry_after({"retry-after": formatdate(time.time() + 10, usegmt=True)})
    assert in_ten is not None and 8 <= in_ten <= 10
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "100000"}) == 120.0  # capped
    assert parse_retry_after({}) is None


def test_what_is_retryable() -> None:
    class Status(Exception):
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    assert all(is_retryable(Status(code)) for code in (408, 409, 429, 500, 502, 503))
    assert not any(is_retryable(Status(code)) for code in (400, 401, 403, 404, 422))
    assert is_retryable(TimeoutError()) and is_retryable(ConnectionResetError())
    assert not is_retryable(ValueError("bad json"))
