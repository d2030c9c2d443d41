"""Secrets stay out of every artifact and every log line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runner_pipelines import KEY, cli, cli_command, cli_env, fake_runner, write_pipeline

from fake_openai.server import ServerThread


def test_a_secret_variable_in_the_prompt_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner("http://127.0.0.1:9/v1"), n=2)
    text = pipeline.read_text().replace(
        "generator:\n  source: data.csv\n",
        "generator:\n  source: data.csv\n  prompt:\n    system: 'Use token ${MY_SECRET_TOKEN}'\n",
    )
    pipeline.write_text(text)
    env = {**cli_env(), "MY_SECRET_TOKEN": "tok-0123456789-very-secret"}
    for command in (["run", pipeline], ["gen-dataset", pipeline], ["run", pipeline, "--dry-run"]):
        proc = subprocess.run(cli_command(*command), cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "pipeline.yaml:6: generator.prompt.system: interpolates a secret variable" in proc.stderr
        assert "tok-0123456789-very-secret" not in proc.stdout + proc.stderr
        assert not (tmp_path / "ws").exists()


def test_an_ordinary_variable_in_the_prompt_is_fine(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_runner(fake_openai.base_url), n=2)
    pipeline.write_text(
        pipeline.read_text().replace(
            "generator:\n  source: data.csv\n",
            "generator:\n  source: data.csv\n  prompt:\n    system: 'You are ${BOT_NAME}'\n",
        )
    )
    env = {**cli_env(), "BOT_NAME": "Quizbot-3000"}
    proc = subprocess.run(cli_command("run", pipeline), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    dataset = next((tmp_path / "ws" / "datasets").rglob("dataset.jsonl")).read_text()
    assert "You are Quizbot-3000" in dataset


def test_the_sdk_http_log_lines_stay_out_of_the_output(fake_openai: ServerThread, tmp_path: Path) -> None:
    runner = fake_runner(fake_openai.base_url, options={"client": "sdk"})
    pipeline = write_pipeline(tmp_path, runner, n=2)
    proc = cli("run", pipeline, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "HTTP Request" not in proc.stderr and fake_openai.base_url not in proc.stderr
    assert KEY not in proc.stderr
    assert "2 results for 2 samples" in proc.stderr  # our own summary still shows
