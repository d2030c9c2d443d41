"""The viewer's pages, rendered from a workspace's artifacts; the server and the export share them.

Every page is one HTML document with its CSS and script inline, so it loads nothing else (no
CDN, no font, no second request) and opens the same from ``http://127.0.0.1`` and ``file://``.
Links are relative (``runs/<id>.html``, ``../index.html``), so the export is the same site.

Inert model text: pages are Jinja2 templates with autoescaping; a script builds elements with
``textContent`` only; JSON inside a page is ``script_safe`` (no ``<`` can end its element). A
Content-Security-Policy allows only the page's own scripts, by hash, so markup that slipped
through could still not run. HTML found in the workspace (a run's ``report.html``) is never
served: the run page renders the report again from the run's data, with today's template.

Read-only: nothing here writes to the workspace (the export writes only to its own folder).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import timezone
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ... import __version__
from ..common.catalog import Catalog, RunInfo, newest_first
from ..common.errors import ArtifactError, LmEvalError
from ..common.records import DatasetSample, RunManifest
from ..common.text import usd, usd_delta
from ..common.workspace import RunDir, Workspace, iter_jsonl, read_model
from ..evaluator.reports.base import printable
from ..evaluator.reports.html_report import script_safe
from . import trend

PACKAGE = __package__ or "lm_eval_so._internal.viewer"
CLIP = 2_000  # characters of one text on the compare page
PROMPT_CLIP = 20_000  # characters of one prompt message on the run page
PROMPT_BUDGET = 8 * 1024 * 1024  # bytes of prompts embedded in one run page
CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="[^"]*">')


# --------------------------------------------------------------------------- assets


@cache
def asset(name: str) -> str:
    return (files(PACKAGE) / "templates" / name).read_text(encoding="utf-8")


def script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def csp(*scripts: str) -> str:
    """The policy of a page: nothing from anywhere, but these inline scripts and our styles."""
    hashes = " ".join(f"'{script_hash(s)}'" for s in scripts)
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {hashes}; connect-src 'self'; form-action 'self'; base-uri 'none'"
    )


@cache
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["href"] = href
    return env


def href(name: str) -> str:
    """One path segment of a link (a run id, a pipeline name), percent-encoded."""
    return quote(name, safe="")


@dataclass
class Page:
    """A rendered page: its HTML, HTTP status and policy (the server sends it as a header too)."""

    html: str
    status: int = 200
    policy: str = ""


# --------------------------------------------------------------------------- formatting


def when_text(run: RunInfo) -> str:
    if run.started_at is None:
        return "-"
    return run.started_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def num(value: float | None, places: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{places}f}" if math.isfinite(value) else "nan"


def clip(text: str | None, limit: int = CLIP) -> dict[str, Any]:
    """Model text for a page: printable, clipped with a count of what was left out."""
    if text is None:
        return {"text": "-", "clipped": "", "none": True}
    value = printable(text)
    if len(value) <= limit:
        return {"text": value, "clipped": "", "none": False}
    return {"text": value[:limit], "clipped": f"… [clipped: {len(value):,} characters in all]", "none": False}


def run_row(run: RunInfo) -> dict[str, Any]:
    """The index's columns for one run (the same as ``runs list``), with sort keys."""
    from ..runs_cli import backend_text, cache_text, cost_text, gates_text, metric_text

    summary, metric, gates = run.summary, run.first_metric, run.gates()
    return {
        "id": run.run_id,
        "pipeline": run.pipeline,
        "when": when_text(run),
        "when_key": run.started_at.timestamp() if run.started_at else 0,
        "model": backend_text(run),
        "status": run.status,
        "metric": metric_text(run),
        "metric_key": metric.mean if metric is not None and metric.n and math.isfinite(metric.mean) else -1,
        "gates": gates_text(run),
        "gates_failed": gates["failed"],
        "gates_key": gates["failed"] * 1_000_000 + gates["inconclusive"] * 1_000 - gates["passed"]
        if summary
        else -1e9,
        "cost": cost_text(run),
        "cost_key": summary.cost_usd if summary and summary.cost_usd is not None else -1,
        "cache": cache_text(run),
        "cache_key": summary.n_cached / summary.n_results if summary and summary.n_results else -1,
        "problem": run.problem or "",
    }


# --------------------------------------------------------------------------- the site


@dataclass
class Site:
    """Pages of one workspace. ``live``: served (the index polls for new runs); ``exported``:
    the compare pairs that exist as files (the index says when a pair was not exported)."""

    workspace: Workspace
    live: bool = False
    exported_pairs: set[tuple[str, str]] | None = None
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = Catalog(self.workspace)

    @classmethod
    def of(cls, root: str | Path, *, live: bool = False) -> Site:
        return cls(Workspace(root), live=live)

    # ------------------------------------------------------------------ common

    def _render(self, template: str, *, root: str, title: str, page: str, **context: Any) -> Page:
        script = asset("viewer.js")
        policy = csp(script)
        text = (
            _env()
            .get_template(template)
            .render(
                root=root,
                title=title,
                page=page,
                csp=policy,
                css=asset("viewer.css") + asset("run.css"),
                script=script,
                live=self.live,
                workspace=str(self.workspace.root),
                version=__version__,
                **context,
            )
        )
        return Page(text, policy=policy)

    def not_found(self, what: str, root: str = "") -> Page:
        page = self._render("message.html.j2", root=root, title="not found", page="message", message=what)
        page.status = 404
        return page

    def stamp(self, runs: list[RunInfo] | None = None) -> str:
        """Changes whenever a run or an experiment appears, goes, or changes status or files."""
        digest = hashlib.sha256()
        for run in self.catalog.runs() if runs is None else runs:
            digest.update(f"{run.run_id}\0{run.status}\0{run.summary is not None}\n".encode())
        for path in self._experiment_dirs():
            digest.update(f"{path.name}\n".encode())
        return digest.hexdigest()[:16]

    # ------------------------------------------------------------------ index

    def index(self) -> Page:
        scanned = self.catalog.runs()
        runs = newest_first(scanned)
        pipelines: dict[str, list[RunInfo]] = {}
        for run in runs:
            pipelines.setdefault(run.pipeline, []).append(run)
        pipeline_rows = [
            {
                "name": name,
                "runs": len(group),
                "latest": group[0].run_id,
                "latest_status": group[0].status,
                "when": when_text(group[0]),
                "passed": sum(r.status == "passed" for r in group),
                "failed": sum(r.status == "failed" for r in group),
            }
            for name, group in sorted(pipelines.items())
        ]
        pairs = None
        if self.exported_pairs is not None:
            pairs = script_safe(json.dumps(sorted(f"{a}/{b}" for a, b in self.exported_pairs)))
        statuses = sorted({r.status for r in runs})
        return self._render(
            "index.html.j2",
            root="",
            title="runs",
            page="index",
            runs=[run_row(r) for r in runs],
            pipelines=pipeline_rows,
            statuses=statuses,
            experiments=self.experiments(),
            runs_dir=str(self.workspace.runs_dir),
            stamp=self.stamp(scanned),
            pairs=pairs,
        )

    # ------------------------------------------------------------------ experiments

    def _experiment_dirs(self) -> list[Path]:
        root = self.workspace.root / "experiments"
        if not root.is_dir():
            return []
        return sorted(p for p in root.iterdir() if p.is_dir() and (p / "report.json").is_file())

    def experiments(self) -> list[dict[str, Any]]:
        found = []
        for path in reversed(self._experiment_dirs()):
            manifest = _read_json(path / "manifest.json")
            report = _read_json(path / "report.json")
            found.append(
                {
                    "id": path.name,
                    "pipeline": str(manifest.get("pipeline") or "-"),
                    "created": str(manifest.get("created_at") or "-").replace("T", " ")[:19],
                    "cells": len(report.get("cells") or []),
                    "baseline": str(report.get("baseline") or "-"),
                    "best": str(report.get("best") or "none"),
                    "passed": manifest.get("passed"),
                }
            )
        return found

    def experiment(self, experiment_id: str) -> Page:
        path = self.workspace.root / "experiments" / experiment_id
        if experiment_id not in {p.name for p in self._experiment_dirs()}:
            return self.not_found(f"no experiment {experiment_id!r} in {self.workspace.root}", "../")
        report = _read_json(path / "report.json")
        manifest = _read_json(path / "manifest.json")
        known = {r.run_id for r in self.catalog.runs()}
        cells_meta = _dict(manifest.get("cells"))
        grid = _dict(report.get("grid"))
        metrics = [str(m) for m in report.get("metrics") or []]
        baseline = str(report.get("baseline") or "")

        def run_of(cell: str) -> str | None:
            run = _dict(_dict(grid.get(cell)).get("run"))
            run_id = run.get("run_id") or Path(str(_dict(cells_meta.get(cell)).get("run_dir") or "")).name
            return str(run_id) if run_id and str(run_id) in known else None

        base_run = run_of(baseline)
        rows = []
        for cell in [str(c) for c in report.get("cells") or []]:
            entry = _dict(grid.get(cell))
            facts = _dict(entry.get("run"))
            run_id = run_of(cell)
            rows.append(
                {
                    "name": cell,
                    "baseline": cell == baseline,
                    "run": run_id,
                    "compare": (base_run, run_id) if base_run and run_id and cell != baseline else None,
                    "entries": [_grid_entry(_dict(entry.get(m)), cell == baseline) for m in metrics],
                    "cost": usd(facts.get("cost_usd")),
                    "latency": "-"
                    if facts.get("latency_p95_ms") is None
                    else f"{facts['latency_p95_ms']:,.0f} ms",
                    "errors": f"{facts.get('n_errors', 0)}/{facts.get('n_results', 0)}",
                    "passed": facts.get("passed"),
                }
            )
        gate = report.get("gate") if isinstance(report.get("gate"), dict) else None
        return self._render(
            "experiment.html.j2",
            root="../",
            title=f"experiment {experiment_id}",
            page="experiment",
            experiment_id=experiment_id,
            pipeline=str(manifest.get("pipeline") or "-"),
            created=str(manifest.get("created_at") or "-"),
            metrics=metrics,
            rows=rows,
            baseline=baseline,
            best=report.get("best"),
            best_reason=str(report.get("best_reason") or ""),
            worse=[str(w) for w in report.get("worse") or []],
            method=str(report.get("method") or ""),
            alpha=report.get("alpha"),
            gate=gate,
            passed=manifest.get("passed"),
        )

    def experiment_pairs(self) -> set[tuple[str, str]]:
        """(baseline run, cell run) of every experiment: the export renders these comparisons."""
        pairs = set()
        for path in self._experiment_dirs():
            report = _read_json(path / "report.json")
            grid = _dict(report.get("grid"))
            baseline = str(report.get("baseline") or "")
            base = _dict(_dict(grid.get(baseline)).get("run")).get("run_id")
            for cell, entry in grid.items():
                run_id = _dict(_dict(entry).get("run")).get("run_id")
                if base and run_id and cell != baseline:
                    pairs.add((str(base), str(run_id)))
        return pairs

    # ------------------------------------------------------------------ trends

    def trend(self, pipeline: str) -> Page:
        runs = [r for r in self.catalog.runs() if r.pipeline == pipeline]
        if not runs:
            return self.not_found(f"no runs of pipeline {pipeline!r} in {self.workspace.runs_dir}", "../")
        scored = [r for r in runs if r.summary is not None]
        labels = [when_text(r) for r in scored]
        charts = [trend.chart(name, scored, labels) for name in trend.metric_names(scored)]
        table = [
            {
                "id": r.run_id,
                "when": when_text(r),
                "status": r.status,
                "cost": usd(r.summary.cost_usd) if r.summary else "-",
                "metrics": [_metric_cell(r, c.metric) for c in charts],
            }
            for r in reversed(scored)
        ]
        return self._render(
            "trend.html.j2",
            root="../",
            title=f"trend {pipeline}",
            page="trend",
            pipeline=pipeline,
            charts=charts,
            table=table,
            n_runs=len(runs),
            n_scored=len(scored),
        )

    # ------------------------------------------------------------------ run page

    def run(self, run_id: str) -> Page:
        info = self.catalog.get(run_id)
        if info is None:
            return self.not_found(f"no run {run_id!r} in {self.workspace.runs_dir}", "../")
        from .runpage import render_run

        return render_run(self, info)

    # ------------------------------------------------------------------ compare

    def compare(self, id_a: str, id_b: str) -> Page:
        a, b = self.catalog.get(id_a), self.catalog.get(id_b)
        for ref, found in ((id_a, a), (id_b, b)):
            if found is None:
                return self.not_found(f"no run {ref!r} in {self.workspace.runs_dir}", "../../")
        assert a is not None and b is not None
        from ..evaluator.compare import compare_runs

        try:
            comparison = compare_runs(a.path, b.path)
        except LmEvalError as exc:
            page = self._render(
                "message.html.j2",
                root="../../",
                title="cannot compare",
                page="message",
                message=f"These two runs cannot be compared: {exc}",
                links=[
                    (f"../../runs/{href(a.run_id)}.html", a.run_id),
                    (f"../../runs/{href(b.run_id)}.html", b.run_id),
                ],
            )
            page.status = 422
            return page
        return self._render(
            "compare.html.j2",
            root="../../",
            title=f"compare {a.run_id} vs {b.run_id}",
            page="compare",
            **compare_context(comparison, a, b),
        )


def _metric_cell(run: RunInfo, metric: str) -> str:
    found = run.summary.metrics.get(metric) if run.summary else None
    if found is None or not found.n:
        return "-"
    return f"{num(found.mean)} [{num(found.ci_low)}, {num(found.ci_high)}]"


def _grid_entry(entry: dict[str, Any], baseline: bool) -> dict[str, Any]:
    mean = entry.get("mean")
    text = "-" if mean is None else num(float(mean))
    verdict = str(entry.get("verdict") or ("baseline" if baseline else ""))
    detail = ""
    if "delta" in entry and entry.get("delta") is not None:
        p = entry.get("p_adjusted")
        detail = (
            f"Δ {entry['delta']:+.3f} [{entry.get('ci_low', 0):+.3f}, {entry.get('ci_high', 0):+.3f}], "
            f"p_adj {'-' if p is None else f'{p:.3g}'}"
        )
    css = {"better": "better", "worse": "worse", "baseline": "base"}.get(verdict, "")
    return {"mean": text, "detail": detail, "verdict": verdict, "css": css}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- compare


def compare_context(comparison: Any, a: RunInfo, b: RunInfo) -> dict[str, Any]:
    """What the compare page shows: verdict in words, metrics, runs, config diff, every flip."""
    from ..evaluator.compare import Comparison

    assert isinstance(comparison, Comparison)
    metrics = []
    for m in comparison.metrics:
        metrics.append(
            {
                "name": m.name,
                "a": num(m.mean_a, 4),
                "b": num(m.mean_b, 4),
                "delta": f"{m.delta:+.4f}",
                "ci": f"[{m.ci_low:+.4f}, {m.ci_high:+.4f}]",
                "p": "-" if m.p_value is None else f"{m.p_value:.3g}",
                "flips": f"{m.regressions} / {m.fixes}" if m.binary else "-",
                "pairs": m.n_pairs,
                "verdict": m.verdict,
                "css": m.verdict.split()[0],
                "note": m.note or "",
            }
        )
    regressed = [m.name for m in comparison.metrics if m.verdict == "regressed"]
    improved = [m.name for m in comparison.metrics if m.verdict == "improved"]
    if regressed:
        verdict, css = "B is worse than A", "regressed"
        detail = f"significant regression in {', '.join(regressed)}"
        if improved:
            detail += f"; significant improvement in {', '.join(improved)}"
    elif improved:
        verdict, css = "B is better than A", "improved"
        detail = f"significant improvement in {', '.join(improved)}"
    else:
        verdict, css = "No significant change", "none"
        detail = "no metric moved by more than noise"
    detail += f" (α = {comparison.alpha:g}; pass/fail metrics: McNemar's exact test; continuous: sign test)"
    samples = _samples_for(a, b, {(f.sample_id) for f in comparison.regressions + comparison.fixes})
    sections = []
    for title, flips, totals in (
        (
            "Regressions: passed in A, failed in B",
            comparison.regressions,
            {m.name: m.regressions for m in comparison.metrics},
        ),
        ("Fixes: failed in A, passed in B", comparison.fixes, {m.name: m.fixes for m in comparison.metrics}),
    ):
        rows = []
        for flip in flips:
            sample = samples.get(flip.sample_id)
            rows.append(
                {
                    "metric": flip.metric,
                    "sample": printable(flip.sample_id),
                    "repeat": flip.repeat,
                    "input": clip(sample.input if sample else None),
                    "expected": [clip(e) for e in sample.expected_list()] if sample else [],
                    "a": clip(flip.output_a),
                    "b": clip(flip.output_b),
                }
            )
        total = sum(totals.values())
        sections.append({"title": title, "rows": rows, "total": total, "shown": len(rows)})
    return {
        "a": _side(a, comparison.a),
        "b": _side(b, comparison.b),
        "verdict": verdict,
        "verdict_css": css,
        "verdict_detail": detail,
        "metrics": metrics,
        "notes": comparison.notes(),
        "sections": sections,
        "diff": config_diff(a, b),
        "cost_delta": usd_delta(comparison.cost_delta_usd),
        "latency_delta": _signed(comparison.b.latency_p50_ms - comparison.a.latency_p50_ms),
        "latency95_delta": _signed(comparison.b.latency_p95_ms - comparison.a.latency_p95_ms),
    }


def _signed(value: float) -> str:
    rounded = round(value)
    return f"{rounded:+,}" if rounded else "0"


def _side(run: RunInfo, facts: Any) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "pipeline": run.pipeline,
        "when": when_text(run),
        "model": facts.model or run.model or "-",
        "backend": run.backend or "-",
        "status": run.status,
        "errors": f"{facts.n_errors}/{facts.n_results}",
        "cost": usd(facts.cost_usd),
        "p50": f"{facts.latency_p50_ms:,.0f}",
        "p95": f"{facts.latency_p95_ms:,.0f}",
        "dataset": _dataset_label(run),
    }


def _manifest(run: RunInfo) -> RunManifest | None:
    try:
        return read_model(RunDir(run.path).manifest, RunManifest)
    except (ArtifactError, OSError):
        return None


def _dataset_label(run: RunInfo) -> str:
    manifest = _manifest(run)
    if manifest is None:
        return "-"
    data = manifest.dataset
    label = str(data.get("id") or "-")
    digest = data.get("content_hash")
    return f"{label} @ {str(digest)[:12]}" if digest else label


def dataset_path(run: RunInfo) -> Path | None:
    manifest = _manifest(run)
    recorded = manifest.dataset.get("path") if manifest else None
    if not recorded:
        return None
    path = Path(str(recorded))
    return path if path.is_absolute() else run.path / path


def _samples_for(a: RunInfo, b: RunInfo, wanted: set[str]) -> dict[str, DatasetSample]:
    """The samples ``wanted`` (flipped ones), from A's dataset, then B's for any not found."""
    found: dict[str, DatasetSample] = {}
    for run in (a, b):
        path = dataset_path(run)
        if not wanted - set(found) or path is None or not path.is_file():
            continue
        try:
            for sample in iter_jsonl(path, DatasetSample):
                if sample.id in wanted and sample.id not in found:
                    found[sample.id] = sample
        except ArtifactError:
            continue
    return found


def config_diff(a: RunInfo, b: RunInfo) -> dict[str, Any]:
    """A unified diff of the two runs' resolved pipeline.yaml copies, line by line, classed."""
    texts: list[list[str] | None] = []
    for run in (a, b):
        try:
            texts.append((run.path / "pipeline.yaml").read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError):
            texts.append(None)
    if texts[0] is None or texts[1] is None:
        return {"lines": [], "same": False, "missing": True, "same_hash": False}
    lines = []
    for line in difflib.unified_diff(
        texts[0],
        texts[1],
        fromfile=f"A {a.run_id}/pipeline.yaml",
        tofile=f"B {b.run_id}/pipeline.yaml",
        lineterm="",
    ):
        css = "hunk" if line.startswith("@@") else "file" if line.startswith(("---", "+++")) else ""
        if not css:
            css = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        lines.append({"text": printable(line), "css": css})
    same_hash = a.config_hash is not None and a.config_hash == b.config_hash
    return {"lines": lines, "same": not lines, "missing": False, "same_hash": same_hash}
