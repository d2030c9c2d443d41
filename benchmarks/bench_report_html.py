"""report.html at scale: write time, page size, and load time and memory in headless Chromium.

    python benchmarks/bench_report_html.py [--cases 1k,20k,100k,20kx10KB] [--keep DIR]

For each case a real run is built (dataset, results, scored by the evaluator with an
``exact_match`` gate, every tenth answer wrong, every 50th call an error), and ``report.html``
is written through the evaluator, rows streamed from disk. In a child process, so its peak RSS
is the writer's own: "RSS before" is the peak once the run is scored, "RSS after" once the
report is written too. Then Debian's Chromium (driven by Playwright) opens the page from disk:

* load: from navigation until the table script marks ``<body data-ready="1">``;
* search: typing a query that matches one failing row near the end of the run, until it is
  the only row shown (the script waits 50 ms after a keystroke, 200 ms past 20,000 rows);
  sort: clicking the latency header, until the table says it is sorted;
* heap: the page's JavaScript heap (CDP ``Performance.getMetrics``); PSS: the memory of all
  Chromium processes together (shared pages counted once), after load.

Not a test: it times things (see tests/evaluator/test_report_scale.py and
test_report_browser.py for the behaviour). Needs the ``playwright`` package (``[dev]``) and
/usr/bin/chromium; never downloads a browser.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# name: (results, characters of filler added to each long text, which texts are long)
CASES = {
    "1k": (1_000, 0, ""),
    "20k": (20_000, 0, ""),
    "100k": (100_000, 0, ""),
    "20kx10KB": (20_000, 10_240, "output"),
    # Input, expected and output all long: more than the data island's budget at 200 characters
    # a text, so the page holds what fits (failing rows first) and counts the rest.
    "100kx3x1KB": (100_000, 1_024, "input,expected,output"),
}
LOAD_TIMEOUT_S = 600


# --------------------------------------------------------------------------- the run (child)


def build_and_write(folder: Path, n: int, text_len: int, long: str) -> dict[str, Any]:
    """Build a scored run of ``n`` results and write its report.html; runs in the child."""
    from lm_eval_so._internal.common.config import config_from_text
    from lm_eval_so._internal.common.records import DatasetSample, ErrorInfo, Message, RunResult
    from lm_eval_so._internal.common.registry import registry
    from lm_eval_so._internal.common.workspace import RunDir
    from lm_eval_so._internal.evaluator import evaluate, evaluate_run

    # The evaluator never calls the model: a name that resolves is all the config needs.
    registry.register("backends", "bench_stub", object)
    filler = ("lorem ipsum dolor sit amet " * (text_len // 27 + 1))[:text_len]

    def padded(text: str, field: str) -> str:
        # The text, then filler, so exact_match still tells right answers from wrong ones.
        return f"{text} {filler}" if text_len and field in long else text

    def sample(i: int) -> DatasetSample:
        question = padded(f"question {i}", "input")
        return DatasetSample(
            id=f"s{i}",
            input=question,
            expected=padded(f"answer {i}", "expected"),
            messages=[Message(role="user", content=question)],
        )

    def result(i: int) -> RunResult:
        if i % 50 == 49:
            return RunResult(sample_id=f"s{i}", error=ErrorInfo(type="Timeout", message="timed out"))
        output = padded(f"{'wrong' if i % 10 == 0 else 'answer'} {i}", "output")
        return RunResult(sample_id=f"s{i}", output=output, latency_ms=50.0 + i % 997, cost_usd=1e-4)

    dataset = folder / "dataset.jsonl"
    run = RunDir(folder / "runs" / "20240101T000000Z-bench-abcdef12")
    run.path.mkdir(parents=True)
    for path, make in ((dataset, sample), (run.results, result)):
        with path.open("w", encoding="utf-8") as handle:  # streamed: the writer's RSS stays its own
            handle.writelines(make(i).model_dump_json() + "\n" for i in range(n))
    config = config_from_text(
        "name: bench\ngenerator:\n  source: data.csv\nrunner:\n  backend: bench_stub\n  model: bench\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n      threshold: 0.5\n"
        "  report:\n    formats: [html]\n",
        folder / "pipeline.yaml",
    )
    timing: dict[str, float] = {}
    real = evaluate.write_reports

    def timed(formats: list[str], data: Any, run_dir: Any) -> list[Path]:
        timing["rss_before_mib"] = _peak_rss_mib()
        started = time.perf_counter()
        try:
            return real(formats, data, run_dir)
        finally:
            timing["write_s"] = time.perf_counter() - started

    evaluate.write_reports = timed  # type: ignore[assignment]
    evaluate_run(config, run, dataset)
    page = run.path / "report.html"
    return {
        "page": str(page),
        "bytes": page.stat().st_size,
        "write_s": timing["write_s"],
        "rss_before_mib": timing["rss_before_mib"],
        "rss_after_mib": _peak_rss_mib(),
    }


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- the browser


def _chromium_pss_mib(root_pid: int) -> float:
    """Memory of every Chromium process under ``root_pid`` (this process), in MiB: the sum of
    their proportional set sizes (PSS), so pages the processes share are counted once."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        names[int(entry.name)] = name
    total_kib, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        if "chrom" not in names.get(pid, ""):
            continue
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def measure_page(page_path: Path, query: str | None) -> dict[str, Any]:
    """Open the page; with a ``query`` (one row's text), time a search for it and a sort too."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(LOAD_TIMEOUT_S * 1000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            started = time.perf_counter()
            page.goto(page_path.as_uri(), wait_until="commit")
            page.wait_for_selector("body[data-ready='1']", state="attached")
            out: dict[str, Any] = {"load_s": time.perf_counter() - started}
            heap = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            out["heap_mib"] = heap.get("JSHeapUsedSize", 0) / 2**20
            out["chromium_pss_mib"] = _chromium_pss_mib(os.getpid())
            rows = page.locator("#samples tbody tr")
            out["rows_in_dom"] = rows.count()
            island = "JSON.parse(document.getElementById('sample-data').textContent).length"
            has_island = page.locator("#sample-data").count() > 0
            out["embedded"] = page.evaluate(island) if has_island else out["rows_in_dom"]
            out["search_s"] = out["sort_s"] = float("nan")
            if query is not None:
                started = time.perf_counter()
                page.fill("#filter", query)
                expect(rows).to_have_count(1)
                out["search_s"] = time.perf_counter() - started
                page.fill("#filter", "")
                expect(rows).to_have_count(out["rows_in_dom"])
                started = time.perf_counter()
                page.click("th[data-col='latency']")
                page.wait_for_selector("table[data-sorted='latency']", state="attached")
                out["sort_s"] = time.perf_counter() - started
        finally:
            browser.close()
    return out


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--keep", type=Path, help="write the runs here and keep them")
    parser.add_argument("--load-only", action="store_true", help="no search or sort (older pages)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder, n, text_len, long = Path(args.child[0]), int(args.child[1]), int(args.child[2]), args.child[3]
        print(json.dumps(build_and_write(folder, n, text_len, long)))
        return
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        rows = [run_case(base / name, name, args.load_only) for name in names]
    header = (
        f"{'case':<11} {'rows':>7} {'page MB':>8} {'write s':>8} {'RSS before/after MiB':>21} "
        f"{'load s':>7} {'search s':>8} {'sort s':>7} {'JS heap MiB':>11} {'Chromium PSS MiB':>16} "
        f"{'tr in DOM':>9} {'rows in page':>12}"
    )
    print("\n" + header)
    for r in rows:
        print(
            f"{r['case']:<11} {r['n']:>7,} {r['bytes'] / 1e6:>8.1f} {r['write_s']:>8.1f} "
            f"{r['rss_before_mib']:>10.0f} / {r['rss_after_mib']:>7.0f} "
            f"{r['load_s']:>7.2f} {r['search_s']:>8.2f} {r['sort_s']:>7.2f} "
            f"{r['heap_mib']:>11.0f} {r['chromium_pss_mib']:>16.0f} "
            f"{r['rows_in_dom']:>9} {r['embedded']:>12,}"
        )


def run_case(folder: Path, name: str, load_only: bool) -> dict[str, Any]:
    n, text_len, long = CASES[name]
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), str(n), str(text_len), long or "-"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"case {name}: writing the run failed:\n{proc.stderr}")
    written = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{name}: wrote {written['bytes'] / 1e6:.1f} MB in {written['write_s']:.1f} s", flush=True)
    # Every tenth answer is "wrong i": a failing row, so on the page whatever the budget left out.
    measured = measure_page(Path(written["page"]), None if load_only else f"wrong {n - 10}")
    print(f"{name}: loaded in {measured['load_s']:.2f} s", flush=True)
    return {"case": name, "n": n, **written, **measured}


if __name__ == "__main__":
    main()
