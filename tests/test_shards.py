"""Deterministic shards and their merge: ``run --shard I/N`` on N machines, then ``merge``.

The acceptance test runs four shard processes side by side against the loopback OpenAI fake,
each seeing only what Kubernetes or Slurm would set, merges their run directories (as a CI job
merges downloaded artifacts) and checks the merged run against one unsharded run in a separate
workspace: the same scores byte for byte, the same summary figures to the last digit.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from fake_openai.server import ServerThread
from lm_eval_so._internal.cli import main
from lm_eval_so._internal.common.errors import ConfigError
from lm_eval_so._internal.common.provenance import load_run_config
from lm_eval_so._internal.common.shard import Shard, parse_shard, shard_group, shard_of
from lm_eval_so._internal.common.workspace import RunDir
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.models.tally import CallTally, CostTotal

KEY = "sk-test-shards-0123456789abcdef"
N = 4
#: Fields of summary.json that say what happened at what time, not what the run found.
TIMING_FIELDS = ("run_id", "latency_ms")


# --------------------------------------------------------------------------- helpers


def write_pipeline(
    folder: Path, base_url: str, *, n: int = 400, repeats: int = 2, name: str = "sharded", extra: str = ""
) -> Path:
    """``n`` samples whose prompts (and so tokens and costs) vary; exact_match and token F1."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        words = " ".join(f"w{j}" for j in range(i % 5))
        text = f"question {i} {words}".strip()
        expected = [f"echo: {text}", f"echo: {text} more", "no overlap at all", f"echo: q {i}"][i % 4]
        rows.append(f"s{i},{text},{expected}\n")
    (folder / "data.csv").write_text("id,input,expected\n" + "".join(rows))
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: {name}\nworkspace: ws\nseed: 7\ngenerator:\n  source: data.csv\n"
        f"runner:\n  backend: openai\n  model: gpt-4o-mini\n  base_url: {base_url}\n"
        f"  repeats: {repeats}\n  concurrency: 8\n{extra}"
        "evaluator:\n  metrics:\n    - type: exact_match\n      threshold: 0.2\n    - type: f1\n"
    )
    return path


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment: no OPENAI_*/LM_EVAL_SO_*, no scheduler variables but ``extra``."""
    drop = ("OPENAI_", "LM_EVAL_SO_", "SLURM_", "JOB_COMPLETION_INDEX")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**clean, "OPENAI_API_KEY": KEY, **extra}


def cli_command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "lm_eval_so", *map(str, args)]


def run_cli(*args: str | os.PathLike[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, env=base_env(**env), cwd=cwd, timeout=300
    )


def in_process(capsys: pytest.CaptureFixture[str], *args: str | os.PathLike[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def last_line(text: str) -> Path:
    return Path(text.strip().splitlines()[-1])


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    """Everything in summary.json that a run found (metrics, intervals, counts, usage, cost)."""
    return {k: v for k, v in summary.items() if k not in TIMING_FIELDS}


def canonical_scores(run_dir: Path, dataset: Path, metrics: Sequence[str]) -> bytes:
    """scores.jsonl re-ordered into dataset order, then repeat, then metric (lines as written)."""
    order = {json.loads(line)["id"]: i for i, line in enumerate(dataset.read_text().splitlines())}
    lines = (run_dir / "scores.jsonl").read_bytes().splitlines(keepends=True)

    def key(line: bytes) -> tuple[int, int, int]:
        record = json.loads(line)
        return (order[record["sample_id"]], record["repeat"], metrics.index(record["metric"]))

    return b"".join(sorted(lines, key=key))


def shard_runs(
    folder: Path, n: int, *, env_for: Any, shard_arg: Any, wait: bool = True
) -> list[subprocess.Popen[str]]:
    procs = []
    for index in range(n):
        workspace = folder / f"artifact-{index}" / "ws"  # one machine each: its own workspace and cache
        procs.append(
            subprocess.Popen(
                cli_command(
                    "run", folder / "pipeline.yaml", "--workspace-dir", workspace, "--shard", shard_arg(index)
                ),
                cwd=folder,
                env=base_env(**env_for(index)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


# --------------------------------------------------------------------------- the acceptance test


def test_four_shards_merge_into_the_unsharded_run(fake_openai: ServerThread, tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, fake_openai.base_url)

    # Two shards as pods of a Kubernetes Indexed Job, two as tasks of a Slurm array; side by side.
    def env_for(index: int) -> dict[str, str]:
        if index < 2:
            return {"JOB_COMPLETION_INDEX": str(index)}
        return {"SLURM_ARRAY_TASK_ID": str(index), "SLURM_ARRAY_TASK_COUNT": str(N)}

    procs = shard_runs(tmp_path, N, env_for=env_for, shard_arg=lambda i: f"auto/{N}" if i < 2 else "auto")
    shards = []
    for index, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert f"shard {index}/{N} (group " in err and "gates are evaluated by lm-eval-so merge" in err
        shards.append(last_line(out))

    # Every pair ran exactly once, in exactly the shard the hash names.
    ran = []
    for index, run_dir in enumerate(shards):
        assert run_dir.is_relative_to(tmp_path / f"artifact-{index}")
        manifest = read_json(run_dir / "manifest.json")
        shard = manifest["shard"]
        assert (shard["index"], shard["count"], manifest["status"]) == (index, N, "unscored")
        assert shard["index_from"] == ("JOB_COMPLETION_INDEX" if index < 2 else "SLURM_ARRAY_TASK_ID")
        assert shard["host"] and manifest["timings"]["run"]["seconds"] is not None
        assert not (run_dir / "summary.json").exists()  # a shard is not scored nor gated alone
        pairs = [(r["sample_id"], r["repeat"]) for r in map(json.loads, (run_dir / "results.jsonl").open())]
        assert all(shard_of(sid, rep, N) == index for sid, rep in pairs)
        assert shard["planned"] == len(pairs) and manifest["counts"]["requests"] == len(pairs)
        ran += pairs
    assert sorted(ran) == sorted((f"s{i}", r) for i in range(400) for r in range(2))
    assert len({read_json(d / "manifest.json")["shard"]["group"] for d in shards}) == 1

    # The merge job, on another machine: each shard's workspace downloaded as an artifact, so the
    # paths in the manifests are gone; the folder holding them all is the one argument.
    (tmp_path / "downloaded").mkdir()
    for index in range(N):
        shutil.move(tmp_path / f"artifact-{index}", tmp_path / "downloaded" / f"shard-{index}")
    merged_ws = tmp_path / "merged-ws"
    merge = run_cli("merge", tmp_path / "downloaded", "--out", merged_ws, cwd=tmp_path)
    assert merge.returncode == 0, merge.stderr
    merged = last_line(merge.stdout)
    assert merged.parent == merged_ws.resolve() / "runs"
    assert f"merged {N} of {N} shards" in merge.stderr

    # One unsharded run of the same pipeline, in a workspace (and cache) of its own.
    single = run_cli("run", pipeline, "--workspace-dir", tmp_path / "single-ws", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    unsharded = last_line(single.stdout)

    merged_summary, single_summary = read_json(merged / "summary.json"), read_json(unsharded / "summary.json")
    assert figures(merged_summary) == figures(single_summary)
    assert merged_summary["metrics"]["f1"]["ci_method"] == "bootstrap"  # the seeded bootstrap is compared too
    assert merged_summary["cost_usd"] > 0 and merged_summary["n_results"] == 800

    merged_manifest = read_json(merged / "manifest.json")
    dataset = Path(merged_manifest["dataset"]["path"])
    assert dataset.is_relative_to(merged_ws.resolve() / "datasets")  # imported: the run is re-scorable
    metrics = ["exact_match", "f1"]
    assert (merged / "scores.jsonl").read_bytes() == canonical_scores(unsharded, dataset, metrics)
    # results.jsonl in canonical order: dataset order, then repeat.
    merged_pairs = [(r["sample_id"], r["repeat"]) for r in map(json.loads, (merged / "results.jsonl").open())]
    assert merged_pairs == [(f"s{i}", r) for i in range(400) for r in range(2)]

    merge_info = merged_manifest["merge"]
    assert merged_manifest["status"] == "completed" and merged_manifest["shard"] is None
    assert [s["index"] for s in merge_info["shards"]] == list(range(N))
    assert all(s["host"] and s["timings"]["run"]["seconds"] is not None for s in merge_info["shards"])
    assert merge_info["partial"] is None and merge_info["missing"] == []
    assert merged_manifest["config_hash"] == read_json(unsharded / "manifest.json")["config_hash"]
    assert merged_manifest["counts"]["requests"] == 800 and "merge" in merged_manifest["timings"]
    assert (merged / "report.html").is_file() and (merged / "pipeline.yaml").is_file()


def test_cache_replays_change_no_figure(
    fake_openai: ServerThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shards sharing the workspace (and cache) of an earlier unsharded run replay every answer.
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    pipeline = write_pipeline(tmp_path, fake_openai.base_url, n=120)
    code, out, _ = in_process(capsys, "run", pipeline)
    assert code == 0
    unsharded = last_line(out)
    asked = fake_openai.stats()["requests"]["/v1/chat/completions"]
    shards = []
    for index in range(3):
        code, out, _ = in_process(capsys, "run", pipeline, "--shard", f"{index}/3")
        assert code == 0
        shards.append(last_line(out))
    assert fake_openai.stats()["requests"]["/v1/chat/completions"] == asked  # all from the cache
    code, out, err = in_process(capsys, "merge", *shards)
    assert code == 0, err
    merged = read_json(last_line(out) / "summary.json")
    single = read_json(unsharded / "summary.json")
    assert merged["n_cached"] == 240 and single["n_cached"] == 0
    replay = ("n_cached", "cost_spent_usd", "cost_replayed_usd")
    assert {k: v for k, v in figures(merged).items() if k not in replay} == {
        k: v for k, v in figures(single).items() if k not in replay
    }
    assert merged["cost_replayed_usd"] == single["cost_spent_usd"] == single["cost_usd"] == merged["cost_usd"]


# --------------------------------------------------------------------------- refusals


@pytest.fixture
def small(fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"):
        monkeypatch.delenv(name, raising=False)
    return write_pipeline(tmp_path, fake_openai.base_url, n=30, repeats=1, name="small")


def run_shard(capsys: pytest.CaptureFixture[str], pipeline: Path, spec: str, *more: str) -> Path:
    code, out, err = in_process(capsys, "run", pipeline, "--shard", spec, *more)
    assert code == 0, err
    return last_line(out)


def refused(capsys: pytest.CaptureFixture[str], *args: str | os.PathLike[str]) -> str:
    code, out, err = in_process(capsys, "merge", *args)
    assert code == 2, err
    assert out == ""
    return err.strip()


def test_refuses_shards_of_different_configs(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    first = run_shard(capsys, small, "0/2")
    other = run_shard(capsys, small, "1/2", "--set", "runner.max_retries=5")
    a, b = (
        read_json(first / "manifest.json")["config_hash"],
        read_json(other / "manifest.json")["config_hash"],
    )
    assert refused(capsys, first, other) == (
        f"lm-eval-so: error: {other}: shard 1/2 was run with config {b[:12]}, but {first} (shard 0/2) "
        f"with config {a[:12]}: shards of different pipelines (or of a changed pipeline) do not merge"
    )


def test_refuses_shards_of_different_datasets(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    first = run_shard(capsys, small, "0/2")
    data = small.parent / "data.csv"
    data.write_text(data.read_text().replace("question 3", "question three"))  # same config, new data
    other = run_shard(capsys, small, "1/2")
    a = read_json(first / "manifest.json")["dataset"]["content_hash"]
    b = read_json(other / "manifest.json")["dataset"]["content_hash"]
    assert a != b
    assert refused(capsys, first, other) == (
        f"lm-eval-so: error: {other}: shard 1/2 ran on dataset {b[:12]}, but {first} (shard 0/2) on "
        f"dataset {a[:12]}: shards of different datasets do not merge"
    )


def test_refuses_a_missing_shard(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    shards = [run_shard(capsys, small, f"{i}/4") for i in (0, 1, 3)]
    assert refused(capsys, *shards) == (
        "lm-eval-so: error: missing shard 2/4 (have 0, 1, 3 of 0..3); give every shard's run, "
        "or merge what exists with --allow-partial (the merged run does not pass)"
    )


def test_refuses_a_duplicated_shard(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    zero, one, again = (run_shard(capsys, small, spec) for spec in ("0/2", "1/2", "1/2"))
    assert refused(capsys, zero, one, again) == (
        f"lm-eval-so: error: shard 1/2 given twice: {one} and {again}; keep one of them"
    )


def test_refuses_an_unfinished_shard(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    zero, one = run_shard(capsys, small, "0/2"), run_shard(capsys, small, "1/2")
    interrupt(one)
    assert refused(capsys, zero, one) == (
        f"lm-eval-so: error: {one}: shard 1/2 is unfinished (status interrupted); finish it with "
        f"`lm-eval-so run PIPELINE --resume {one}`, or merge what exists with --allow-partial "
        "(the merged run does not pass)"
    )


def test_refuses_mixed_shard_counts(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    half, third = run_shard(capsys, small, "0/2"), run_shard(capsys, small, "1/3")
    assert refused(capsys, half, third) == (
        f"lm-eval-so: error: {third}: shard 1/3 is one of 3 shards, but {half} is shard 0/2: "
        "shards of a 2-way and a 3-way split do not merge"
    )


def test_refuses_a_run_that_is_not_a_shard(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, out, _ = in_process(capsys, "run", small)
    whole = last_line(out)
    assert code == 0
    assert refused(capsys, whole) == (
        f"lm-eval-so: error: {whole}: not a shard run "
        "(its manifest names no shard: it was not run with --shard)"
    )


def interrupt(run_dir: Path, keep: int | None = None) -> None:
    """Make ``run_dir`` look like a shard stopped by Ctrl-C, keeping its first ``keep`` results."""
    manifest = read_json(run_dir / "manifest.json")
    manifest["status"] = "interrupted"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    if keep is not None:
        lines = (run_dir / "results.jsonl").read_text().splitlines(keepends=True)
        (run_dir / "results.jsonl").write_text("".join(lines[:keep]) + '{"sample_id": "s1", "rep')  # torn


def test_allow_partial_merges_what_exists_and_does_not_pass(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    zero, one, three = (run_shard(capsys, small, f"{i}/4") for i in (0, 1, 3))
    interrupt(one, keep=2)
    code, out, err = in_process(capsys, "merge", zero, one, three, "--allow-partial")
    assert code == 1, err
    merged = last_line(out)
    summary = read_json(merged / "summary.json")
    expected_results = sum(1 for i in range(30) if shard_of(f"s{i}", 0, 4) in (0, 3)) + 2
    partial = (
        f"partial merge: shard 2/4 missing, shard 1/4 unfinished (interrupted); {expected_results} of 30 "
        "planned results (merge every shard, finished, for a run that can pass)"
    )
    assert summary["passed"] is False and summary["stopped"] == partial
    assert summary["n_results"] == expected_results and summary["n_samples"] == 30
    manifest = read_json(merged / "manifest.json")
    assert manifest["merge"]["partial"] == partial and manifest["merge"]["missing"] == [2]
    assert f"STOPPED  {partial}" in err and f"PARTIAL  {partial}" in err


def test_merge_finds_the_dataset_by_option_when_the_path_is_gone(
    capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path
) -> None:
    shards = [run_shard(capsys, small, f"{i}/2") for i in range(2)]
    dataset = Path(read_json(shards[0] / "manifest.json")["dataset"]["path"])
    moved = tmp_path / "elsewhere" / "dataset.jsonl"
    moved.parent.mkdir()
    shutil.move(dataset, moved)
    content_hash = read_json(shards[0] / "manifest.json")["dataset"]["content_hash"]
    assert refused(capsys, *shards) == (
        f"lm-eval-so: error: small: the dataset the shards ran on is neither at the path their manifests "
        f"name ({dataset}) nor in their workspaces; pass --dataset PATH (the dataset.jsonl with content "
        f"hash {content_hash[:12]})"
    )
    code, out, err = in_process(capsys, "merge", *shards, "--dataset", moved, "--out", tmp_path / "out")
    assert code == 0, err
    assert read_json(last_line(out) / "summary.json")["n_results"] == 30


def test_a_shard_resumes_as_the_shard_it_is(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    one = run_shard(capsys, small, "1/2")
    planned = read_json(one / "manifest.json")["shard"]["planned"]
    interrupt(one, keep=3)
    code, out, err = in_process(capsys, "run", "--resume", one)
    assert code == 0, err
    assert last_line(out) == one
    pairs = [json.loads(line)["sample_id"] for line in (one / "results.jsonl").read_text().splitlines()]
    assert len(pairs) == len(set(pairs)) == planned
    assert all(shard_of(sid, 0, 2) == 1 for sid in pairs)
    code, _, err = in_process(capsys, "run", "--resume", one, "--shard", "0/2")
    assert code == 2 and f"{one}: cannot resume as shard 0/2: the run is shard 1/2" in err


# --------------------------------------------------------------------------- assignment and parsing


def test_assignment_is_a_stable_partition() -> None:
    # Pinned values: the same pair lands in the same shard on every machine, process and version
    # (sha256 of "<repeat>:<sample id>", first 8 bytes, modulo N; never Python's salted hash()).
    assert [shard_of(f"s{i}", 0, 4) for i in range(12)] == [1, 2, 3, 1, 2, 2, 2, 1, 0, 1, 0, 2]
    assert [shard_of("s0", repeat, 4) for repeat in range(4)] == [1, 0, 1, 1]
    assert shard_of("question-17", 2, 7) == 6 and shard_of("anything", 3, 1) == 0
    pairs = [(f"id-{i}", r) for i in range(500) for r in range(3)]
    random.Random(1).shuffle(pairs)  # the order rows come in changes nothing
    owners = [[Shard(k, 5).owns(sid, rep) for k in range(5)] for sid, rep in pairs]
    assert all(sum(row) == 1 for row in owners)  # exactly one shard per pair
    sizes = [sum(row[k] for row in owners) for k in range(5)]
    assert min(sizes) > 220 and max(sizes) < 380  # 300 each on average
    assert shard_group("a" * 64, "b" * 64, 4) != shard_group("a" * 64, "b" * 64, 3)


@pytest.mark.parametrize(
    ("spec", "env", "expected"),
    [
        ("2/4", {}, (2, 4, None)),
        ("auto/4", {"JOB_COMPLETION_INDEX": "3"}, (3, 4, "JOB_COMPLETION_INDEX")),
        ("auto", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, (1, 4, "SLURM_ARRAY_TASK_ID")),
        (
            "auto/4",
            {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"},
            (0, 4, "SLURM_ARRAY_TASK_ID"),
        ),
        (
            "auto",
            {
                "SLURM_ARRAY_TASK_ID": "5",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "1",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            (2, 4, "SLURM_ARRAY_TASK_ID"),
        ),
    ],
)
def test_parse_shard(spec: str, env: dict[str, str], expected: tuple[int, int, str | None]) -> None:
    shard = parse_shard(spec, env)
    assert (shard.index, shard.count, shard.source) == expected


@pytest.mark.parametrize(
    ("spec", "env", "message"),
    [
        ("4/4", {}, "--shard 4/4: the index must be 0 to 3 (shards are numbered from 0)"),
        ("0/0", {}, "--shard 0/0: the number of shards must be at least 1"),
        ("1", {}, "--shard 1: expected I/N (e.g. 0/4), auto/N or auto"),
        ("a/4", {}, "--shard a/4: the index is not a whole number ('a')"),
        (
            "auto/4",
            {},
            "--shard auto/4: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID "
            "with SLURM_ARRAY_TASK_COUNT (Slurm job array) is set; run inside one of those, or give the "
            "shard explicitly: --shard I/N",
        ),
        (
            "auto",
            {"JOB_COMPLETION_INDEX": "1"},
            "--shard auto: JOB_COMPLETION_INDEX gives the index but Kubernetes does not tell the number "
            "of shards; give it: --shard auto/N (N = the Job's completions)",
        ),
        (
            "auto/4",
            {"JOB_COMPLETION_INDEX": "4"},
            "--shard auto/4: JOB_COMPLETION_INDEX=4, but there are only 4 shards (0 to 3)",
        ),
        (
            "auto/3",
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
            "--shard auto/3: the Slurm array has 4 tasks (SLURM_ARRAY_TASK_COUNT) but the option says "
            "3 shards; make them agree",
        ),
        (
            "auto",
            {"SLURM_ARRAY_TASK_ID": "1"},
            "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give the number "
            "of shards: --shard auto/N",
        ),
        (
            "auto/2",
            {"SLURM_ARRAY_TASK_ID": "1", "JOB_COMPLETION_INDEX": "1"},
            "--shard auto/2: both JOB_COMPLETION_INDEX (Kubernetes) and SLURM_ARRAY_TASK_ID (Slurm) are "
            "set, so the shard index is ambiguous; give it explicitly: --shard I/N",
        ),
    ],
)
def test_parse_shard_refuses(spec: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_shard(spec, env)
    assert str(caught.value) == message


def test_cli_names_the_variables_when_auto_has_none(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text("name: x\n")
    proc = run_cli("run", tmp_path / "pipeline.yaml", "--shard", "auto", cwd=tmp_path)
    assert proc.returncode == 2
    assert "JOB_COMPLETION_INDEX" in proc.stderr and "SLURM_ARRAY_TASK_ID" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- order-independent figures


def test_summary_does_not_depend_on_result_order(
    fake_openai: ServerThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A run's results arrive in completion order; a merge writes them in dataset order. The
    # figures must be the same for both: exact sums, and a bootstrap of the sorted scores.
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    pipeline = write_pipeline(tmp_path, fake_openai.base_url, n=150)
    code, out, _ = in_process(capsys, "run", pipeline)
    assert code == 0
    run = RunDir(last_line(out))
    config = load_run_config(run.path)
    dataset = Path(read_json(run.manifest)["dataset"]["path"])
    lines = run.results.read_text().splitlines(keepends=True)
    seen = []
    for trial in range(3):
        random.Random(trial).shuffle(lines)
        copy = tmp_path / f"shuffled-{trial}"
        shutil.copytree(
            run.path, copy, ignore=shutil.ignore_patterns("summary.json", "scores.jsonl", "report.*")
        )
        (copy / "results.jsonl").write_text("".join(lines))
        summary = evaluate_run(config, RunDir(copy), dataset, run_id="same")
        seen.append(summary.model_dump(exclude={"latency_ms"}))
    assert seen[0]["metrics"]["f1"]["ci_method"] == "bootstrap"
    assert seen[0] == seen[1] == seen[2]


def test_cost_total_is_exact_in_any_order() -> None:
    costs = [random.Random(i).uniform(1e-7, 1e-3) for i in range(2000)] + [1e-12, 3.0]
    totals = set()
    for trial in range(5):
        random.Random(trial).shuffle(costs)
        total = CostTotal()
        for cost in costs:
            total.add(cost)
        totals.add(total.value)
    assert len(totals) == 1 and totals == {math.fsum(costs)}
    unknown = CostTotal()
    unknown.add(1.0)
    unknown.add(None)
    assert unknown.value is None
    assert CallTally().cost_usd == 0.0


# --------------------------------------------------------------------------- pytest


def test_pytest_runs_one_shard_and_skips_every_gate(
    pytester: pytest.Pytester, fake_openai: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    write_pipeline(pytester.path, fake_openai.base_url, n=40, extra="  max_retries: 0\n")
    result = pytester.runpytest("--lm-eval-shard", "2/4", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*shard 2/4: gates are evaluated by lm-eval-so merge"])
    assert result.ret == 0
    (run_dir,) = (pytester.path / "ws" / "runs").iterdir()
    manifest = read_json(run_dir / "manifest.json")
    assert (manifest["shard"]["index"], manifest["shard"]["count"], manifest["status"]) == (2, 4, "unscored")
    planned = sum(shard_of(f"s{i}", r, 4) == 2 for i in range(40) for r in range(2))
    assert (
        manifest["counts"]["requests"] == planned == fake_openai.stats()["requests"]["/v1/chat/completions"]
    )


def test_pytest_shards_then_merge_is_the_ci_recipe(
    pytester: pytest.Pytester,
    fake_openai: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # docs/scale.md: N jobs run `pytest --lm-eval-shard auto/N`; one job merges and gates. The
    # suite holds two pipelines: the merge builds one run for each.
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    write_pipeline(pytester.path / "evals" / "qa", fake_openai.base_url, n=40, name="qa")
    write_pipeline(pytester.path / "evals" / "chat", fake_openai.base_url, n=25, repeats=1, name="chat")
    for index in range(3):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
        result = pytester.runpytest("evals", "--lm-eval-shard", "auto/3", "--lm-eval-workspace", "ws", "-rs")
        result.assert_outcomes(skipped=2)
        result.stdout.fnmatch_lines([f"SKIPPED*shard {index}/3: gates are evaluated by lm-eval-so merge"] * 2)
    monkeypatch.delenv("JOB_COMPLETION_INDEX")
    capsys.readouterr()  # what the in-process pytest sessions printed
    code, out, err = in_process(capsys, "merge", pytester.path / "ws")
    assert code == 0, err
    merged = [Path(line) for line in out.splitlines()]
    assert [read_json(d / "summary.json")["pipeline"] for d in merged] == ["chat", "qa"]
    assert [read_json(d / "summary.json")["n_results"] for d in merged] == [25, 80]
    assert err.count("PASS  exact_match>=0.2") == 2


def test_pytest_shard_option_is_checked(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    result = pytester.runpytest("--lm-eval-shard", "auto/4")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--lm-eval-shard / lm_eval_shard: --shard auto/4: neither JOB_COMPLETION_INDEX*"]
    )


# --------------------------------------------------------------------------- a real Slurm array

SLURM_DAEMONS = ("slurmctld", "slurmd", "sbatch", "squeue")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _slurm_missing() -> str | None:
    if not all(shutil.which(tool) for tool in SLURM_DAEMONS):
        return "Slurm is not installed (apt-get install slurm-wlm)"
    if os.geteuid() != 0:
        return "a one-node Slurm cluster needs root to run slurmd"
    if not list(Path("/usr/lib").glob("*/slurm-wlm/auth_none.so")):
        return "this Slurm build has no auth/none plugin"
    return None


@pytest.fixture
def slurm_cluster() -> Any:
    """A throwaway one-node Slurm cluster (auth/none, its own ports and state); yields SLURM_CONF."""
    import socket
    import tempfile
    import time

    missing = _slurm_missing()
    if missing:
        pytest.skip(missing)
    root = Path(tempfile.mkdtemp(prefix="slurm", dir="/tmp"))  # short: slurmd's sockets live here
    host = socket.gethostname().split(".")[0]
    for folder in ("state", "spool", "log"):
        (root / folder).mkdir()
    conf = root / "slurm.conf"
    conf.write_text(
        f"ClusterName=lmevalso\nSlurmctldHost={host}\nAuthType=auth/none\nCredType=cred/none\n"
        f"SlurmUser=root\nSlurmdUser=root\nSlurmctldPort={_free_port()}\nSlurmdPort={_free_port()}\n"
        f"StateSaveLocation={root}/state\nSlurmdSpoolDir={root}/spool\n"
        f"SlurmctldPidFile={root}/ctld.pid\nSlurmdPidFile={root}/d.pid\n"
        f"SlurmctldLogFile={root}/log/ctld.log\nSlurmdLogFile={root}/log/d.log\n"
        "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\n"
        "SelectTypeParameters=CR_Core\nSchedulerType=sched/builtin\nReturnToService=2\nMpiDefault=none\n"
        "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n"
        f"NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN\n"
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
    )
    daemons = [
        subprocess.Popen(
            [tool, "-D", *extra, "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for tool, extra in (("slurmctld", ["-i"]), ("slurmd", []))
    ]
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
            if state.stdout.strip() in ("idle", "mix", "alloc"):
                break
            time.sleep(0.5)
        else:
            log = "".join(p.read_text()[-500:] for p in sorted((root / "log").glob("*.log")))
            pytest.skip(f"the one-node Slurm cluster did not come up within 30 s: {log}")
        yield str(conf)
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_a_slurm_array_and_a_dependent_merge(
    fake_openai: ServerThread, tmp_path: Path, slurm_cluster: str
) -> None:
    import time

    pipeline = write_pipeline(tmp_path, fake_openai.base_url, n=200)
    run = " ".join(
        cli_command(
            "run", pipeline, "--shard", "auto", "--workspace-dir", "results/shard-$SLURM_ARRAY_TASK_ID"
        )
    )
    (tmp_path / "shard.sbatch").write_text(
        f"#!/bin/bash\n#SBATCH --array=0-3\n#SBATCH --output=shard-%a.out\n{run}\n"
    )
    env = {**base_env(), "SLURM_CONF": slurm_cluster}
    submit = ["sbatch", "--parsable", "--chdir", str(tmp_path)]
    array = subprocess.run([*submit, "shard.sbatch"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert array.returncode == 0, array.stderr
    job = array.stdout.strip().split(";")[0]
    merge = " ".join(cli_command("merge", "results", "--out", "merged"))
    merged_job = subprocess.run(
        [
            *submit,
            f"--dependency=afterok:{job}",
            "--output=merge.out",
            "--wrap",
            f"{merge} > merged.txt; echo $? > merge.rc",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert merged_job.returncode == 0, merged_job.stderr
    deadline = time.monotonic() + 240
    while not (tmp_path / "merge.rc").exists() and time.monotonic() < deadline:
        time.sleep(1)
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("*.out")))
    assert (tmp_path / "merge.rc").read_text().strip() == "0", logs

    for index in range(N):
        (run_dir,) = (tmp_path / "results" / f"shard-{index}" / "runs").iterdir()
        shard = read_json(run_dir / "manifest.json")["shard"]
        assert (shard["index"], shard["count"], shard["index_from"]) == (index, N, "SLURM_ARRAY_TASK_ID")
    merged = Path((tmp_path / "merged.txt").read_text().strip())
    single = run_cli("run", pipeline, "--workspace-dir", tmp_path / "single", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    unsharded = last_line(single.stdout)
    assert figures(read_json(merged / "summary.json")) == figures(read_json(unsharded / "summary.json"))


def test_refuses_a_result_in_the_wrong_shard_before_writing(
    capsys: pytest.CaptureFixture[str], small: Path, tmp_path: Path
) -> None:
    zero, one = run_shard(capsys, small, "0/2"), run_shard(capsys, small, "1/2")
    stray = (zero / "results.jsonl").read_text().splitlines(keepends=True)[0]
    with (one / "results.jsonl").open("a") as handle:
        handle.write(stray)
    sample = json.loads(stray)["sample_id"]
    line = len((one / "results.jsonl").read_text().splitlines())
    assert refused(capsys, zero, one, "--out", tmp_path / "out") == (
        f"lm-eval-so: error: {one}/results.jsonl:{line}: sample {sample!r} repeat 0 belongs to shard 0/2, "
        "not to shard 1/2"
    )
    assert not (tmp_path / "out").exists()


def test_the_python_api_takes_the_shard_as_the_cli_writes_it(small: Path) -> None:
    import lm_eval_so
    from lm_eval_so import run_pipeline

    assert lm_eval_so.Shard is Shard  # the public name is the one the CLI parses into

    halves = [run_pipeline(small, shard=spec) for spec in ("0/2", Shard(1, 2))]
    ids = [
        {json.loads(line)["sample_id"] for line in (r.run_dir / "results.jsonl").read_text().splitlines()}
        for r in halves
        if r.run_dir is not None
    ]
    assert len(ids) == 2 and ids[0] and ids[1] and not ids[0] & ids[1]
    assert all(r.summary is None for r in halves)  # a shard is gated by merge
    with pytest.raises(ConfigError, match="--shard 2/2: the index must be 0 to 1"):
        run_pipeline(small, shard="2/2")
