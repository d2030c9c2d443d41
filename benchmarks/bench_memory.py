"""Memory benchmark: peak RSS of a whole ``lm-eval-so run`` at a small and a big N.

    python benchmarks/bench_memory.py [--small 1000] [--big 100000] [--formats json,html,markdown]

Issue 4's target: the big run peaks at no more than 1.3x the small one, since records stream
to disk and nothing held in memory should grow with N. Runs against the loopback fake server
(``tests.fake_openai.server``, 1 ms latency); peak RSS comes from ``wait4`` on the run process
and on each stage run on its own (``gen-dataset``, ``runner``, ``evaluator``). Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run_measured(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{err.read().decode()}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def write_pipeline(folder: Path, n: int, base_url: str, formats: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.csv").open("w") as handle:
        handle.write("id,input,expected\n")
        # Every tenth answer is wrong, so reports have failing samples to put first.
        handle.writelines(
            f"s{i},question {i},{'wrong' if i % 10 == 0 else 'echo: question'} {i}\n" for i in range(n)
        )
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: mem\nworkspace: ws\ngenerator:\n  source: data.csv\n"
        f"runner:\n  backend: openai\n  model: gpt-4o-mini\n  base_url: {base_url}\n"
        "  concurrency: 128\n  cache: 'off'\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n"
        f"  report:\n    formats: [{', '.join(formats)}]\n"
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--formats", default="json", help="comma-separated report formats")
    parser.add_argument("--stages", action="store_true", help="also measure each stage on its own")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["OPENAI_API_KEY"] = "bench"
    server = subprocess.Popen(
        [PYTHON, "-m", "tests.fake_openai.server", "--port", "0", "--latency-ms", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            peaks = {
                n: measure_n(Path(tmp) / f"n{n}", n, base_url, args, env) for n in (args.small, args.big)
            }
    finally:
        server.terminate()
        server.wait(timeout=10)
    small, big = peaks[args.small], peaks[args.big]
    print(f"\nwhole run: N={args.big} {big:.0f} MiB / N={args.small} {small:.0f} MiB = {big / small:.2f}x")


def measure_n(folder: Path, n: int, base_url: str, args: argparse.Namespace, env: dict[str, str]) -> float:
    path = write_pipeline(folder, n, base_url, args.formats.split(","))
    cli = [PYTHON, "-m", "lm_eval_so", "-q"]
    wall, rss, out = run_measured([*cli, "run", str(path)], folder, env)
    print(f"N={n:>7} run        {wall:7.1f} s  peak RSS {rss:6.0f} MiB", flush=True)
    if args.stages:
        run_dir = out.strip().splitlines()[-1]
        wall_g, rss_g, _ = run_measured([*cli, "gen-dataset", str(path)], folder, env)
        print(f"N={n:>7} gen-dataset {wall_g:6.1f} s  peak RSS {rss_g:6.0f} MiB", flush=True)
        wall_e, rss_e, _ = run_measured([*cli, "evaluator", run_dir], folder, env)
        print(f"N={n:>7} evaluator  {wall_e:7.1f} s  peak RSS {rss_e:6.0f} MiB", flush=True)
    return rss


if __name__ == "__main__":
    main()
