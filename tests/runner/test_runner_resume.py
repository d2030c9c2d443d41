"""Resume: kill -9 mid-run, repair a torn line, continue without losing or repeating a sample."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from runner_pipelines import (
    KEY,
    cli,
    cli_command,
    cli_env,
    fake_runner,
    manifest_of,
    pairs,
    results_of,
    write_pipeline,
)

from fake_openai.server import ServerThread
from lm_eval_so import run_pipeline
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.runner.resume import repair_tail

N = 120


def lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def start_and_kill(pipeline: Path, tmp_path: Path, at_least: int) -> Path:
    """Start `lm-eval-so run`, SIGKILL it once ``at_least`` results are on disk; the run dir."""
    proc = subprocess.Popen(cli_command("run", pipeline), env=cli_env(), cwd=tmp_path, stdout=-1, stderr=-1)
    runs = tmp_path / "ws" / "runs"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            found = list(runs.glob("*/results.jsonl")) if runs.exists() else []
            if found and lines_in(found[0]) >= at_least:
                break
            assert proc.poll() is None, "the run finished before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    [run_dir] = runs.iterdir()
    return run_dir


@pytest.fixture
def slow_pipeline(fake_openai: ServerThread, tmp_path: Path) -> Path:
    # Exact answers, so the evaluator passes and the exit code is 0.
    fake_openai.configure(latency_s=0.05)
    return write_pipeline(tmp_path, fake_runner(fake_openai.base_url, concurrency=4, cache="off"), n=N)


def test_kill_9_then_resume_loses_and_repeats_nothing(
    fake_openai: ServerThread, slow_pipeline: Path, tmp_path: Path
) -> None:
    run_dir = start_and_kill(slow_pipeline, tmp_path, at_least=20)
    assert manifest_of(run_dir)["status"] == "running"  # a kill -9 cannot write anything else
    finished_before = {r.sample_id for r in results_of_repaired(run_dir)}
    asked_before = len(fake_openai.stats()["arrivals"])

    proc = cli("run", "--resume", run_dir, cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == run_dir
    results = results_of(run_dir)
    assert pairs(results) == sorted((f"s{i}", 0) for i in range(N))  # none lost, none twice
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "completed"
    assert manifest["counts"]["requests"] == N and manifest["counts"]["resumed"] >= 20
    # No sample finished before the kill was asked again after it.
    asked_after = [text for _, text in fake_openai.stats()["arrivals"][asked_before:]]
    assert not {f"question {s[1:]}" for s in finished_before} & set(asked_after)
    assert (run_dir / "summary.json").exists()


def results_of_repaired(run_dir: Path) -> list[RunResult]:
    repair_tail(run_dir / "results.jsonl")
    return results_of(run_dir)


def test_a_torn_last_line_is_repaired_before_resuming(
    fake_openai: ServerThread, slow_pipeline: Path, tmp_path: Path
) -> None:
    run_dir = start_and_kill(slow_pipeline, tmp_path, at_least=10)
    results_file = run_dir / "results.jsonl"
    with results_file.open("ab") as handle:  # what a crash in the middle of a write leaves
        handle.write(b'{"sample_id": "s999", "repeat": 0, "outp')

    proc = cli("run", "--resume", run_dir, "--workspace-dir", tmp_path / "ws", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    results = results_of(run_dir)
    assert Counter(pairs(results)) == Counter((f"s{i}", 0) for i in range(N))
    assert all(line.endswith("}") for line in results_file.read_text().splitlines())


def test_repair_tail_keeps_whole_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    good = RunResult(sample_id="a", output="x").model_dump_json() + "\n"
    path.write_text(good + good + '{"sample_id": "b", "out')
    assert repair_tail(path) > 0
    assert path.read_text() == good + good
    path.write_text(good + '{"not": "a result"}\n')  # complete but invalid: a torn record too
    repair_tail(path)
    assert path.read_text() == good
    assert repair_tail(path) == 0


def test_resume_refuses_a_changed_config(
    fake_openai: ServerThread, slow_pipeline: Path, tmp_path: Path
) -> None:
    run_dir = start_and_kill(slow_pipeline, tmp_path, at_least=5)
    write_pipeline(tmp_path, fake_runner(fake_openai.base_url, concurrency=5, cache="off"), n=N)

    proc = cli("run", slow_pipeline, "--resume", run_dir, cwd=tmp_path)

    assert proc.returncode == 2
    assert "cannot resume" in proc.stderr and "config hash" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_resume_from_python(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url, cache="off"), n=8)
    first = run_pipeline(pipeline)
    assert first.run_dir is not None
    run_dir = first.run_dir
    # Make it look interrupted after five results (as Ctrl-C would leave it).
    lines = (run_dir / "results.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "results.jsonl").write_text("".join(lines[:5]))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    fake_openai.reset(keep_config=True)

    again = run_pipeline(pipeline, resume=run_dir)

    assert again.run_dir == run_dir
    assert len(fake_openai.stats()["arrivals"]) == 3
    assert pairs(results_of(run_dir)) == sorted((f"s{i}", 0) for i in range(8))
    assert again.summary is not None and again.summary.n_results == 8
    assert manifest_of(run_dir)["status"] == "completed"


def test_a_completed_run_is_not_resumed(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=2)
    done = cli("run", pipeline, cwd=tmp_path)
    run_dir = Path(done.stdout.strip())

    proc = cli("run", "--resume", run_dir, cwd=tmp_path)

    assert proc.returncode == 2 and "already completed" in proc.stderr


def test_the_pytest_plugin_resumes_an_interrupted_run(
    fake_openai: ServerThread, slow_pipeline: Path, tmp_path: Path
) -> None:
    run_dir = start_and_kill(slow_pipeline, tmp_path, at_least=10)
    asked_before = len(fake_openai.stats()["arrivals"])
    env = {**cli_env(), "OPENAI_API_KEY": KEY}

    proc = subprocess.run(
        [*cli_command()[:2], "pytest", "-p", "no:cacheprovider", "-q", str(slow_pipeline)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (tmp_path / "ws" / "runs").iterdir()] == [run_dir.name]  # no new run
    assert pairs(results_of(run_dir)) == sorted((f"s{i}", 0) for i in range(N))
    assert len(fake_openai.stats()["arrivals"]) - asked_before < N


def test_ctrl_c_marks_the_run_interrupted_and_it_resumes(
    fake_openai: ServerThread, slow_pipeline: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        cli_command("run", slow_pipeline), env=cli_env(), cwd=tmp_path, stdout=-1, stderr=-1, text=True
    )
    runs = tmp_path / "ws" / "runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(runs.glob("*/results.jsonl")) if runs.exists() else []
        if found and lines_in(found[0]) >= 10:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    [run_dir] = runs.iterdir()
    assert manifest_of(run_dir)["status"] == "interrupted"

    resumed = cli("run", "--resume", run_dir, cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert pairs(results_of(run_dir)) == sorted((f"s{i}", 0) for i in range(N))


def test_ctrl_c_while_the_judge_waits_stops_at_once_and_the_run_resumes(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    # Scoring ran inside asyncio.run, whose SIGINT handler only cancels the main task: with the
    # judge waiting on a server that hangs, Ctrl-C was ignored until every retry timed out.
    from fake_openai.server import FakeConfig, serve_in_thread

    with serve_in_thread(FakeConfig(hang_first=100, hang_s=120)) as judge:
        pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=2)
        pipeline.write_text(
            pipeline.read_text()
            + "    - type: llm_judge\n      rubric: is it right\n      judge:\n        backend: openai\n"
            f"        model: gpt-4o-mini\n        base_url: {judge.base_url}\n        timeout_s: 120\n"
        )
        proc = subprocess.Popen(
            cli_command("run", pipeline), env=cli_env(), cwd=tmp_path, stdout=-1, stderr=-1, text=True
        )
        deadline = time.monotonic() + 60
        while not judge.stats()["arrivals"] and time.monotonic() < deadline:
            time.sleep(0.05)
        asked = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        stopped_after = time.monotonic() - asked

    assert proc.returncode == 130, stderr
    assert stopped_after < 10 and "interrupted" in stderr and "Traceback" not in stderr
    [run_dir] = (tmp_path / "ws" / "runs").iterdir()
    assert not (run_dir / "summary.json").exists()  # nothing half-scored is presented as a result
