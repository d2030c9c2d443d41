"""The loopback fake server itself: replies, configuration, and its command-line entry."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from runner_helpers import KEY, openai_config, run, samples

from fake_openai.server import FakeConfig, ServerThread, pick_reply, serve_in_thread, shape_reply

REPO = Path(__file__).resolve().parents[2]


def test_replies_match_exactly_then_by_containment_then_echo() -> None:
    answers = {"capital of France": "Paris", "What is the capital of France?": "exactly Paris"}
    assert pick_reply("What is the capital of France?", answers) == "exactly Paris"
    assert pick_reply("Q: the capital of France\nA:", answers) == "Paris"
    assert pick_reply("first line\nlast line", answers) == "echo: last line"


def test_stop_and_max_tokens_shape_the_reply() -> None:
    assert shape_reply("one two\nthree", {"stop": ["\n"]}) == ("one two", "stop")
    assert shape_reply("one two three", {"max_tokens": 2}) == ("one two", "length")


def test_configure_rejects_unknown_fields(fake_openai: ServerThread) -> None:
    with pytest.raises(TypeError, match="latency_ms"):
        fake_openai.configure(latency_ms=5)


def test_each_test_starts_from_defaults(fake_openai: ServerThread) -> None:
    stats = fake_openai.stats()
    assert stats["requests"] == {} and stats["prompts"] == [] and stats["max_in_flight"] == 0


def test_models_and_stats_endpoints() -> None:
    with serve_in_thread(FakeConfig(model="served-model")) as server:
        with urllib.request.urlopen(f"{server.base_url}/models") as response:
            assert json.load(response)["data"][0]["id"] == "served-model"
        request = urllib.request.Request(f"{server.url}/_reset", data=b"{}", method="POST")
        with urllib.request.urlopen(request) as response:
            assert json.load(response) == {"ok": True}
        with urllib.request.urlopen(f"{server.url}/_stats") as response:
            assert json.load(response)["requests"] == {}


def test_the_command_line_server_serves_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    command = [sys.executable, "-m", "tests.fake_openai.server", "--port", "0", "--latency-ms", "1"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")

            stats, results = run(openai_config(tmp_path, base_url), samples(3), tmp_path / "r.jsonl")

            assert stats.n_errors == 0
            assert sorted(r.output or "" for r in results) == [f"echo: question {i}" for i in range(3)]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
