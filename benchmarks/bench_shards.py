"""Shards benchmark: one process against N shard processes side by side, then the merge.

    python benchmarks/bench_shards.py [--samples 10000] [--latency-ms 100] [--concurrency 32] [--shards 4]

Against the loopback OpenAI fake (its own process, every reply delayed by ``--latency-ms``):

1. one unsharded ``lm-eval-so run`` with ``runner.concurrency`` = C;
2. the same with concurrency N x C (what one machine would need to match N shards);
3. N ``lm-eval-so run --shard i/N`` processes started together, each with concurrency C and
   its own workspace (as on N machines), timed from the first start to the last exit;
4. ``lm-eval-so merge`` of the N shard runs (dataset import, canonical results, scoring,
   summary and reports), timed alone.

Wall times are whole processes, start-up and dataset generation included. It also checks that
the merged summary equals the unsharded one (figures, not timings). Prints a markdown table.
Not a test: nothing here asserts a speed. On a shared or small machine every figure is bounded
by the CPU the processes get, not only by the fake's latency: say so next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
KEY = "sk-bench-shards-0123456789abcdef"


def write_pipeline(folder: Path, base_url: str, samples: int, concurrency: int) -> Path:
    rows = "".join(f"s{i},question {i} {'w ' * (i % 7)},echo: question {i}\n" for i in range(samples))
    (folder / "data.csv").write_text("id,input,expected\n" + rows)
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: bench_shards\nworkspace: ws\ngenerator:\n  source: data.csv\n"
        f"runner:\n  backend: openai\n  model: gpt-4o-mini\n  base_url: {base_url}\n"
        f"  concurrency: {concurrency}\n  cache: off\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n    - type: f1\n"
    )
    return path


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LM_EVAL_SO_"))}
    return {**clean, "OPENAI_API_KEY": KEY}


def cli(*args: str | Path) -> list[str]:
    return [PYTHON, "-m", "lm_eval_so", "-q", *map(str, args)]


def timed(argvs: list[list[str]], cwd: Path) -> tuple[float, list[str]]:
    """Start every command at once; wall time until the last exits, and their stdouts."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(argv, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for argv in argvs
    ]
    outs = []
    for argv, proc in zip(argvs, procs, strict=True):
        out, err = proc.communicate()
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err}")
        outs.append(out.strip().splitlines()[-1])
    return time.perf_counter() - started, outs


def figures(run_dir: str) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((Path(run_dir) / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in ("run_id", "latency_ms")}


def runner_seconds(run_dir: str) -> float:
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text())
    return float(manifest["timings"]["run"]["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=32, help="per process")
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    n, c = args.shards, args.concurrency

    server = subprocess.Popen(
        [PYTHON, "-m", "tests.fake_openai.server", "--port", "0", "--latency-ms", str(args.latency_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
            folder = Path(tmp)
            pipeline = write_pipeline(folder, base_url, args.samples, c)
            timed([cli("gen-dataset", pipeline)], folder)  # warm-up: imports, the server's first calls

            one_s, (one_run,) = timed([cli("run", pipeline, "--workspace-dir", folder / "one")], folder)
            wide_s, (wide_run,) = timed(
                [
                    cli(
                        "run",
                        pipeline,
                        "--workspace-dir",
                        folder / "wide",
                        "--set",
                        f"runner.concurrency={n * c}",
                    )
                ],
                folder,
            )
            shard_argvs = [
                cli("run", pipeline, "--workspace-dir", folder / f"shard-{i}", "--shard", f"{i}/{n}")
                for i in range(n)
            ]
            shards_s, shard_runs = timed(shard_argvs, folder)
            merge_s, (merged,) = timed([cli("merge", *shard_runs, "--out", folder / "merged")], folder)
            same = figures(merged) == figures(one_run)
            one_runner, wide_runner = runner_seconds(one_run), runner_seconds(wide_run)
            slowest = max(runner_seconds(run) for run in shard_runs)
    finally:
        server.terminate()
        server.wait(timeout=10)

    ideal = args.samples * args.latency_ms / 1000 / c
    print(
        f"{args.samples} samples, fake latency {args.latency_ms:g} ms, concurrency {c} per process, "
        f"{os.cpu_count()} CPUs\n"
    )
    print("| what | wall s | runner stage s | ideal s (latency x calls / concurrency) |")
    print("|---|---|---|---|")
    print(f"| 1 process, concurrency {c} | {one_s:.1f} | {one_runner:.1f} | {ideal:.1f} |")
    print(f"| 1 process, concurrency {n * c} | {wide_s:.1f} | {wide_runner:.1f} | {ideal / n:.1f} |")
    print(
        f"| {n} shards side by side, {c} each | {shards_s:.1f} | {slowest:.1f} (slowest) | {ideal / n:.1f} |"
    )
    print(f"| merge of {n} shards (incl. scoring, reports) | {merge_s:.1f} | | |")
    print(f"| shards + merge | {shards_s + merge_s:.1f} | | |")
    print(f"\nspeed-up of {n} shards + merge over 1 process: {one_s / (shards_s + merge_s):.2f}x")
    print(f"merged summary identical to the unsharded one: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
