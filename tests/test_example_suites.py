"""`pytest example_suites/` passes offline, serially and under xdist, as a user runs it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import REPO

SUITES = REPO / "example_suites"
pytestmark = pytest.mark.local_model


def run_pytest(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Nothing of the developer's provider setup may leak in: every endpoint suite must skip.
    prefixes = ("OPENAI_", "PYTEST_", "ANTHROPIC_", "AZURE_OPENAI_", "AWS_", "GOOGLE_", "GEMINI_", "LITELLM_")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=full_env,
        timeout=600,
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_example_suites_pass_offline(tmp_path: Path, workers: list[str]) -> None:
    proc = run_pytest(SUITES, "--lm-eval-workspace", tmp_path, *workers)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 passed, 12 skipped" in proc.stdout
    for needs in (
        "openai_compatible_qa: needs OPENAI_BASE_URL",
        "anthropic_qa: needs ANTHROPIC_BASE_URL",
        "azure_openai_qa: needs AZURE_OPENAI_ENDPOINT",
        "bedrock_qa: needs AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "gemini_qa: needs GOOGLE_GEMINI_BASE_URL",
        "litellm_qa: needs LITELLM_MODEL",
    ):
        assert f"{needs} (requires_env)" in proc.stdout
    assert proc.stdout.count("lm-eval-so summary") == 1
    assert "8 pipelines, 18 gates, 0 failed" in proc.stdout
    runs = sorted(p.name.split("-")[1] for p in (tmp_path / "runs").iterdir())
    assert runs == ["local_qa", "support_bot_routing"]  # each ran exactly once


def test_endpoint_suite_runs_against_a_compatible_server(fake_openai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader((SUITES / "local_qa" / "questions.csv").open()))
    fake_openai.configure(answers={r["question"]: r["answer"] for r in rows})
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "sk-local-test"}
    proc = run_pytest(SUITES / "openai_compatible", "--lm-eval-workspace", tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 20  # limit: 20
