"""Figures that must be true: unknown cost, empty answers, exit codes, the run's switches.

Each test runs the real CLI (or pytest through pytester) against the loopback server or the
python backend and asserts the value a user would read.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from runner_pipelines import (
    cli,
    cli_command,
    cli_env,
    fake_runner,
    results_of,
    run_dir_of,
    summary_of,
    write_pipeline,
)

from fake_openai.server import ServerThread


def with_limits(pipeline: Path, limits: str) -> Path:
    pipeline.write_text(pipeline.read_text() + f"  limits: {limits}\n")
    return pipeline


# --------------------------------------------------------------------------- unknown cost


@pytest.mark.parametrize("usage", ["omit", "null"])
def test_no_usage_from_a_priced_model_is_an_unknown_cost(
    fake_openai: ServerThread, tmp_path: Path, usage: str
) -> None:
    fake_openai.configure(usage=usage)
    pipeline = with_limits(
        write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=4), "{cost_usd: 1.0}"
    )
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the cost gate cannot pass on an unknown cost
    run_dir = run_dir_of(proc)
    assert all(r.usage is None and r.cost_usd is None for r in results_of(run_dir))
    summary = summary_of(run_dir)
    assert summary["cost_usd"] is None and summary["n_usage_unknown"] == 4
    [gate] = summary["thresholds"]  # type: ignore[misc]
    assert gate["passed"] is False and gate["reason"].startswith("cost unknown: 4 of 4 results")
    assert "cost unknown" in proc.stderr and "$0.0000" not in proc.stderr


def test_the_budget_counts_an_unknown_cost_at_its_estimate(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(usage="omit")
    runner = fake_runner(
        fake_openai.base_url,
        concurrency=1,
        max_cost_usd=0.0004,
        pricing={"prompt_per_1m": 1.0, "completion_per_1m": 1.0},
        params={"max_tokens": 100},
    )
    pipeline = write_pipeline(tmp_path, runner, n=20)
    proc = cli("run", pipeline, cwd=tmp_path)
    # Each call reserves ~(2 prompt + 100 completion) tokens at $1/1M ≈ $0.0001: about 4 fit.
    assert proc.returncode == 1, proc.stderr  # stopped early: not a pass
    run_dir = run_dir_of(proc)
    assert 2 <= len(results_of(run_dir)) <= 5
    assert len(fake_openai.stats()["arrivals"]) == len(results_of(run_dir))
    summary = summary_of(run_dir)
    assert summary["passed"] is False and "stopped early by the budget" in str(summary["stopped"])
    assert "STOPPED" in proc.stderr


# --------------------------------------------------------------------------- empty answers


def test_a_null_answer_is_an_error_with_its_finish_reason(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(null_content=True, finish_reason="content_filter")
    pipeline = with_limits(
        write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=3), "{error_rate: 0}"
    )
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 1
    results = results_of(run_dir_of(proc))
    assert all(r.error is not None and r.error.type == "EmptyAnswer" for r in results)
    assert all(r.finish_reason == "content_filter" and r.output is None for r in results)
    assert "finish_reason='content_filter'" in results[0].error.message  # type: ignore[union-attr]
    assert summary_of(run_dir_of(proc))["error_rate"] == 1.0


def test_a_null_answer_is_not_cached(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(null_content=True)
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=2)
    cli("run", pipeline, cwd=tmp_path)
    fake_openai.configure(null_content=False)
    results = results_of(run_dir_of(cli("run", pipeline, cwd=tmp_path)))
    assert all(r.ok and not r.cached for r in results)


@pytest.mark.parametrize("returned", ["None", "{'output': None}"])
def test_a_python_app_answering_none_is_an_error(tmp_path: Path, returned: str) -> None:
    (tmp_path / "app.py").write_text(f"def answer(input):\n    return {returned}\n")
    (tmp_path / "data.csv").write_text("id,input,expected\na,one,ONE\n")
    (tmp_path / "pipeline.yaml").write_text(
        "name: none_app\nworkspace: ws\ngenerator: {source: data.csv}\n"
        "runner: {backend: python, function: 'app:answer'}\n"
    )
    proc = cli("run", tmp_path / "pipeline.yaml", cwd=tmp_path)
    [result] = results_of(run_dir_of(proc))
    assert result.error is not None and result.error.type == "EmptyAnswer"
    assert proc.returncode == 1  # no gates: every call must succeed


# --------------------------------------------------------------------------- exit codes


def test_no_gates_and_every_call_failed_is_not_a_pass(fake_openai: ServerThread, tmp_path: Path) -> None:
    fake_openai.configure(fail_first=100, fail_status=400)
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=3)
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "PASSED" not in proc.stderr and "FAIL  ran_without_errors: 3 of 3 calls failed" in proc.stderr
    # The user sees which sample failed and why without opening results.jsonl.
    # (Results are written as calls finish: any of the three may be the first.)
    first = r"the first: sample 's[012]' \(repeat 0\): BadRequestError: Error code: 400"
    assert re.search(first, proc.stderr), proc.stderr
    summary = summary_of(run_dir_of(proc))
    assert summary["passed"] is False
    assert [g["name"] for g in summary["thresholds"]] == ["ran_without_errors"]  # type: ignore[union-attr]


def test_no_gates_and_every_call_succeeded_passes(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=3)
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "PASS  ran_without_errors" in proc.stderr


def test_a_dry_run_that_is_not_ready_exits_2(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner("http://127.0.0.1:9/v1"), n=2)
    env = {k: v for k, v in cli_env().items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        cli_command("run", pipeline, "--dry-run"), capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "NOT READY" in proc.stdout and "OPENAI_API_KEY" in proc.stdout
    ready = cli("run", pipeline, "--dry-run", cwd=tmp_path)
    assert ready.returncode == 0 and "credentials  ok" in ready.stdout


# --------------------------------------------------------------------------- switches


def test_run_switches_model_limit_set_and_quiet_after_the_command(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=6)
    proc = cli(
        "run",
        pipeline,
        "-q",
        "--model",
        "gpt-4.1-mini",
        "--limit",
        "2",
        "--set",
        "runner.params.temperature=0.25",
        "--set",
        "runner.params.stop=[END]",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # -q after the sub-command silences the summary
    run_dir = run_dir_of(proc)
    assert len(results_of(run_dir)) == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["model"] == "gpt-4.1-mini"
    assert manifest["params"] == {"temperature": 0.25, "stop": ["END"]}


def test_no_cache_asks_again(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=3)
    cli("run", pipeline, cwd=tmp_path)
    proc = cli("run", pipeline, "--no-cache", cwd=tmp_path)
    assert not any(r.cached for r in results_of(run_dir_of(proc)))
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 6
    replay = cli("run", pipeline, "--cache", "read_only", cwd=tmp_path)
    assert all(r.cached for r in results_of(run_dir_of(replay)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "runner.concurrency=0"],
            "override runner.concurrency=0: runner.concurrency: must be >= 1",
        ),
        (["--set", "runner.modle=x"], "runner.modle: unknown key 'modle'"),
        (["--set", "novalue"], "expected dotted.key=value"),
        (["--set", "runner.model.name=x"], "runner.model is a str ('gpt-4o-mini'), it has no 'name'"),
    ],
)
def test_a_bad_override_is_one_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner("http://127.0.0.1:9/v1"), n=2)
    proc = cli("run", pipeline, *args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "ws" / "runs").exists()


# --------------------------------------------------------------------------- pytest surfaces


APP = """
def answer(input):
    return {"output": input.upper()}
"""


def test_junit_says_unknown_never_none(pytester: pytest.Pytester, fake_openai: ServerThread) -> None:
    fake_openai.configure(usage="omit")
    pytester.path.joinpath("data.csv").write_text("id,input,expected\na,question 1,echo: question 1\n")
    pytester.path.joinpath("pipeline.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: unknown_cost
            generator: {{source: data.csv}}
            runner:
              {{backend: openai, model: gpt-4o-mini, base_url: "{fake_openai.base_url}", api_key_env: null}}
            evaluator:
              metrics: [{{type: exact_match, threshold: 0.5}}]
            """
        )
    )
    result = pytester.runpytest("--junitxml=out.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    props = {
        p.get("name"): p.get("value") for p in ET.parse(pytester.path / "out.xml").getroot().iter("property")
    }
    assert props["lm_eval.cost_usd"] == "unknown" and props["lm_eval.n_cached"] == "0"
    assert "None" not in props.values()
    result.stdout.fnmatch_lines(["unknown_cost*exact_match>=0.5*PASS*unknown*0/1"])
