"""The cost budget stops a run before it overspends; --dry-run estimates tokens and cost."""

from __future__ import annotations

from pathlib import Path

from runner_pipelines import cli, fake_runner, manifest_of, results_of, write_pipeline

from fake_openai.server import ServerThread

# $1000 per 1M tokens: a call of ~7 estimated tokens is reserved at ~$0.007.
PRICING = {"prompt_per_1m": 1000, "completion_per_1m": 1000}


def test_the_budget_stops_the_run_and_keeps_what_finished(fake_openai: ServerThread, tmp_path: Path) -> None:
    runner = fake_runner(
        fake_openai.base_url,
        concurrency=4,
        cache="off",
        pricing=PRICING,
        params={"max_tokens": 5},
        max_cost_usd=0.05,
    )
    pipeline = write_pipeline(tmp_path, runner, n=40)

    proc = cli("run", pipeline, cwd=tmp_path)

    assert proc.returncode in (0, 1), proc.stderr
    run_dir = Path(proc.stdout.strip())
    results = results_of(run_dir)
    assert 0 < len(results) < 40
    assert sum(r.cost_usd or 0 for r in results) <= 0.05
    assert len(fake_openai.stats()["arrivals"]) == len(results)  # nothing was asked and dropped
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "budget_exhausted"
    assert manifest["counts"]["requests"] == len(results)
    assert "STOPPED EARLY" in proc.stderr and "max_cost_usd" in proc.stderr


def test_a_budget_needs_a_known_price(fake_openai: ServerThread, tmp_path: Path) -> None:
    runner = fake_runner(fake_openai.base_url, max_cost_usd=1.0).replace("gpt-4o-mini", "my-own-model")
    pipeline = write_pipeline(tmp_path, runner, n=2)

    proc = cli("run", pipeline, cwd=tmp_path)

    assert proc.returncode == 2
    assert "runner.max_cost_usd" in proc.stderr and "runner.pricing" in proc.stderr
    assert fake_openai.stats()["requests"] == {}


def test_dry_run_prints_the_estimate(fake_openai: ServerThread, tmp_path: Path) -> None:
    runner = fake_runner(fake_openai.base_url, pricing=PRICING, params={"max_tokens": 5}, repeats=2)
    pipeline = write_pipeline(tmp_path, runner, n=10)

    proc = cli("run", pipeline, "--dry-run", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    # "question N" is 10 characters (2 tokens at 4 chars/token), max_tokens 5, 20 requests.
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("estimate")]
    assert "~140 tokens (40 prompt + 100 completion)" in line
    assert "cost $0.1400" in line
    assert fake_openai.stats()["requests"] == {}


def test_dry_run_says_when_the_price_is_unknown(tmp_path: Path) -> None:
    runner = fake_runner("http://127.0.0.1:9/v1").replace("gpt-4o-mini", "my-own-model")
    pipeline = write_pipeline(tmp_path, runner, n=3)

    proc = cli("run", pipeline, "--dry-run", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert "cost unknown" in proc.stdout
