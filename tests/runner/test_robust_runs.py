"""One bad answer, one exiting app or one killed evaluator never costs the run; history stays put.

Real CLI processes against the loopback server and the python backend; the assertions are the
records, statuses and files a user would find afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from runner_pipelines import (
    cli,
    cli_command,
    cli_env,
    fake_runner,
    manifest_of,
    results_of,
    run_dir_of,
    write_pipeline,
)

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.config import load_config
from lm_eval_so._internal.common.workspace import Workspace
from lm_eval_so._internal.runner.stage import find_resumable


def app_pipeline(folder: Path, app: str, *, extra: str = "", rows: int = 4) -> Path:
    (folder / "app.py").write_text(textwrap.dedent(app))
    body = "".join(f"s{i},q{i},Q{i}\n" for i in range(rows))
    (folder / "data.csv").write_text("id,input,expected\n" + body)
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: robust\nworkspace: ws\ngenerator: {source: data.csv}\n"
        "runner: {backend: python, function: 'app:answer', concurrency: 1}\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n" + extra
    )
    return path


# --------------------------------------------------------------------------- one bad answer


def test_a_lone_surrogate_from_the_server_is_that_samples_error(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(answers={"question 2": "bad \ud800 text"})
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=5)
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # no gates: every call must succeed
    results = {r.sample_id: r for r in results_of(run_dir_of(proc))}
    assert len(results) == 5
    bad = results["s2"]
    assert bad.error is not None and bad.error.type == "InvalidAnswer"
    assert "'\\ud800' at character 4" in bad.error.message
    assert all(r.ok for sid, r in results.items() if sid != "s2")
    assert manifest_of(run_dir_of(proc))["status"] == "completed"


def test_a_python_app_returning_a_lone_surrogate_does_not_end_the_run(tmp_path: Path) -> None:
    pipeline = app_pipeline(
        tmp_path, "def answer(input):\n    return input.upper() + ('\\ud800' if input == 'q1' else '')\n"
    )
    proc = cli("run", pipeline, cwd=tmp_path)
    results = {r.sample_id: r for r in results_of(run_dir_of(proc))}
    assert results["s1"].error is not None and results["s1"].error.type == "InvalidAnswer"
    assert [results[s].output for s in ("s0", "s2", "s3")] == ["Q0", "Q2", "Q3"]


def test_sys_exit_in_the_app_is_a_per_sample_error(tmp_path: Path) -> None:
    app = """
    import sys

    def answer(input):
        if input == "q2":
            sys.exit(0)
        return input.upper()
    """
    pipeline = app_pipeline(tmp_path, app, extra="  limits: {error_rate: 0.5}\n")
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # the run went on; 1 of 4 errors is within 0.5
    run_dir = run_dir_of(proc)
    results = {r.sample_id: r for r in results_of(run_dir)}
    assert results["s2"].error is not None and results["s2"].error.type == "AppExit"
    assert "SystemExit" in results["s2"].error.message
    assert manifest_of(run_dir)["status"] == "completed" and (run_dir / "summary.json").exists()


def test_sys_exit_in_an_async_app_is_a_per_sample_error(tmp_path: Path) -> None:
    app = """
    import sys

    async def answer(input):
        if input == "q0":
            raise SystemExit(3)
        return input.upper()
    """
    proc = cli("run", app_pipeline(tmp_path, app), cwd=tmp_path)
    results = {r.sample_id: r for r in results_of(run_dir_of(proc))}
    assert results["s0"].error is not None and results["s0"].error.type == "AppExit"
    assert sum(r.ok for r in results.values()) == 3


# --------------------------------------------------------------------------- killed while scoring

SLOW_METRIC = """
import os, time

def score(output, expected):
    if os.path.exists(os.environ["SLOW_MARKER"]):
        time.sleep(60)
    return output == expected
"""


def test_kill_9_while_scoring_is_resumed_to_completion(tmp_path: Path) -> None:
    (tmp_path / "my_metrics.py").write_text(SLOW_METRIC)
    marker = tmp_path / "slow"
    marker.touch()
    pipeline = app_pipeline(
        tmp_path,
        "def answer(input):\n    return input.upper()\n",
        extra="    - {type: python, name: same, function: 'my_metrics:score'}\n",
    )
    env = {**cli_env(), "SLOW_MARKER": str(marker)}
    proc = subprocess.Popen(
        cli_command("run", pipeline), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    runs = tmp_path / "ws" / "runs"
    deadline = time.monotonic() + 60
    while not list(runs.glob("*/.scores.jsonl.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    [run_dir] = list(runs.iterdir())
    assert manifest_of(run_dir)["status"] == "unscored"  # the results are in, scoring is not
    assert list(run_dir.glob(".*.tmp")) and not (run_dir / "summary.json").exists()
    # pytest's automatic resume finds it, as it finds an interrupted run.
    found = find_resumable(Workspace(tmp_path / "ws"), load_config(pipeline))
    assert found is not None and found.path == run_dir

    marker.unlink()
    resumed = subprocess.run(
        cli_command("run", "--resume", run_dir), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert manifest_of(run_dir)["status"] == "completed" and (run_dir / "summary.json").exists()
    assert not list(run_dir.glob(".*.tmp"))  # the stale temporary file is gone
    assert len(results_of(run_dir)) == 4  # nothing was asked twice


# --------------------------------------------------------------------------- re-scoring


METRIC = "def score(output, expected):\n    return output == expected\n"


def test_the_evaluator_scores_a_run_with_a_python_metric_from_anywhere(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_metrics.py").write_text(METRIC)
    pipeline = app_pipeline(
        project,
        "def answer(input):\n    return input.upper()\n",
        extra="    - {type: python, name: same, function: 'my_metrics:score'}\n",
    )
    run_dir = run_dir_of(cli("run", pipeline, cwd=project))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Scored again from another folder: the python metric resolves next to the pipeline.
    proc = cli("evaluator", run_dir, cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "ModuleNotFoundError" not in proc.stderr


def test_rescoring_writes_beside_and_never_over(tmp_path: Path) -> None:
    pipeline = app_pipeline(
        tmp_path,
        "def answer(input):\n    return 'Q0' if input == 'q0' else 'no'\n",
        extra="      threshold: 0.2\n",
    )
    run_dir = run_dir_of(cli("run", pipeline, cwd=tmp_path))
    before = {
        name: (run_dir / name).read_bytes() for name in ("summary.json", "report.html", "manifest.json")
    }
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(pipeline.read_text().replace("threshold: 0.2", "threshold: 0.9"))

    proc = cli("evaluator", run_dir, "--config", stricter, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # 0.25 < 0.9
    rescore = Path(proc.stdout.strip())
    assert rescore.parent == run_dir / "rescores"
    assert json.loads((rescore / "summary.json").read_text())["passed"] is False
    assert (rescore / "report.html").exists() and (rescore / "scores.jsonl").exists()
    # The run's own record is untouched: still PASSED at its own threshold.
    assert {name: (run_dir / name).read_bytes() for name in before} == before
    # Scoring again with the run's own config also goes beside, never over.
    again = cli("evaluator", run_dir, cwd=tmp_path)
    assert again.returncode == 0 and Path(again.stdout.strip()).parent == run_dir / "rescores"
    assert {name: (run_dir / name).read_bytes() for name in before} == before


# --------------------------------------------------------------------------- the app's trust model


def test_modules_next_to_the_pipeline_never_shadow_real_packages(tmp_path: Path) -> None:
    shadow = "import pathlib\npathlib.Path(__file__).with_name('SHADOWED').write_text('imported')\n"
    project = tmp_path / "project"
    project.mkdir()
    for folder in (project, tmp_path):  # the pipeline's folder and the working directory
        (folder / "jinja2.py").write_text(shadow)
    pipeline = app_pipeline(project, "def answer(input):\n    return input.upper()\n")
    # The console script, as users run it (`python -m` would put the cwd first by itself).
    script = Path(sys.executable).with_name("lm-eval-so")
    proc = subprocess.run(
        [str(script), "run", str(pipeline)], cwd=tmp_path, env=cli_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert (run_dir_of(proc) / "report.html").exists()  # written by the real jinja2
    assert not (project / "SHADOWED").exists() and not (tmp_path / "SHADOWED").exists()


def test_a_dry_run_says_it_imported_the_apps_module(tmp_path: Path) -> None:
    pipeline = app_pipeline(tmp_path, "print('top-level code ran')\ndef answer(input):\n    return input\n")
    proc = cli("run", pipeline, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no model was called, no dataset or run was written" in proc.stdout
    assert "were imported (their top-level code ran)" in proc.stdout
    assert not (tmp_path / "ws" / "runs").exists()


# --------------------------------------------------------------------------- base_url


def test_an_invalid_base_url_is_a_located_error_before_any_run(tmp_path: Path) -> None:

    cases = {
        "ftp://127.0.0.1/v1": "must start with http:// or https://",
        "127.0.0.1:8000/v1": "must start with http:// or https://",
        "http://127.0.0.1:99999/v1": "Port out of range",
        "http://[::1/v1": "Invalid IPv6 URL",
        "http://127.0.0.1:8000/v1?api_key=secret": "must not carry a query string",
        "http:///v1": "has no host",
        "http://alice:pw-secret@127.0.0.1:8000/v1": "must not carry user:password@",
        "ftp://alice:pw-secret@127.0.0.1/v1": "must start with http:// or https://",
    }
    for url, message in cases.items():
        pipeline = write_pipeline(tmp_path, fake_runner(url), n=2)
        proc = cli("run", pipeline, cwd=tmp_path)
        assert proc.returncode == 2, (url, proc.stderr)
        assert "pipeline.yaml:" in proc.stderr and "runner.base_url" in proc.stderr and message in proc.stderr
        assert "api_key=secret" not in proc.stderr  # a key in the URL is never echoed
        assert "pw-secret" not in proc.stderr  # nor a password
        assert not (tmp_path / "ws" / "runs").exists()


# --------------------------------------------------------------------------- keys


def test_a_key_that_no_header_can_carry_is_named_before_the_run(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    # It failed every sample with "Forbidden control character" and no hint of the cause.
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url, api_key_env="MY_KEY"), n=2)
    env = {**cli_env(), "MY_KEY": "sk-first-line\nsk-second-line"}
    proc = subprocess.run(cli_command("run", pipeline), capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "runner.api_key_env: the environment variable MY_KEY holds U+000A" in proc.stderr
    assert "second-line" not in proc.stderr
    assert fake_openai.stats()["requests"] == {} and not (tmp_path / "ws" / "runs").exists()


def test_whitespace_around_a_key_is_not_part_of_it(fake_openai: ServerThread, tmp_path: Path) -> None:
    # A trailing \r (a key file saved on Windows) or newline.
    fake_openai.configure(required_key="sk-the-key-0123456789")
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url, api_key_env="MY_KEY"), n=2)
    env = {**cli_env(), "MY_KEY": "sk-the-key-0123456789\r\n"}
    proc = subprocess.run(cli_command("run", pipeline), capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all(r.ok for r in results_of(run_dir_of(proc)))
