"""Runner benchmark: whole ``lm-eval-so run`` processes against the loopback fake server.

    python benchmarks/bench_runner.py [--quick] [--latency-ms 100] [--big 100000]

Every figure comes from this one invocation and is compared, in the same run against the same
server, with a bare aiohttp loop posting the same JSON (benchmarks/bare_aiohttp.py: the floor
for an HTTP client) and with the bare official ``openai.AsyncOpenAI`` + ``asyncio.Semaphore(C)``
loop on its default and its aiohttp transport (benchmarks/bare_sdk.py). The server is pinned
to core 0 and every client to core 1 (``taskset``) when the machine has two cores. Wall time
is the whole process, startup included; CPU and peak RSS come from ``wait4`` on that one
process. "Marginal CPU" is (CPU at N - CPU at N=1) / (N - 1).
Prints a markdown table on stdout. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TWO_CORES = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mb: float
    runner_s: float = float("nan")  # the runner stage alone, from the run's manifest


def pinned(core: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if TWO_CORES else argv


def measure(argv: list[str], cwd: Path, env: dict[str, str]) -> Measure:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(pinned(1, argv), cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{stderr}")
    # ru_maxrss is in KiB on Linux.
    measured = Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
    run_dir = Path(stdout.strip().splitlines()[-1]) if stdout.strip() else None
    if run_dir is not None and (run_dir / "manifest.json").is_file():
        manifest = json.loads((run_dir / "manifest.json").read_text())
        measured.runner_s = manifest["timings"]["run"]["seconds"]
    return measured


class FakeServer:
    def __init__(self, latency_ms: float) -> None:
        argv = pinned(
            0, [PYTHON, "-m", "tests.fake_openai.server", "--port", "0", "--latency-ms", str(latency_ms)]
        )
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()

    def warm_up(self) -> None:
        """A few unmeasured calls: the server's first requests pay for its lazy imports."""
        script = str(ROOT / "benchmarks" / "bare_sdk.py")
        subprocess.run(
            [PYTHON, script, self.base_url, "64", "16"], check=True, env={**os.environ, "OPENAI_API_KEY": "x"}
        )

    def reset(self) -> None:
        request = urllib.request.Request(
            self.base_url.removesuffix("/v1") + "/_reset", data=b'{"keep_config": true}', method="POST"
        )
        urllib.request.urlopen(request).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Bench:
    def __init__(self, server: FakeServer, workdir: Path) -> None:
        self.server, self.workdir = server, workdir
        # PYTHONDONTWRITEBYTECODE is dropped: an installed package has its bytecode, and
        # recompiling every module on every start would be measured as "startup".
        skip = ("OPENAI_", "PYTHONDONTWRITEBYTECODE")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(skip)},
            "OPENAI_API_KEY": "bench",
        }

    def pipeline(self, n: int, concurrency: int, cache: str, name: str) -> Path:
        folder = self.workdir / name
        folder.mkdir(exist_ok=True)
        data = folder / "data.csv"
        if not data.exists():
            with data.open("w") as handle:
                handle.write("id,input,expected\n")
                handle.writelines(f"s{i},question {i},echo: question {i}\n" for i in range(n))
        path = folder / "pipeline.yaml"
        path.write_text(
            f"name: {name}\nworkspace: ws\ngenerator:\n  source: data.csv\n"
            f"runner:\n  backend: openai\n  model: gpt-4o-mini\n  base_url: {self.server.base_url}\n"
            f"  concurrency: {concurrency}\n  cache: {cache}\n"
            "evaluator:\n  metrics:\n    - type: exact_match\n  report:\n    formats: [json]\n"
        )
        return path

    def run(self, n: int, concurrency: int, *, cache: str = "off", name: str | None = None) -> Measure:
        self.server.reset()
        path = self.pipeline(n, concurrency, cache, name or f"n{n}_c{concurrency}_{cache}")
        return measure([PYTHON, "-m", "lm_eval_so", "-q", "run", str(path)], path.parent, self.env)

    def runner_only(self, n: int, concurrency: int) -> Measure:
        """`lm-eval-so runner` on a dataset generated beforehand (not measured)."""
        path = self.pipeline(n, concurrency, "off", f"runner_n{n}_c{concurrency}")
        built = subprocess.run(
            [PYTHON, "-m", "lm_eval_so", "-q", "gen-dataset", str(path)],
            cwd=path.parent,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.server.reset()
        argv = [PYTHON, "-m", "lm_eval_so", "-q", "runner", str(path), "--dataset", built.stdout.strip()]
        return measure(argv, path.parent, self.env)

    def bare(self, n: int, concurrency: int, client: str = "aiohttp") -> Measure:
        """A bare loop: ``aiohttp`` (bare_aiohttp.py), ``sdk`` or ``sdk-aiohttp`` (bare_sdk.py)."""
        self.server.reset()
        if client == "aiohttp":
            script = str(ROOT / "benchmarks" / "bare_aiohttp.py")
            argv = [script, self.server.base_url, str(n), str(concurrency)]
        else:
            transport = "aiohttp" if client == "sdk-aiohttp" else "default"
            script = str(ROOT / "benchmarks" / "bare_sdk.py")
            argv = [script, self.server.base_url, str(n), str(concurrency), transport]
        return measure([PYTHON, *argv], ROOT, self.env)

    def help_cpu(self) -> Measure:
        return measure([PYTHON, "-m", "lm_eval_so", "--help"], ROOT, self.env)


def ideal(n: int, concurrency: int, latency_s: float) -> float:
    return math.ceil(n / concurrency) * latency_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000, help="N of the memory run")
    parser.add_argument("--big-concurrency", type=int, default=256)
    parser.add_argument("--cached", type=int, default=10_000, help="N of the cached re-run")
    parser.add_argument("--quick", action="store_true", help="skip the big memory run")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per scenario, ours and the bare loops interleaved; each figure is the median",
    )
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    server = FakeServer(args.latency_ms)
    server.warm_up()
    rows: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="lm-eval-so-bench-") as tmp:
            bench = Bench(server, Path(tmp))
            rows = run_all(bench, args, latency)
    finally:
        server.stop()
    print("\n".join(rows))


def median_runs(repeat: int, *runs: Callable[[], Measure]) -> list[Measure]:
    """Each of ``runs`` ``repeat`` times, interleaved (so drift hits all alike); per-field medians."""
    seen: list[list[Measure]] = [[] for _ in runs]
    for _ in range(repeat):
        for measured, run in zip(seen, runs, strict=True):
            measured.append(run())
    return [
        Measure(*(statistics.median(getattr(m, f.name) for m in group) for f in fields(Measure)))
        for group in seen
    ]


def run_all(bench: Bench, args: argparse.Namespace, latency: float) -> list[str]:
    n, k = args.n, args.repeat
    bench.help_cpu()  # warm-up: writes bytecode, fills the OS cache
    (startup,) = median_runs(k, bench.help_cpu)
    one, bare_one = median_runs(k, lambda: bench.run(1, 1, name="startup"), lambda: bench.bare(1, 1))
    rows = [
        f"lm-eval-so {_version()} · Python {sys.version.split()[0]} · latency {args.latency_ms:g} ms · "
        f"{'server on core 0, client on core 1' if TWO_CORES else 'no core pinning'} · "
        f"median of {k} interleaved runs per figure",
        "",
        f"startup: `lm-eval-so --help` {startup.cpu:.3f} s CPU; `lm-eval-so run` of 1 sample "
        f"{one.wall:.2f} s wall, {one.cpu:.3f} s CPU; bare aiohttp script {bare_one.wall:.2f} s wall, "
        f"{bare_one.cpu:.3f} s CPU: **{one.cpu / bare_one.cpu:.2f}×** its CPU",
        "",
        "| scenario | lm-eval-so wall | bare aiohttp wall | **ratio** | SDK wall (default / aiohttp) "
        "| ideal ceil(N/C)·L | runner stage alone "
        "| CPU s (ours / aiohttp / SDK / SDK-aiohttp) | marginal CPU ms/call (same order) "
        "| peak RSS MB (ours / aiohttp) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    small_rss = None
    for concurrency in (32, 128):
        ours, bare = median_runs(
            k, functools.partial(bench.run, n, concurrency), functools.partial(bench.bare, n, concurrency)
        )
        sdk, sdk_aio = bench.bare(n, concurrency, "sdk"), bench.bare(n, concurrency, "sdk-aiohttp")
        sdk_one, sdk_aio_one = bench.bare(1, 1, "sdk"), bench.bare(1, 1, "sdk-aiohttp")
        small_rss = ours.rss_mb if concurrency == 128 else small_rss
        best = ideal(n, concurrency, latency)
        marginal = " / ".join(
            f"{_marginal(m, o, n):.3f}"
            for m, o in ((ours, one), (bare, bare_one), (sdk, sdk_one), (sdk_aio, sdk_aio_one))
        )
        rows.append(
            f"| N={n}, C={concurrency} | {ours.wall:.2f} s | {bare.wall:.2f} s "
            f"| **{ours.wall / bare.wall:.2f}×** | {sdk.wall:.2f} / {sdk_aio.wall:.2f} s "
            f"| {best:.2f} s | {ours.runner_s:.2f} s ({ours.runner_s / best:.2f}× ideal) "
            f"| {ours.cpu:.2f} / {bare.cpu:.2f} / {sdk.cpu:.2f} / {sdk_aio.cpu:.2f} "
            f"| {marginal} | {ours.rss_mb:.0f} / {bare.rss_mb:.0f} |"
        )
    if not args.quick:
        big_c = args.big_concurrency
        small_runner = bench.runner_only(n, big_c)
        big_runner = bench.runner_only(args.big, big_c)
        for size, found in ((n, small_runner), (args.big, big_runner)):
            best = ideal(size, big_c, latency)
            rows.append(
                f"| N={size}, C={big_c}, `lm-eval-so runner` stage only | {found.wall:.2f} s | - | - "
                f"| {best:.2f} s | {found.wall / best:.2f}× "
                f"| {found.runner_s:.2f} s ({found.runner_s / best:.2f}×) "
                f"| {found.cpu:.2f} / - | - | {found.rss_mb:.0f}"
                + (f" ({found.rss_mb / small_runner.rss_mb:.2f}× the N={n} runner)" if size != n else "")
                + " / - |"
            )
        ours = bench.run(args.big, big_c)
        best = ideal(args.big, big_c, latency)
        growth = ours.rss_mb / small_rss if small_rss else float("nan")
        rows.append(
            f"| N={args.big}, C={big_c} (memory) | {ours.wall:.2f} s | - | - | {best:.2f} s "
            f"| {ours.wall / best:.2f}× | {ours.runner_s:.2f} s ({ours.runner_s / best:.2f}×) "
            f"| {ours.cpu:.2f} / - | {_marginal(ours, one, args.big):.3f} / - "
            f"| {ours.rss_mb:.0f} ({growth:.2f}× the N={n} run) / - |"
        )
    fill = bench.run(args.cached, 128, cache="read_write", name="cached")
    again = bench.run(args.cached, 128, cache="read_write", name="cached")
    rows.append(
        f"| N={args.cached} fully cached re-run | {again.wall:.2f} s | - | - | - | - "
        f"| {again.runner_s:.2f} s "
        f"| {again.cpu:.2f} / - "
        f"| {_marginal(again, one, args.cached):.3f} / - | {again.rss_mb:.0f} / - |"
    )
    rows.append("")
    rows.append(f"(cache fill run for the last row: {fill.wall:.2f} s wall)")
    return rows


def _marginal(at_n: Measure, at_one: Measure, n: int) -> float:
    return (at_n.cpu - at_one.cpu) / max(n - 1, 1) * 1000


def _version() -> str:
    out = subprocess.run([PYTHON, "-m", "lm_eval_so", "--version"], capture_output=True, text=True)
    return out.stdout.strip().removeprefix("lm-eval-so ")


if __name__ == "__main__":
    main()
