"""The response cache: hits skip the network, repeats stay distinct, strict replay, the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner_pipelines import (
    cli,
    cli_command,
    cli_env,
    fake_runner,
    manifest_of,
    pairs,
    results_of,
    run_dir_of,
    write_pipeline,
)

from fake_openai.server import ServerThread
from lm_eval_so._internal.runner import cache


def test_a_rerun_is_served_from_the_cache(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=6)

    first = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    second = run_dir_of(cli("run", pipeline, cwd=tmp_path))

    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 6  # none for the re-run
    assert not any(r.cached for r in results_of(first))
    replayed = results_of(second)
    assert all(r.cached and r.attempts == 0 for r in replayed)
    by_id = {r.sample_id: r.output for r in results_of(first)}
    assert {r.sample_id: r.output for r in replayed} == by_id
    assert manifest_of(first)["counts"]["cache_misses"] == 6
    assert manifest_of(second)["counts"]["cache_hits"] == 6
    assert manifest_of(second)["counts"]["cache_misses"] == 0


def test_repeats_get_distinct_cache_entries(fake_openai: ServerThread, tmp_path: Path) -> None:
    runner = fake_runner(fake_openai.base_url, repeats=3, params={"temperature": 1.0})
    pipeline = write_pipeline(tmp_path, runner, n=4)

    first = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    second = run_dir_of(cli("run", pipeline, cwd=tmp_path))

    expected = [(f"s{i}", r) for i in range(4) for r in range(3)]
    assert pairs(results_of(first)) == sorted(expected)
    assert pairs(results_of(second)) == sorted(expected)
    # Every (sample, repeat) was asked once, and stored under its own key.
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 12
    assert cache.stats(tmp_path / "ws" / "cache").entries == 12
    assert all(r.cached for r in results_of(second))


def test_strict_replay_miss_names_the_sample_and_exits_2(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url, cache="read_only"), n=3)

    proc = cli("run", pipeline, cwd=tmp_path)

    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "sample 's" in proc.stderr and "read_only" in proc.stderr
    assert fake_openai.stats()["requests"] == {}
    [run_dir] = (tmp_path / "ws" / "runs").iterdir()
    assert manifest_of(run_dir)["status"] == "failed"


def test_strict_replay_of_a_recorded_run_calls_nothing(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=5)
    recorded = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    fake_openai.reset()
    write_pipeline(tmp_path, fake_runner(fake_openai.base_url, cache="read_only"), n=5)

    replayed = run_dir_of(cli("run", pipeline, cwd=tmp_path))

    assert fake_openai.stats()["requests"] == {}
    assert len(results_of(replayed)) == 5
    # The cache mode is how answers are fetched, not the experiment: same config hash.
    assert manifest_of(replayed)["config_hash"] == manifest_of(recorded)["config_hash"]


def test_cache_off_asks_every_time(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url, cache="off"), n=3)

    cli("run", pipeline, cwd=tmp_path)
    second = run_dir_of(cli("run", pipeline, cwd=tmp_path))

    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 6
    assert not any(r.cached for r in results_of(second))
    assert not (tmp_path / "ws" / "cache" / cache.CACHE_FILE).exists()


def test_cache_stats_and_clear(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=4)
    run_dir_of(cli("run", pipeline, cwd=tmp_path))
    workspace = tmp_path / "ws"

    stats = cli("cache", "stats", "--workspace-dir", workspace, cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert "entries: 4" in stats.stdout
    assert cli("cache", "stats", pipeline, cwd=tmp_path).stdout == stats.stdout

    cleared = cli("cache", "clear", "--workspace-dir", workspace, cwd=tmp_path)
    assert cleared.returncode == 0 and "removed 4 entries" in cleared.stderr
    assert "entries: 0" in cli("cache", "stats", "--workspace-dir", workspace, cwd=tmp_path).stdout


def test_two_processes_share_one_cache(fake_openai: ServerThread, tmp_path: Path) -> None:
    # Two pipelines with different prompts, one workspace, run at the same time: both write.
    procs = []
    for name in ("left", "right"):
        folder = tmp_path / name
        folder.mkdir()
        runner = fake_runner(fake_openai.base_url, concurrency=16)
        pipeline = write_pipeline(folder, runner, n=150, name=name, prefix=name)
        args = cli_command("run", pipeline, "--workspace-dir", tmp_path / "ws")
        procs.append(subprocess.Popen(args, env=cli_env(), cwd=folder, text=True, stdout=-1, stderr=-1))
    outputs = [proc.communicate(timeout=120) for proc in procs]

    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert cache.stats(tmp_path / "ws" / "cache").entries == 300
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 300
    runs = [Path(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert all(len(results_of(run)) == 150 for run in runs)
    assert all(r.error is None for run in runs for r in results_of(run))
