"""The viewer's index at scale: the time to render it for N runs, and its size.

    python benchmarks/bench_viewer.py [--runs 1000] [--pipelines 5] [--repeat 5] [--keep DIR]

Builds a workspace of N run directories written directly (a ``manifest.json``, a
``summary.json`` and a ``pipeline.yaml`` each, as the runner and the evaluator leave them; no
model is called, there are no results), then times, in this process:

* cold: a new viewer (empty catalogue) rendering ``index.html``: every manifest and summary
  read and validated, the table rendered;
* warm: the same viewer rendering it again, as it does on each request and each live refresh
  (files are re-read only when they changed: one ``stat`` of each);
* stamp: what the live index polls every 1.5 s;
* trend: the trend page of one pipeline (N / pipelines runs);

and ``runs list`` (the command, in a child process, start-up included). Not a test: it times
things; tests/viewer checks the behaviour.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def build(workspace: Path, n_runs: int, n_pipelines: int) -> None:
    from lm_eval_so._internal.common.records import (
        LatencySummary,
        MetricSummary,
        RunManifest,
        StageTiming,
        Summary,
        ThresholdOutcome,
        Usage,
    )

    for index in range(n_runs):
        pipeline = f"pipeline{index % n_pipelines}"
        at = T0 + timedelta(minutes=7 * index)
        run_id = f"{at:%Y%m%dT%H%M%SZ}-{pipeline}-{index:08x}"
        path = workspace / "runs" / run_id
        path.mkdir(parents=True)
        stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        config: dict[str, Any] = {
            "name": pipeline,
            "runner": {"backend": "openai", "model": "gpt-4o-mini", "concurrency": 8, "repeats": 1},
            "evaluator": {"metrics": [{"type": "exact_match", "threshold": {"min": 0.7}}]},
        }
        manifest = RunManifest(
            run_id=run_id, pipeline=pipeline, config_hash=f"{index:064x}", config=config,
            dataset={"id": "qa", "content_hash": "a" * 64, "path": "/nowhere/d.jsonl", "n_samples": 200},
            backend="openai", model="gpt-4o-mini", params={"temperature": 0, "max_tokens": 16}, seed=0,
            versions={"python": "3.11", "lm-eval-so": "0.1.0"},
            timings={"run": StageTiming(started_at=stamp, finished_at=stamp, seconds=12.5),
                     "evaluate": StageTiming(started_at=stamp, finished_at=stamp, seconds=0.4)},
            counts={"requests": 200, "errors": 1, "cache_hits": 20}, status="completed",
        )  # fmt: skip
        mean = 0.6 + 0.3 * ((index * 37) % 100) / 100
        metrics = {
            name: MetricSummary(
                name=name, type=name, mean=mean, ci_low=mean - 0.06, ci_high=min(1.0, mean + 0.06), n=200,
                std=0.45, ci_method="wilson",
            )
            for name in ("exact_match", "contains")
        }  # fmt: skip
        passed = mean >= 0.7
        gate = ThresholdOutcome(
            name="exact_match>=0.7",
            kind="metric",
            target="exact_match",
            min=0.7,
            value=mean,
            passed=passed,
            status="passed" if passed else "failed",
        )
        summary = Summary(
            pipeline=pipeline, run_id=run_id, passed=passed, metrics=metrics, thresholds=[gate],
            n_samples=200, n_results=200, n_errors=1, error_rate=0.005,
            usage=Usage(prompt_tokens=9000, completion_tokens=800, total_tokens=9800), cost_usd=0.0018,
            latency_ms=LatencySummary(mean=420, p50=380, p95=900, max=2100), n_cached=20,
        )  # fmt: skip
        (path / "manifest.json").write_text(manifest.model_dump_json(indent=2))
        (path / "summary.json").write_text(summary.model_dump_json(indent=2))
        (path / "pipeline.yaml").write_text(f"name: {pipeline}\n" + json.dumps(config))


def timed(action: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--pipelines", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="build the workspace here and keep it")
    args = parser.parse_args()

    from lm_eval_so._internal.viewer.site import Site

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    workspace = folder / "ws"
    start = time.perf_counter()
    build(workspace, args.runs, args.pipelines)
    took = time.perf_counter() - start
    print(f"built {args.runs} runs of {args.pipelines} pipelines in {took:.1f} s: {workspace}")

    Site.of(workspace).index()  # imports (jinja2, templates) out of the way, and a warm page cache

    def cold() -> Any:
        return Site.of(workspace).index()

    cold_s, page = timed(cold, args.repeat)
    site = Site.of(workspace)
    site.index()
    warm_s, _ = timed(site.index, args.repeat)
    stamp_s, _ = timed(site.stamp, args.repeat)
    trend_s, trend = timed(lambda: site.trend("pipeline0"), args.repeat)
    listing = [sys.executable, "-m", "lm_eval_so", "runs", "list", "--workspace-dir", str(workspace)]
    cli_s, _ = timed(lambda: subprocess.run(listing, capture_output=True, check=True, cwd=ROOT), 3)

    rows = [
        (f"index.html, cold (a new viewer reads {args.runs} manifests and summaries)", cold_s),
        ("index.html, warm (each request and live refresh)", warm_s),
        ("stamp (what the live index polls)", stamp_s),
        (f"trends/pipeline0.html ({args.runs // args.pipelines} runs, 2 charts)", trend_s),
        ("lm-eval-so runs list (a child process, start-up included)", cli_s),
    ]
    for label, seconds in rows:
        print(f"{label:<72} {seconds * 1000:7.0f} ms")
    sizes = [len(p.html.encode()) / 1024 for p in (page, trend)]
    print(f"index.html: {sizes[0]:,.0f} KiB; trend page: {sizes[1]:,.0f} KiB")


if __name__ == "__main__":
    main()
