"""``lm-eval-so runs`` and short run references (latest, latest~N, PIPELINE@latest, id prefixes).

Most tests build run directories directly (a manifest and a summary, as the runner and the
evaluator write them), so ordering, status and pruning are checked without calling anything;
the end-to-end ones run tiny python apps through the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

# See tests/pytest_plugin/test_plugin_evaluator_gates.py: numpy must be imported outside pytester runs.
import numpy  # noqa: F401
import pytest

from lm_eval_so._internal.common.catalog import Catalog, read_run
from lm_eval_so._internal.common.errors import ArtifactError
from lm_eval_so._internal.common.records import (
    LatencySummary,
    MetricSummary,
    RunManifest,
    StageTiming,
    Summary,
    ThresholdOutcome,
    Usage,
)
from lm_eval_so._internal.common.refs import parse_latest, resolve_run
from lm_eval_so._internal.common.workspace import RunDir, atomic_write_json, run_lock
from lm_eval_so._internal.runs_cli import main as runs_main
from lm_eval_so._internal.runs_cli import since_time

T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)


def fake_run(
    workspace: Path,
    pipeline: str,
    at: datetime,
    *,
    run_id: str | None = None,
    status: str = "completed",
    passed: bool | None = True,
    mean: float = 0.8,
    cost: float | None = 0.0125,
    cached: int = 0,
) -> Path:
    """A run directory as the runner and evaluator leave it (no results: nothing reads them)."""
    run_id = run_id or f"{at:%Y%m%dT%H%M%SZ}-{pipeline}-abcdef12"
    path = workspace / "runs" / run_id
    path.mkdir(parents=True)
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    manifest = RunManifest(
        run_id=run_id, pipeline=pipeline, config_hash="abcdef12" + "0" * 56, config={"runner": {}},
        dataset={"id": "d", "content_hash": "f" * 64, "path": str(workspace / "d.jsonl"), "n_samples": 10},
        backend="python", model="app:answer", params={}, seed=0, versions={},
        timings={"run": StageTiming(started_at=stamp)}, status=status,  # type: ignore[arg-type]
    )  # fmt: skip
    atomic_write_json(path / "manifest.json", manifest)
    (path / "pipeline.yaml").write_text(f"name: {pipeline}\n")
    if passed is not None:
        metric = MetricSummary(
            name="exact_match", type="exact_match", mean=mean, ci_low=mean - 0.2,
            ci_high=min(1.0, mean + 0.1), n=10, std=0.4, ci_method="wilson",
        )  # fmt: skip
        gate = ThresholdOutcome(
            name="exact_match>=0.7", kind="metric", target="exact_match", min=0.7, value=mean,
            passed=passed, status="passed" if passed else "failed",
        )  # fmt: skip
        summary = Summary(
            pipeline=pipeline, run_id=run_id, passed=passed, metrics={"exact_match": metric},
            thresholds=[gate], n_samples=10, n_results=10, n_errors=0, error_rate=0.0, usage=Usage(),
            cost_usd=cost, latency_ms=LatencySummary(), n_cached=cached,
        )  # fmt: skip
        atomic_write_json(path / "summary.json", summary)
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """qa: 4 runs, router: 2 runs, one minute apart; the newest qa run failed its gate."""
    workspace = tmp_path / "ws"
    for minute, pipeline in enumerate(["qa", "router", "qa", "qa", "router", "qa"]):
        passed = not (pipeline == "qa" and minute == 5)
        fake_run(workspace, pipeline, T0 + timedelta(minutes=minute), passed=passed, mean=0.5 + minute / 20)
    return workspace


def ids(workspace: Path) -> list[str]:
    return [run.run_id for run in Catalog.of(workspace).runs()]


# --------------------------------------------------------------------------- references


def test_latest_and_steps_back(ws: Path) -> None:
    order = ids(ws)
    assert resolve_run("latest", ws).name == order[-1]
    assert resolve_run("latest~1", ws).name == order[-2]
    assert resolve_run("latest~5", ws).name == order[0]
    assert resolve_run("qa@latest", ws).name == "20261130T120500Z-qa-abcdef12"
    assert resolve_run("qa@latest~2", ws).name == "20261130T120200Z-qa-abcdef12"
    assert resolve_run("router@latest~1", ws).name == "20261130T120100Z-router-abcdef12"
    # A directory is used as it is; a bare latest can default to one pipeline (the baseline's).
    run = ws / "runs" / order[0]
    assert resolve_run(str(run), ws) == run.resolve()
    assert resolve_run("latest", ws, pipeline="router").name == "20261130T120400Z-router-abcdef12"


def test_latest_out_of_range_or_unknown_pipeline_says_what_there_is(ws: Path) -> None:
    with pytest.raises(
        ArtifactError, match=r"latest~6: .* holds 6 runs, so the newest is latest and the oldest latest~5"
    ):
        resolve_run("latest~6", ws)
    with pytest.raises(ArtifactError, match=r"router@latest~2: .* holds 2 runs of pipeline 'router'"):
        resolve_run("router@latest~2", ws)
    with pytest.raises(
        ArtifactError, match=r"no run of pipeline 'nope' .*\(pipelines with runs: qa, router\)"
    ):
        resolve_run("nope@latest", ws)
    with pytest.raises(ArtifactError, match="no run in"):
        resolve_run("latest", ws.parent / "empty")


def test_prefixes_unique_exact_and_ambiguous(ws: Path) -> None:
    assert resolve_run("20261130T1203", ws).name == "20261130T120300Z-qa-abcdef12"
    with pytest.raises(ArtifactError) as caught:
        resolve_run("20261130T12", ws)
    assert str(caught.value).startswith(
        "run id prefix '20261130T12' matches 6 runs: 20261130T120000Z-qa-abcdef12, "
    )
    assert "(1 more)" in str(caught.value)
    # An id that is also the prefix of another (a same-second run gets "-2") names itself.
    fake_run(ws, "qa", T0 + timedelta(minutes=3, milliseconds=5), run_id="20261130T120300Z-qa-abcdef12-2")
    assert resolve_run("20261130T120300Z-qa-abcdef12", ws).name == "20261130T120300Z-qa-abcdef12"
    with pytest.raises(ArtifactError, match="run id prefix '20261130T1203' matches 2 runs"):
        resolve_run("20261130T1203", ws)
    with pytest.raises(ArtifactError, match=r"no run id in .* starts with it"):
        resolve_run("zzz", ws)
    with pytest.raises(ArtifactError, match="no/such/run: no such run directory"):
        resolve_run("no/such/run", ws)


def test_order_is_start_time_to_the_millisecond_then_the_suffix(tmp_path: Path) -> None:
    # Same UTC second: run ids alone sort "-10" before "-2" and pipelines by name.
    ws = tmp_path / "ws"
    base = "20261130T120000Z-qa-abcdef12"
    for n in (1, 2, 10, 3):
        fake_run(ws, "qa", T0, run_id=base if n == 1 else f"{base}-{n}")
    fake_run(ws, "aaa", T0 + timedelta(milliseconds=300), run_id="20261130T120000Z-aaa-abcdef12")
    assert ids(ws) == [base, f"{base}-2", f"{base}-3", f"{base}-10", "20261130T120000Z-aaa-abcdef12"]
    assert resolve_run("latest~1", ws).name == f"{base}-10"


def test_parse_latest() -> None:
    assert parse_latest("latest") is not None and parse_latest("latest~12").back == 12  # type: ignore[union-attr]
    found = parse_latest("my.pipe-1@latest~2")
    assert found is not None and (found.pipeline, found.back) == ("my.pipe-1", 2)
    assert (
        parse_latest("latest~") is None
        and parse_latest("@latest") is None
        and parse_latest("latest1") is None
    )


def test_status_running_interrupted_and_unscored(ws: Path) -> None:
    running = fake_run(ws, "qa", T0 + timedelta(hours=1), status="running", passed=None)
    unscored = fake_run(ws, "router", T0 + timedelta(hours=2), status="unscored", passed=None)
    assert read_run(running).status == "interrupted"  # nobody holds its lock: the process died
    with run_lock(RunDir(running)):
        assert read_run(running).status == "running"
    assert read_run(unscored).status == "unscored"
    assert read_run(ws / "runs" / "20261130T120500Z-qa-abcdef12").status == "failed"


# --------------------------------------------------------------------------- runs list / show


def test_list_table_and_filters(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runs_main(["list", "--workspace-dir", str(ws)]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].split() == ["run", "pipeline", "when", "(UTC)", "backend/model", "status", "first",
                                "metric", "gates", "cost", "cached"]  # fmt: skip
    assert lines[1].split() == [
        "20261130T120500Z-qa-abcdef12", "qa", "2026-11-30", "12:05:00", "python/app:answer", "failed",
        "exact_match", "0.750", "[0.550,", "0.850]", "1", "failed", "$0.0125", "0/10",
    ]  # fmt: skip
    assert len(lines) == 7 and "6 of 6 runs" in out.err
    runs_main(["list", "--workspace-dir", str(ws), "--pipeline", "router"])
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == [
        "20261130T120400Z-router-abcdef12",
        "20261130T120100Z-router-abcdef12",
    ]
    runs_main(["list", "--workspace-dir", str(ws), "--status", "failed"])
    assert len(capsys.readouterr().out.splitlines()) == 2
    runs_main(["list", "--workspace-dir", str(ws), "--since", "2026-11-30T12:03:30", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == [
        "20261130T120500Z-qa-abcdef12",
        "20261130T120400Z-router-abcdef12",
    ]
    assert listed[0]["metric"]["mean"] == 0.75 and listed[0]["gates"] == {
        "passed": 0,
        "failed": 1,
        "inconclusive": 0,
    }
    assert listed[0]["cost_usd"] == 0.0125 and listed[0]["n_cached"] == 0


def test_since_accepts_ages_and_dates() -> None:
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert since_time("7d", now) == now - timedelta(days=7)
    assert since_time("90m", now) == now - timedelta(minutes=90)
    assert since_time("2026-11-30", now) == datetime(2026, 11, 30, tzinfo=timezone.utc)
    with pytest.raises(Exception, match="not a time: 'yesterday'"):
        since_time("yesterday", now)


def test_show_prints_the_summary(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runs_main(["show", "qa@latest~1", "--workspace-dir", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "run       20261130T120300Z-qa-abcdef12" in out
    assert "status    passed (manifest: completed)" in out
    assert "PASS  exact_match>=0.7" in out and "qa: PASSED (20261130T120300Z-qa-abcdef12)" in out
    assert runs_main(["show", "latest", "--workspace-dir", str(ws), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run"]["status"] == "failed" and data["summary"]["passed"] is False


def test_an_ambiguous_prefix_exits_2_with_the_matches(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runs_main(["show", "20261130T1200", "--workspace-dir", str(ws)]) == 0
    capsys.readouterr()
    assert runs_main(["show", "2026", "--workspace-dir", str(ws)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "lm-eval-so: error: run id prefix '2026' matches 6 runs: 20261130T120000Z-qa-abcdef12,"
    )


# --------------------------------------------------------------------------- prune


def remaining(ws: Path) -> set[str]:
    return {p.name for p in (ws / "runs").iterdir()}


def test_prune_keeps_the_newest_per_pipeline(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runs_main(["prune", "--keep", "1", "--workspace-dir", str(ws), "--dry-run"]) == 0
    out = capsys.readouterr()
    assert out.out.count("would delete") == 4 and len(remaining(ws)) == 6
    assert runs_main(["prune", "--keep", "2", "--pipeline", "qa", "--workspace-dir", str(ws), "--yes"]) == 0
    assert remaining(ws) == {
        "20261130T120300Z-qa-abcdef12",
        "20261130T120500Z-qa-abcdef12",
        "20261130T120100Z-router-abcdef12",
        "20261130T120400Z-router-abcdef12",
    }
    assert "deleted 2 runs" in capsys.readouterr().err


def test_prune_asks_and_a_script_without_yes_deletes_nothing(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Standard input is not a terminal under pytest: no --yes, no deletion, exit 2.
    assert runs_main(["prune", "--keep", "1", "--workspace-dir", str(ws)]) == 2
    assert "pass --yes" in capsys.readouterr().err and len(remaining(ws)) == 6
    # At a terminal, "n" keeps everything and "y" deletes.
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: "n")
    assert runs_main(["prune", "--keep", "1", "--workspace-dir", str(ws)]) == 0 and len(remaining(ws)) == 6
    monkeypatch.setattr("builtins.input", lambda question: "y")
    assert runs_main(["prune", "--keep", "1", "--workspace-dir", str(ws)]) == 0 and len(remaining(ws)) == 2


def test_prune_never_deletes_a_running_run(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    oldest = ws / "runs" / "20261130T120000Z-qa-abcdef12"
    manifest = json.loads((oldest / "manifest.json").read_text())
    manifest["status"] = "running"
    (oldest / "manifest.json").write_text(json.dumps(manifest))
    second = ws / "runs" / "20261130T120200Z-qa-abcdef12"  # completed, but being re-scored
    with run_lock(RunDir(oldest)), run_lock(RunDir(second)):
        assert runs_main(["prune", "--keep", "1", "--workspace-dir", str(ws), "--yes"]) == 0
        assert oldest.is_dir() and (oldest / "manifest.json").is_file()
        assert second.is_dir() and (second / "manifest.json").is_file()
    err = capsys.readouterr().err
    assert "keeping 20261130T120000Z-qa-abcdef12: in progress" in err
    assert "skipped 20261130T120200Z-qa-abcdef12: " in err and "in progress in another process" in err
    assert remaining(ws) == {
        "20261130T120000Z-qa-abcdef12",
        "20261130T120200Z-qa-abcdef12",
        "20261130T120500Z-qa-abcdef12",
        "20261130T120400Z-router-abcdef12",
    }


def test_prune_never_deletes_a_baseline(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An experiment's cells, the pytest plugin's baseline in pytest.ini, and --protect.
    experiment = ws / "experiments" / "20261130T130000Z-grid-12345678"
    experiment.mkdir(parents=True)
    cells = {"base": {"run_dir": str(ws / "runs" / "20261130T120000Z-qa-abcdef12")}}
    (experiment / "manifest.json").write_text(json.dumps({"cells": cells}))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nlm_eval_baseline = ws/runs/20261130T120100Z-router-abcdef12\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-q --lm-eval-baseline=qa@latest~2")  # 20261130T120200Z
    code = runs_main(["prune", "--keep", "1", "--workspace-dir", "ws", "--protect", "20261130T1203", "--yes"])
    assert code == 0
    assert remaining(ws) == {
        "20261130T120000Z-qa-abcdef12",  # experiment cell
        "20261130T120100Z-router-abcdef12",  # pytest.ini
        "20261130T120200Z-qa-abcdef12",  # PYTEST_ADDOPTS (as it resolves now)
        "20261130T120300Z-qa-abcdef12",  # --protect
        "20261130T120500Z-qa-abcdef12",
        "20261130T120400Z-router-abcdef12",
    }
    err = capsys.readouterr().err
    assert (
        "keeping 20261130T120000Z-qa-abcdef12: cell base of experiment 20261130T130000Z-grid-12345678" in err
    )
    assert (
        "keeping 20261130T120100Z-router-abcdef12: baseline 'ws/runs/20261130T120100Z-router-abcdef12'" in err
    )


def test_prune_reads_the_baseline_from_pyproject(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "--lm-eval-baseline ws/runs/20261130T120200Z-qa-abcdef12"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    assert runs_main(["prune", "--keep", "1", "--workspace-dir", "ws", "--pipeline", "qa", "--yes"]) == 0
    assert "20261130T120200Z-qa-abcdef12" in remaining(ws)
    assert "20261130T120300Z-qa-abcdef12" not in remaining(ws)


# --------------------------------------------------------------------------- end to end

APP = """
import os


def answer(input):
    n = int(input)
    if os.environ.get("APP_MODE") == "bad" and n % 4:
        return "wrong"
    return str(n * 2)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    rows = "".join(f"q{i},{i},{i * 2}\n" for i in range(16))
    (tmp_path / "data.csv").write_text("id,input,expected\n" + rows)
    (tmp_path / "pipeline.yaml").write_text(
        "name: qa\ngenerator: {source: data.csv}\n"
        'runner: {backend: python, function: "app:answer", cache: "off"}\n'
        "evaluator:\n  metrics:\n    - type: exact_match\n"
    )
    return tmp_path


def cli(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_", "LM_EVAL_SO_"))}
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so", *args], cwd=folder, env={**clean, **env},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_compare_latest_from_the_command_line(project: Path) -> None:
    assert cli(project, "run", "pipeline.yaml").returncode == 0
    assert cli(project, "run", "pipeline.yaml", APP_MODE="bad").returncode == 0  # no threshold: no gate
    result = cli(project, "compare", "latest~1", "latest", "--fail-on-regression")
    assert result.returncode == 1, result.stderr
    assert "significant regression in: exact_match" in result.stderr
    assert "| exact_match | 1 | 0.25 | -0.75 |" in result.stdout
    runs = sorted(p.name for p in (project / "workspace" / "runs").iterdir())
    assert f"`{runs[0]}`" in result.stdout and f"`{runs[1]}`" in result.stdout
    # The other commands that take a run: evaluator (re-scores beside it) and runs show.
    rescore = cli(project, "evaluator", "qa@latest~1")
    assert rescore.returncode == 0, rescore.stderr
    assert Path(rescore.stdout.strip()).parent == project / "workspace" / "runs" / runs[0] / "rescores"
    ambiguous = cli(project, "compare", runs[0][:4], "latest")
    assert ambiguous.returncode == 2
    assert f"run id prefix '{runs[0][:4]}' matches 2 runs: {runs[0]}, {runs[1]}" in ambiguous.stderr


def test_resume_takes_a_short_reference(project: Path) -> None:
    assert cli(project, "run", "pipeline.yaml").returncode == 0
    run = next((project / "workspace" / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (run / "manifest.json").write_text(json.dumps(manifest))
    resumed = cli(project, "run", "--resume", "latest")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == str(run)
    assert cli(project, "run", "--resume", "nope@latest").returncode == 2


def test_baseline_option_takes_a_short_reference(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(app=APP)
    rows = "".join(f"{i},{i},{i * 2}\n" for i in range(16))
    pytester.path.joinpath("data.csv").write_text("id,input,expected\n" + rows)
    pytester.path.joinpath("pipeline.yaml").write_text(
        "name: qa\ngenerator: {source: data.csv}\n"
        'runner: {backend: python, function: "app:answer", cache: "off"}\n'
        "evaluator:\n  metrics:\n    - type: exact_match\n"
    )
    args = ["--lm-eval-workspace=ws", "--lm-eval-baseline=latest", "-rs"]
    first = pytester.runpytest(*args)
    first.assert_outcomes(passed=1, skipped=1)  # no earlier run of qa
    first.stdout.fnmatch_lines(["*qa: no baseline run: latest: no run of pipeline 'qa'*"])
    pytester.runpytest(*args).assert_outcomes(passed=2)  # compared with the first run
    monkeypatch.setenv("APP_MODE", "bad")
    worse = pytester.runpytest(*args)
    worse.assert_outcomes(passed=1, failed=1)
    assert "qa: significant regression vs baseline in exact_match" in worse.stdout.str()
