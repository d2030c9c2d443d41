"""The response cache never answers for something else, and a replay reports what happened.

Each test drives the real CLI against loopback servers or the python backend, and asserts the
figures a user would read: which server was asked, what the score was, what latency was
recorded and whether the terminal says the answers came from the cache.
"""

from __future__ import annotations

import re
import socket
import textwrap
from pathlib import Path

from runner_pipelines import cli, fake_runner, results_of, run_dir_of, summary_of, write_pipeline

from fake_openai.server import FakeConfig, ServerThread, serve_in_thread
from lm_eval_so._internal.models.backends.openai import endpoint_identity
from lm_eval_so._internal.runner.cache import KeyMaker


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


# --------------------------------------------------------------------------- endpoint identity


def test_another_server_with_the_same_model_name_is_asked(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=4)
    first = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 4
    assert summary_of(first)["metrics"]["exact_match"]["mean"] == 1.0  # type: ignore[index]

    # A second server that serves the same model name but answers differently.
    with serve_in_thread(FakeConfig(answers={"question": "something else"})) as other:
        write_pipeline(tmp_path, fake_runner(other.base_url), n=4)
        proc = cli("run", pipeline, cwd=tmp_path)
        second = run_dir_of(proc)
        assert other.stats()["requests"]["/v1/chat/completions"] == 4  # it was really asked
    results = results_of(second)
    assert not any(r.cached for r in results)
    assert {r.output for r in results} == {"something else"}
    assert summary_of(second)["metrics"]["exact_match"]["mean"] == 0.0  # type: ignore[index]
    assert "none from cache" in proc.stderr


def test_a_dead_endpoint_is_not_answered_from_the_cache(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=3)
    run_dir_of(cli("run", pipeline, cwd=tmp_path))

    dead = f"http://127.0.0.1:{dead_port()}/v1"
    write_pipeline(tmp_path, fake_runner(dead, max_retries=0, timeout_s=2), n=3)
    proc = cli("run", pipeline, cwd=tmp_path)
    results = results_of(run_dir_of(proc))
    assert proc.returncode == 1
    assert all(r.error is not None and not r.cached for r in results)


def test_endpoint_identity_names_the_server_not_the_spelling() -> None:
    same = {
        endpoint_identity("http://127.0.0.1:8000/v1"),
        endpoint_identity("HTTP://127.0.0.1:8000/v1/"),
        endpoint_identity("http://user:secret@127.0.0.1:8000/v1"),
    }
    assert same == {"http://127.0.0.1:8000/v1"}
    assert endpoint_identity("https://api.example.com/v1") == "https://api.example.com:443/v1"
    distinct = {
        endpoint_identity(url)
        for url in (
            "http://127.0.0.1:8000/v1",
            "http://127.0.0.1:8001/v1",
            "https://127.0.0.1:8000/v1",
            "http://localhost:8000/v1",
            "http://127.0.0.1:8000/v2",
            "http://127.0.0.1:8000/v1?api-version=2024-10-21",
        )
    }
    assert len(distinct) == 6


def test_every_part_of_the_identity_changes_the_key() -> None:
    from lm_eval_so._internal.common.records import DatasetSample, Message
    from lm_eval_so._internal.models.base import Request

    sample = DatasetSample(id="a", input="hi", messages=[Message(role="user", content="hi")])
    base = {"backend": "openai", "model": "m", "options": {}, "endpoint": "http://h:1/v1"}
    request = Request(sample, 0, "chat", {})
    key = KeyMaker(base, "chat", {}).key(request)
    for change in ({"endpoint": "http://h:2/v1"}, {"model": "n"}, {"options": {"x": 1}}, {"weights": "ab"}):
        assert KeyMaker({**base, **change}, "chat", {}).key(request) != key, change
    assert KeyMaker(base, "chat", {"temperature": 0.5}).key(request) != key
    assert KeyMaker(base, "chat", {}).key(Request(sample, 1, "chat", {})) != key
    assert KeyMaker(dict(base), "chat", {}).key(request) == key


# --------------------------------------------------------------------------- python backend


def python_pipeline(folder: Path, body: str, *, cache: str | None, limits: str = "") -> Path:
    (folder / "app.py").write_text(textwrap.dedent(body))
    (folder / "data.csv").write_text("id,input,expected\na,one,ONE\nb,two,TWO\nc,three,THREE\n")
    cache_line = f"  cache: {cache}\n" if cache else ""
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: app_eval\nworkspace: ws\ngenerator: {source: data.csv}\n"
        f"runner:\n  backend: python\n  function: app:answer\n{cache_line}"
        f"evaluator:\n  metrics:\n    - type: exact_match\n{limits}"
    )
    return path


def test_editing_the_app_is_a_cache_miss(tmp_path: Path) -> None:
    pipeline = python_pipeline(
        tmp_path,
        "def answer(input):\n    return input.upper() if input != 'two' else 'wrong'\n",
        cache="read_write",
    )
    first = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    assert summary_of(first)["metrics"]["exact_match"]["mean"] == 2 / 3  # type: ignore[index]
    # Unchanged code: asked for, the cache replays every answer.
    again = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    assert all(r.cached for r in results_of(again))

    (tmp_path / "app.py").write_text("def answer(input):\n    return input.upper()\n")  # the fix
    proc = cli("run", pipeline, cwd=tmp_path)
    fixed = run_dir_of(proc)
    assert not any(r.cached for r in results_of(fixed))
    assert summary_of(fixed)["metrics"]["exact_match"]["mean"] == 1.0  # type: ignore[index]


def test_a_helper_module_of_the_app_is_part_of_its_identity(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def shout(text):\n    return text.upper() + '!'\n")
    pipeline = python_pipeline(
        tmp_path,
        "from helpers import shout\n\ndef answer(input):\n    return shout(input)\n",
        cache="read_write",
    )
    run_dir_of(cli("run", pipeline, cwd=tmp_path))
    (tmp_path / "helpers.py").write_text("def shout(text):\n    return text.upper()\n")
    fixed = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    assert not any(r.cached for r in results_of(fixed))
    assert summary_of(fixed)["metrics"]["exact_match"]["mean"] == 1.0  # type: ignore[index]


def test_the_python_backend_does_not_cache_unless_asked(tmp_path: Path) -> None:
    pipeline = python_pipeline(tmp_path, "def answer(input):\n    return input.upper()\n", cache=None)
    run_dir_of(cli("run", pipeline, cwd=tmp_path))
    second = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    assert not any(r.cached for r in results_of(second))
    # --cache on the command line asks for it.
    run_dir_of(cli("run", pipeline, "--cache", "read_write", cwd=tmp_path))
    replayed = run_dir_of(cli("run", pipeline, "--cache", "read_write", cwd=tmp_path))
    assert all(r.cached for r in results_of(replayed))


# --------------------------------------------------------------------------- replayed figures


SLOW_APP = """
import time

def answer(input):
    time.sleep(0.15)
    return input.upper()
"""


def test_a_replay_keeps_the_latency_verdict_and_says_it_replayed(tmp_path: Path) -> None:
    limits = "  limits: {latency_p95_ms: 100}\n"
    pipeline = python_pipeline(tmp_path, SLOW_APP, cache="read_write", limits=limits)
    real = cli("run", pipeline, cwd=tmp_path)
    assert real.returncode == 1, real.stderr  # 150 ms calls against a 100 ms limit
    replay = cli("run", pipeline, cwd=tmp_path)
    assert replay.returncode == 1, replay.stderr  # the replay gives the same verdict
    first, second = results_of(run_dir_of(real)), results_of(run_dir_of(replay))
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    # The recorded latency is the original call's, not the 0 ms of a lookup.
    by_id = {r.sample_id: r.latency_ms for r in first}
    assert {r.sample_id: r.latency_ms for r in second} == by_id
    assert min(by_id.values()) >= 150
    assert "3 results for 3 samples (all 3 from cache)" in replay.stderr
    summary = summary_of(run_dir_of(replay))
    assert summary["n_cached"] == 3 and summary["cost_replayed_usd"] == 0.0
    html = (run_dir_of(replay) / "report.html").read_text()
    assert "3 of 3 from cache" in html and html.count(">cached</span>") == 3


def test_a_replay_keeps_usage_and_cost_but_spends_nothing(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=5)
    first = summary_of(run_dir_of(cli("run", pipeline, cwd=tmp_path)))
    proc = cli("run", pipeline, cwd=tmp_path)
    second = summary_of(run_dir_of(proc))
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 5
    assert second["usage"] == first["usage"] and second["usage"]["total_tokens"] > 0  # type: ignore[index]
    cost = first["cost_usd"]
    assert isinstance(cost, float) and cost > 0
    assert (second["cost_usd"], second["cost_spent_usd"], second["cost_replayed_usd"]) == (cost, 0.0, cost)
    assert (first["cost_spent_usd"], first["cost_replayed_usd"]) == (cost, 0.0)
    # A few millionths of a dollar replayed: shown as not free, "$0.0000" is only ever zero.
    assert cost < 0.00005 and re.search(r"spent now \$0\.0000, replayed \$0\.0000\d*[1-9]", proc.stderr)
