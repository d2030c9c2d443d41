"""A run's page: today's ``report.html``, rendered again from the run's data, plus what it sent.

The report part is exactly what the evaluator writes (``html_report.chunks`` over the run's
summary, scores, results and dataset), so the page shows what ``report.html`` shows with
today's template, whatever template wrote the file; the file itself is never served. Into it go
the viewer's navigation, a "Prompt and parameters" section (the sample's ``messages`` from
``dataset.jsonl``, exactly as the runner sent them, and the run's parameters and resolved
``pipeline.yaml``) and the viewer's script, allowed by the page's policy next to the report's
own. A run that is not scored (still running, interrupted) gets the same section on a plain page.
"""

from __future__ import annotations

import html
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..common.catalog import RunInfo, newest_first
from ..common.errors import ArtifactError
from ..common.records import DatasetSample, RunManifest, RunResult, Summary
from ..common.workspace import RunDir, iter_jsonl, read_model
from ..evaluator.reports.base import printable
from ..evaluator.reports.html_report import script_safe
from .site import (
    CSP_META,
    PROMPT_BUDGET,
    PROMPT_CLIP,
    Page,
    _env,
    asset,
    clip,
    csp,
    dataset_path,
    href,
    when_text,
)

if TYPE_CHECKING:
    from .site import Site

_CACHE: OrderedDict[tuple[str, tuple[float, ...]], Page] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8
RESULTS_SHOWN = 500  # results listed on the page of a run without a report


def render_run(site: Site, info: RunInfo) -> Page:
    key = (str(info.path), _files_key(info.path))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    page = _render(site, info)
    with _CACHE_LOCK:
        _CACHE[key] = page
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return page


def _files_key(path: Path) -> tuple[float, ...]:
    key: list[float] = []
    for name in ("manifest.json", "summary.json", "scores.jsonl", "results.jsonl", "pipeline.yaml"):
        try:
            stat = (path / name).stat()
        except OSError:
            key += [-1, -1]
        else:
            key += [stat.st_mtime_ns, stat.st_size]
    return tuple(key)


def _render(site: Site, info: RunInfo) -> Page:
    run = RunDir(info.path)
    manifest = _manifest(run)
    extra = _extra_context(site, info, manifest)
    report, problem = None, None
    if info.summary is not None:
        try:
            report = _report(run, info.summary, manifest, dataset_path(info))
        except (ArtifactError, OSError) as exc:
            problem = f"The report cannot be drawn from this run's files: {exc}"
    else:
        problem = f"This run is not scored (status: {info.status}): there is no summary yet."
    if report is None:
        results, total = results_so_far(run)
        return site._render(
            "run_plain.html.j2", root="../", title=f"run {info.run_id}", page="run", problem=problem,
            results=results, n_results=total, **extra,
        )  # fmt: skip
    return splice(report, extra)


def results_so_far(run: RunDir, limit: int = RESULTS_SHOWN) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` results of a run that has no report (and how many there are)."""
    shown: list[dict[str, Any]] = []
    total = 0
    if not run.results.is_file():
        return shown, 0
    try:
        for result in iter_jsonl(run.results, RunResult):
            total += 1
            if len(shown) < limit:
                error = result.error
                shown.append(
                    {
                        "id": printable(result.sample_id),
                        "repeat": result.repeat,
                        "output": clip(result.output if error is None else f"{error.type}: {error.message}"),
                        "error": error is not None,
                        "cached": result.cached,
                        "latency": f"{result.latency_ms:,.0f} ms",
                    }
                )
    except ArtifactError:  # a torn last line while the run writes: show what was read
        pass
    return shown, total


def _manifest(run: RunDir) -> RunManifest | None:
    try:
        return read_model(run.manifest, RunManifest)
    except (ArtifactError, OSError):
        return None


def _report(run: RunDir, summary: Summary, manifest: RunManifest | None, dataset: Path | None) -> str:
    """The run's report.html as the evaluator would write it now."""
    from ..evaluator.dataset_index import DatasetIndex
    from ..evaluator.reports.base import ReportData
    from ..evaluator.reports.html_report import chunks
    from ..evaluator.run_rows import RunRows

    for needed in (run.results, run.scores):
        if not needed.is_file():
            raise ArtifactError(f"{needed}: not found")
    if dataset is None or not dataset.is_file():
        raise ArtifactError(f"{dataset or 'the dataset'}: not found (the manifest names the run's dataset)")
    with DatasetIndex(dataset) as index:
        with run.results.open("rb") as handle:
            n_results = sum(1 for line in handle if line.strip())
        rows = RunRows(run.results, run.scores, index, list(summary.metrics), bytearray(n_results))
        failed = bytearray(row.failed for row in rows)
        rows = RunRows(run.results, run.scores, index, list(summary.metrics), failed)
        context = manifest.model_dump(mode="json") if manifest else {"pipeline": summary.pipeline}
        return "".join(chunks(ReportData(summary, rows, context)))


def splice(report: str, extra: dict[str, Any]) -> Page:
    """The report with the viewer's navigation, section, style and script put in, and a policy
    that allows the report's script and the viewer's (and nothing else)."""
    from ..evaluator.reports.html_report import table_script

    script = asset("viewer.js")
    policy = csp(table_script(), script)
    env = _env()
    nav = env.get_template("run_nav.html.j2").render(**extra)
    section = env.get_template("run_extra.html.j2").render(**extra)
    report, found = CSP_META.subn(
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">', report, count=1
    )
    if found != 1:
        raise ArtifactError("report.html template: no Content-Security-Policy to extend")
    report = report.replace(
        "</head>", f'<link rel="icon" href="data:,"><style>{asset("run.css")}</style></head>', 1
    )
    report = report.replace("<body>", f'<body data-page="run">{nav}', 1)
    at = report.find("<h2>Samples")
    at = at if at >= 0 else report.rfind("</body>")
    report = report[:at] + section + report[at:]
    at = report.rfind("</body>")
    report = report[:at] + f"<script>{script}</script>" + report[at:]
    return Page(report, policy=policy)


# --------------------------------------------------------------------------- prompt and parameters


def _extra_context(site: Site, info: RunInfo, manifest: RunManifest | None) -> dict[str, Any]:
    island, first, omitted = prompts(dataset_path(info))
    previous = _previous(site, info)
    try:
        config_text = printable((info.path / "pipeline.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        config_text = ""
    return {
        "run_id": info.run_id,
        "pipeline": info.pipeline,
        "status": info.status,
        "summary": info.summary,
        "when": when_text(info),
        "previous": previous,
        "trend_href": f"../trends/{href(info.pipeline)}.html",
        "island": island,
        "first": first,
        "omitted": omitted,
        "params": parameters(info, manifest),
        "config_text": config_text,
        "problem_note": info.problem or "",
    }


def _previous(site: Site, info: RunInfo) -> str | None:
    """The run of the same pipeline scored just before this one (for "compare with previous")."""
    if info.summary is None:
        return None
    older = [
        r for r in newest_first(site.catalog.runs())
        if r.pipeline == info.pipeline and r.summary is not None and r.order < info.order
    ]  # fmt: skip
    return older[0].run_id if older else None


def prompts(dataset: Path | None) -> tuple[str, dict[str, Any] | None, int]:
    """The messages of every sample as a JSON island (texts stored once), the first sample for
    the page without script, and how many samples did not fit in :data:`PROMPT_BUDGET`."""
    texts: dict[str, int] = {}
    samples: dict[str, list[list[Any]]] = {}
    first: dict[str, Any] | None = None
    size, omitted = 0, 0
    if dataset is None or not dataset.is_file():
        return script_safe(json.dumps({"texts": [], "samples": {}})), None, 0
    try:
        for sample in iter_jsonl(dataset, DatasetSample):
            if first is None:
                first = _shown(sample)
            if omitted:
                omitted += 1
                continue
            entry = []
            for message in sample.messages:
                content = printable(message.content)
                shown = content[:PROMPT_CLIP]
                index = texts.get(shown)
                if index is None:
                    index = texts[shown] = len(texts)
                    size += len(shown.encode("utf-8")) + 8
                entry.append([message.role, index, len(content)])
            size += len(sample.id.encode("utf-8")) + 16 * len(entry) + 8
            if size > PROMPT_BUDGET:
                omitted = 1
                continue
            samples[printable(sample.id)] = entry
    except ArtifactError:
        pass
    data = {"texts": list(texts), "samples": samples, "clip": PROMPT_CLIP}
    return script_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":"))), first, omitted


def _shown(sample: DatasetSample) -> dict[str, Any]:
    messages = []
    for message in sample.messages:
        content = printable(message.content)
        clipped = f"… [clipped: {len(content):,} characters in all; full text in dataset.jsonl]"
        messages.append(
            {
                "role": message.role,
                "text": content[:PROMPT_CLIP],
                "clipped": clipped if len(content) > PROMPT_CLIP else "",
            }
        )
    return {"id": printable(sample.id), "messages": messages}


def parameters(info: RunInfo, manifest: RunManifest | None) -> list[tuple[str, str]]:
    """What the run was asked with, as label -> text rows."""
    rows = [("run", info.run_id), ("status", info.status), ("started (UTC)", when_text(info))]
    if manifest is None:
        return [*rows, ("manifest", info.problem or "missing")]
    runner = manifest.config.get("runner") if isinstance(manifest.config.get("runner"), dict) else {}
    assert isinstance(runner, dict)
    params = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in manifest.params.items())
    rows += [
        ("backend", manifest.backend),
        ("model", manifest.model or "(the backend's default)"),
        ("mode", str(runner.get("mode") or "(the backend's default)")),
        ("generation parameters", params or "none set: the backend's defaults"),
        ("repeats", str(runner.get("repeats", 1))),
        ("concurrency", str(runner.get("concurrency", "-"))),
        ("timeout", f"{runner.get('timeout_s', '-')} s"),
        ("max retries", str(runner.get("max_retries", "-"))),
        ("cache", str(runner.get("cache", "-"))),
        ("seed", str(manifest.seed)),
        ("config hash", manifest.config_hash[:16]),
    ]
    data = manifest.dataset
    if data:
        rows.append(
            (
                "dataset",
                f"{data.get('id', '-')} @ {str(data.get('content_hash') or '')[:12]}, "
                f"{data.get('n_samples', '?')} samples",
            )
        )
    for stage, timing in manifest.timings.items():
        took = "" if timing.seconds is None else f" ({timing.seconds:,.1f} s)"
        rows.append((f"{stage} stage", f"{timing.started_at} → {timing.finished_at or '…'}{took}"))
    counts = ", ".join(f"{k} {v}" for k, v in manifest.counts.items())
    if counts:
        rows.append(("counts", counts))
    versions = ", ".join(f"{k} {v}" for k, v in manifest.versions.items())
    if versions:
        rows.append(("versions", versions))
    return [(label, printable(str(value))) for label, value in rows]
