"""lm-eval-so as a pytest plugin (entry point ``pytest11``): pipeline.yaml files are tests.

    pytest evals/                         # each threshold and limit is a test item
    pytest -n auto --junitxml=out.xml --html=report.html

Options (command line, or ini without the dashes): ``--lm-eval-workspace``,
``--lm-eval-model``, ``--lm-eval-limit``, ``--lm-eval-cache``, ``--lm-eval-baseline``,
``--lm-eval-shard``; ini ``lm_eval_patterns`` chooses the file names.
"""

from __future__ import annotations

import html
import os
import shutil
import time
import uuid
from collections.abc import Generator
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .keys import OVERRIDES_KEY, PREFIX, RESULT_KEY, RUNS_KEY
from .options import option_path
from .summary import SessionTable

if TYPE_CHECKING:
    from .fixtures import LmEval

# Heavy modules (pydantic models, the stages) load only once a pipeline file is collected or
# the fixture is used: this plugin is imported by every pytest session of every project that
# has lm-eval-so installed.

DEFAULT_PATTERNS = ["pipeline.yaml", "pipeline.yml", "*.pipeline.yaml", "*.pipeline.yml"]
STALE_SESSION_S = 24 * 3600
CACHE_MODES = ["read_write", "read_only", "off"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lm-eval-so", "LLM evaluations (lm-eval-so)")
    group.addoption(
        "--lm-eval-workspace",
        metavar="DIR",
        help="workspace for every pipeline (default: each pipeline's own)",
    )
    group.addoption(
        "--lm-eval-model",
        metavar="NAME",
        help="run every pipeline against this model instead (runner.model)",
    )
    group.addoption(
        "--lm-eval-limit", metavar="N", type=int, help="smoke mode: at most N samples per pipeline"
    )
    group.addoption(
        "--lm-eval-cache",
        metavar="MODE",
        choices=CACHE_MODES,
        help="response cache for every pipeline (runner.cache); read_only = strict replay",
    )
    group.addoption(
        "--lm-eval-baseline",
        metavar="RUN_DIR_OR_WORKSPACE",
        help="add a no_regression_vs_baseline item per pipeline, compared with this baseline run",
    )
    group.addoption(
        "--lm-eval-shard",
        metavar="I/N",
        help="run only shard I of N (or auto/N, auto) of every pipeline and skip its gates: "
        "`lm-eval-so merge` evaluates them once every shard ran",
    )
    parser.addini("lm_eval_baseline", "default for --lm-eval-baseline", default="")
    parser.addini("lm_eval_shard", "default for --lm-eval-shard", default="")
    parser.addini(
        "lm_eval_patterns",
        "file name patterns collected as pipelines",
        type="linelist",
        default=DEFAULT_PATTERNS,
    )
    parser.addini("lm_eval_workspace", "default for --lm-eval-workspace", default="")
    parser.addini("lm_eval_model", "default for --lm-eval-model", default="")
    parser.addini("lm_eval_limit", "default for --lm-eval-limit", default="")
    parser.addini("lm_eval_cache", "default for --lm-eval-cache", default="")


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"--lm-eval-{name}")
    if value in (None, ""):
        value = config.getini(f"lm_eval_{name}") or None
    return value


def pytest_configure(config: pytest.Config) -> None:
    workspace_dir = option_path(config, "workspace")
    # xdist gives every worker the same run uid; without xdist this process is the session.
    workerinput = getattr(config, "workerinput", None)
    session_id = workerinput["testrunuid"] if workerinput else uuid.uuid4().hex
    from .runs import SessionRuns

    config.stash[RUNS_KEY] = SessionRuns(session_id, workspace_dir, _session_shard(config))
    config.stash[OVERRIDES_KEY] = _session_overrides(config)
    config.pluginmanager.register(SessionState(config), "lm_eval_so_session")


def _session_overrides(config: pytest.Config) -> dict[str, Any]:
    """The options every pipeline runs with; a bad value is a usage error, as on the CLI."""
    overrides: dict[str, Any] = {}
    if model := _option(config, "model"):
        overrides["runner.model"] = model
    limit = _option(config, "limit")
    if limit is not None:
        try:
            overrides["generator.limit"] = int(limit)
        except ValueError:
            raise pytest.UsageError(f"lm_eval_limit: expected a number of samples (got {limit!r})") from None
        if overrides["generator.limit"] < 1:
            raise pytest.UsageError(f"--lm-eval-limit / lm_eval_limit: must be at least 1 (got {limit})")
    if cache := _option(config, "cache"):
        if cache not in CACHE_MODES:
            raise pytest.UsageError(
                f"lm_eval_cache: expected one of {', '.join(CACHE_MODES)} (got {cache!r})"
            )
        overrides["runner.cache"] = cache
    return overrides


def _session_shard(config: pytest.Config) -> Any:
    """``--lm-eval-shard``: the shard every pipeline runs, or None; a bad value is a usage error."""
    text = _option(config, "shard")
    if not text:
        return None
    from ..common.errors import ConfigError
    from ..common.shard import parse_shard

    try:
        return parse_shard(str(text))
    except ConfigError as exc:
        raise pytest.UsageError(f"--lm-eval-shard / lm_eval_shard: {exc}") from None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # A workspace holds resolved copies of pipeline.yaml in every run: never collect those.
    if (collection_path / "runs").is_dir() and (collection_path / "datasets").is_dir():
        return True
    if collection_path.name == ".pytest-sessions":
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("lm_eval_patterns")
    if any(fnmatch(file_path.name, pattern) for pattern in patterns):
        from .collect import PipelineFile

        return PipelineFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def lm_eval(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LmEval:
    """Run a pipeline from a Python test: ``result = lm_eval("pipeline.yaml")``.

    A relative path is looked for next to the test file first, then in the current directory.
    The run is the session's: shared with the pipeline's YAML items and every other test.
    """
    from .fixtures import LmEval

    path = getattr(request.node, "path", None)
    return LmEval(request.config, tmp_path_factory, Path(path).parent if path else None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    # Only our items stash a result; checking the stash avoids importing collect.py here.
    if call.when == "call" and item.config.pluginmanager.hasplugin("html"):
        result = item.stash.get(RESULT_KEY, None)
        if result is not None:
            report.extras = [*getattr(report, "extras", []), *_html_extras(item, report, result)]
    return report


def _html_extras(item: pytest.Item, report: pytest.TestReport, result: Any) -> list[dict[str, Any]]:
    """The item's outcome (coloured), the gate's value and interval, and the run's figures.

    Every text that comes from the pipeline (names, ids) is escaped.
    """
    from pytest_html import extras

    from ..evaluator.reports.wording import cache_phrase, cost_phrase, tokens_phrase
    from .summary import interval_text, metric_interval, outcome_html, outcome_word

    esc = html.escape
    props = dict(item.user_properties)
    word = outcome_word(report.outcome, props.get(f"{PREFIX}.status"))
    value = props.get(f"{PREFIX}.value")
    gate = f"{esc(item.name)}: {outcome_html(word)}"
    if value is not None:
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        gate += f", value {esc(shown)}"
    ci_low, ci_high = metric_interval(props)
    if ci_low is not None:
        gate += f", 95% CI {esc(interval_text(ci_low, ci_high))}"
    summary = result.summary
    rows = "".join(
        f"<tr><td>{esc(m.name)}</td><td>{m.mean:.4g}</td>"
        f"<td>{esc(interval_text(m.ci_low, m.ci_high))}</td><td>{m.n}</td></tr>"
        for m in summary.metrics.values()
    )
    block = (
        f'<div class="lm-eval-so"><p>{gate}</p>'
        f"<p><b>{esc(result.pipeline)}</b> run {esc(result.run_id or '')}: "
        f"{summary.n_results} results ({esc(cache_phrase(summary))}), {summary.n_errors} errors, "
        f"{esc(tokens_phrase(summary))}, cost {esc(cost_phrase(summary))}</p>"
        "<table><tr><th>metric</th><th>mean</th><th>95% CI</th><th>n</th></tr>"
        f"{rows}</table></div>"
    )
    found = [extras.html(block)]
    report_path = result.report_path("html")
    if report_path is not None:
        found.append(extras.url(_link(item.config, report_path), name="pipeline report"))
    return found


def _link(config: pytest.Config, target: Path) -> str:
    # Relative to the pytest-html file when there is one, so the pair can be archived together.
    html_path = getattr(config.option, "htmlpath", None)
    if html_path:
        return os.path.relpath(target, Path(html_path).resolve().parent)
    return target.as_uri()


class SessionState:
    """Per-process session state, registered as a plugin so its methods are hooks."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.table = SessionTable()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        runs = self.config.stash[RUNS_KEY]
        if runs.workspace_dir is not None:
            _remove_stale_sessions(runs.workspace_dir / ".pytest-sessions")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Under xdist this runs on the controller with the workers' reports: the table is complete.
        self.table.add(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput"):
            return  # workers report to the controller, which prints the table once
        lines = self.table.render()
        if lines:
            terminalreporter.write_sep("=", "lm-eval-so summary")
            for line in lines:
                terminalreporter.write_line(line)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        if self.table.rows:
            prefix.append(self.table.render_html())


def _remove_stale_sessions(root: Path) -> None:
    if not root.is_dir():
        return
    cutoff = time.time() - STALE_SESSION_S
    for entry in root.iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
