"""The seed pipeline from DESIGN.md, unchanged, against our loopback OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import SEED, run_cli
from lm_eval_so import run_pipeline
from lm_eval_so._internal.common.records import RunResult

ANSWERS = {
    "How do I reset my password? Answer with the page name only.": "Account settings",
    "Which plan includes phone support? Answer with the plan name only.": "Enterprise",
    "What is the refund window in days? Answer with a number only.": "14",  # wrong on purpose
}


def test_seed_yaml_runs_against_compatible_server(fake_openai, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_openai.configure(answers=ANSWERS, required_key="sk-test-seed-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-seed-0123456789")

    result = run_pipeline(SEED, workspace_dir=tmp_path)

    summary = result.summary
    assert summary is not None and result.run_dir is not None
    em = summary.metrics["exact_match"]
    assert (em.n, em.mean) == (4, 0.5)  # 2 right, 1 wrong, 1 echoed
    assert summary.n_errors == 0
    assert summary.usage.total_tokens > 0
    assert summary.cost_usd is not None and summary.cost_usd > 0  # gpt-4 has a list price
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == 4

    # Every artifact exists, and the key is in none of them.
    names = {p.name for p in result.run_dir.iterdir()}
    assert {
        "pipeline.yaml",
        "manifest.json",
        "results.jsonl",
        "scores.jsonl",
        "summary.json",
        "report.html",
        "report.json",
    } <= names
    for path in result.run_dir.iterdir():
        assert "sk-test-seed-0123456789" not in path.read_text(), path.name


def test_auth_failure_becomes_error_results(fake_openai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake_openai.configure(required_key="the-right-key-123456")
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "the-wrong-key-654321"}
    proc = run_cli(["run", SEED, "--workspace-dir", tmp_path], env=env)
    assert proc.returncode == 0 or proc.returncode == 1, proc.stderr
    run_dir = Path(proc.stdout.strip())
    results = [
        RunResult.model_validate_json(line) for line in (run_dir / "results.jsonl").read_text().splitlines()
    ]
    assert len(results) == 4
    assert all(r.error is not None and r.error.status_code == 401 for r in results)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["error_rate"] == 1.0
    assert summary["metrics"]["exact_match"]["mean"] == 0.0
    for path in run_dir.iterdir():
        assert "the-wrong-key-654321" not in path.read_text(), path.name
