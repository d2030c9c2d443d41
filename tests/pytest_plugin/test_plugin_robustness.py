"""Bad pipelines under pytest: one short message each, computed once, skipped when they should be.

Each test runs pytest as a user does (pytester) and asserts the message it prints, how often
the pipeline ran, and that no traceback reaches the output.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

# pytester forgets modules first imported inside a run, but the registry keeps the classes it
# loaded: load the stages and the built-ins used here first, so every run sees the same classes
# whichever test file runs alone (numpy cannot be imported twice in one process).
import numpy  # noqa: F401
import pytest

import lm_eval_so._internal.orchestrator  # noqa: F401
from lm_eval_so._internal.pytest_plugin.summary import Row, SessionTable
from lm_eval_so.plugins import registry

for _kind, _name in [
    ("backends", "python"),
    ("backends", "openai"),
    ("metrics", "exact_match"),
    ("metrics", "python"),
    ("reporters", "html"),
    ("reporters", "json"),
    ("sources", "csv"),
    ("sources", "jsonl"),
]:
    registry.get(_kind, _name)

TRACEBACK_MARKS = ("Traceback", 'File "', "site-packages")

APP = """
import os
from pathlib import Path

ANSWERS = {"2+2": "4", "3+3": "6", "capital of France": "Paris", "colour of snow": "blue"}

def answer(input):
    Path(os.environ["CALLS_FILE"]).open("a").write(input + "\\n")
    return ANSWERS[input]
"""

DATA = "id,input,expected\n1,2+2,4\n2,3+3,6\n3,capital of France,Paris\n4,colour of snow,white\n"

GATES = "      threshold: 0.5\n  limits: {error_rate: 0.5, latency_p95_ms: 60000}\n"


def pipeline_yaml(name: str, *, gates: str = GATES, runner: str = "", source: str = "data.csv") -> str:
    runner = runner or "  backend: python\n  function: app:answer\n"
    return (
        f"name: {name}\ngenerator:\n  source: {source}\nrunner:\n{runner}"
        f"evaluator:\n  metrics:\n    - type: exact_match\n{gates}"
    )


# Plugins that misbehave, registered by the suite's conftest as a third party's would be: a
# backend whose start() raises (and counts how often it was asked), a reporter that raises, a
# metric whose options validator has a bug. Unregistered when the session ends.
PLUGINS = """
import os
from pathlib import Path

from pydantic import BaseModel, field_validator

from lm_eval_so.plugins import Backend, Completion, Reporter, registry

ExactMatch = registry.get("metrics", "exact_match")


class Exploding(Backend):
    name = "exploding"

    async def start(self):
        Path(os.environ["CALLS_FILE"]).open("a").write("start\\n")
        raise RuntimeError("the socket exploded")

    async def complete(self, request):
        return Completion(text="never")


class Broken(Reporter):
    format = "broken"
    suffix = ".broken"

    def write(self, data, path):
        raise KeyError("no such column")


class BuggyOptions(BaseModel):
    flavour: str = "plain"

    @field_validator("flavour")
    @classmethod
    def _check(cls, value):
        raise TypeError("validator bug")


class Buggy(ExactMatch):
    name = "buggy"
    Options = BuggyOptions


PLUGINS = [("backends", "exploding", Exploding), ("reporters", "broken", Broken), ("metrics", "buggy", Buggy)]
for kind, name, obj in PLUGINS:
    registry.register(kind, name, obj)


def pytest_unconfigure(config):
    for kind, name, _ in PLUGINS:
        registry.unregister(kind, name)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    pytester.makeconftest(PLUGINS)
    pytester.path.joinpath("data.csv").write_text(DATA)
    monkeypatch.setenv("CALLS_FILE", str(pytester.path / "calls.txt"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LM_EVAL_SO_DEBUG", raising=False)
    return pytester


def calls(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def run(pytester: pytest.Pytester, *args: str, xdist: bool = False) -> pytest.RunResult:
    if xdist:
        return pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", *args)
    return pytester.runpytest(*args)


def sections(output: str) -> dict[str, list[str]]:
    """The body of each ``____ title ____`` section of pytest's report (failures and errors)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        header = re.fullmatch(r"_{3,} (.+?) _{3,}", line)
        if header:
            current = found.setdefault(header.group(1), [])
        elif line.startswith("====="):
            current = None
        elif current is not None and not re.match(r"\[gw\d+\] ", line):  # xdist names the worker
            current.append(line)
    return found


def assert_no_traceback(output: str) -> None:
    for mark in TRACEBACK_MARKS:
        assert mark not in output, output


# ----------------------------------------------------------------- 1. a pipeline that errors


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "xdist"])
def test_a_pipeline_that_raises_runs_once_and_every_gate_says_why(
    suite: pytest.Pytester, xdist: bool
) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml("bad", runner="  backend: exploding\n  model: m\n")
    )
    result = run(suite, xdist=xdist)
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert calls(suite) == ["start"]  # once per session, across workers too
    assert len(list((suite.path / "workspace" / "runs").iterdir())) == 1
    bodies = [body for title, body in sections(out).items() if title.startswith("bad: ")]
    assert len(bodies) == 3
    expected = "bad: unexpected RuntimeError: the socket exploded (raised in start at conftest.py:"
    for body in bodies:
        assert len(body) == 1 and body[0].startswith(expected), body
        assert body[0].endswith("LM_EVAL_SO_DEBUG=1 shows the traceback")
    assert bodies.count(bodies[0]) == 3  # the same message for every gate
    assert_no_traceback(out)


def test_a_reporter_that_raises_fails_each_gate_once_with_one_line(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml("rep", gates=GATES + "  report: {formats: [json, broken]}\n")
    )
    result = run(suite)
    result.assert_outcomes(failed=3)
    assert len(calls(suite)) == 4  # four samples, asked once
    bodies = [body for title, body in sections(result.stdout.str()).items() if title.startswith("rep: ")]
    assert len(bodies) == 3
    assert all(
        body == [bodies[0][0]] and "unexpected KeyError: 'no such column' (raised in write" in body[0]
        for body in bodies
    )
    assert_no_traceback(result.stdout.str())


def test_debug_variable_shows_the_traceback(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on the CLI: the short message by default, the whole story on request.
    monkeypatch.setenv("LM_EVAL_SO_DEBUG", "1")
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml("bad", runner="  backend: exploding\n  model: m\n")
    )
    result = run(suite)
    result.assert_outcomes(failed=3)
    assert "Traceback" in result.stdout.str() and "the socket exploded" in result.stdout.str()
    assert calls(suite) == ["start"]


# ----------------------------------------------------------------- 2. one short message each


@dataclass
class Bad:
    """A bad pipeline: files to write over the good suite, and what pytest must say."""

    pipeline: str
    fragments: list[str]
    collection_error: bool = False
    files: dict[str, str] = field(default_factory=dict)


RUNNER = "  backend: python\n  function: app:answer\n"

BAD = {
    "invalid-yaml": Bad(
        "name: q\ngenerator:\n  source: data.csv\nrunner: [1\n",
        ["lm-eval-so: error: pipeline.yaml:5: invalid YAML"],
        collection_error=True,
    ),
    "unknown-key": Bad(
        pipeline_yaml("q", runner=RUNNER + "  concurency: 2\n"),
        [
            "lm-eval-so: error: pipeline.yaml:7: runner.concurency: unknown key 'concurency' "
            "(did you mean 'concurrency'?)"
        ],
        collection_error=True,
    ),
    "out-of-range-param": Bad(
        pipeline_yaml("q", runner=RUNNER + "  params:\n    temperature: 7\n"),
        ["lm-eval-so: error: pipeline.yaml:8: runner.params.temperature: must be <= 2.0 (got 7)"],
        collection_error=True,
    ),
    "threshold-outside-the-score-range": Bad(
        pipeline_yaml("q", gates="      threshold: 80\n"),
        [
            "lm-eval-so: error: pipeline.yaml:10: evaluator.metrics[0].threshold.min: must be within "
            "the score range of exact_match, 0 to 1 (got 80)"
        ],
        collection_error=True,
    ),
    "unknown-metric": Bad(
        pipeline_yaml("q").replace("type: exact_match", "type: exact_matsh"),
        ["lm-eval-so: error: pipeline.yaml:9: evaluator.metrics[0].type: unknown metric 'exact_matsh'"],
        collection_error=True,
    ),
    "unknown-backend": Bad(
        pipeline_yaml("q", runner="  backend: pythn\n  function: app:answer\n"),
        ["lm-eval-so: error: pipeline.yaml:5: runner.backend: unknown backend 'pythn'"],
        collection_error=True,
    ),
    "plugin-bug-at-load": Bad(
        pipeline_yaml("q").replace("type: exact_match", "type: buggy\n      flavour: sour"),
        [
            "lm-eval-so: error: pipeline.yaml: unexpected TypeError: validator bug "
            "(raised in _check at conftest.py:"
        ],
        collection_error=True,
    ),
    "missing-data-file": Bad(pipeline_yaml("q", source="missing.csv"), ["q: ", "missing.csv"]),
    "malformed-csv-row": Bad(
        pipeline_yaml("q"), ["q: data.csv:3: "], files={"data.csv": "id,input,expected\n1,2+2,4\n2,a,b,c,d\n"}
    ),
    "malformed-jsonl-row": Bad(
        pipeline_yaml("q", source="data.jsonl"),
        ["q: data.jsonl:2: "],
        files={"data.jsonl": '{"id": "1", "input": "2+2", "expected": "4"}\n{"id": "2", "input": \n'},
    ),
    "missing-api-key": Bad(
        pipeline_yaml("q", runner="  backend: openai\n  model: gpt-4o\n"),
        ["q: ", "OPENAI_API_KEY", "runner.api_key_env"],
    ),
    "unimportable-function": Bad(
        pipeline_yaml("q", runner="  backend: python\n  function: nosuchmodule:answer\n"),
        ["q: pipeline.yaml:6: runner.function: ", "nosuchmodule"],
    ),
    "backend-that-raises": Bad(
        pipeline_yaml("q", runner="  backend: exploding\n  model: m\n"),
        ["q: unexpected RuntimeError: the socket exploded (raised in start at conftest.py:"],
    ),
    "metric-that-raises": Bad(
        pipeline_yaml("q").replace("type: exact_match", "type: python\n      function: app:score"),
        ["q: metric 'python' failed on sample '", "ValueError: metric bug"],
        files={"app.py": APP + "\ndef score(output):\n    raise ValueError('metric bug')\n"},
    ),
}


@pytest.mark.parametrize("case", list(BAD.values()), ids=list(BAD))
def test_bad_pipeline_gives_one_short_message(suite: pytest.Pytester, case: Bad) -> None:
    for name, text in case.files.items():
        suite.path.joinpath(name).write_text(text)
    suite.path.joinpath("pipeline.yaml").write_text(case.pipeline)
    result = run(suite)
    out = result.stdout.str()
    assert_no_traceback(out)
    found = sections(out)
    if case.collection_error:
        assert result.ret == pytest.ExitCode.INTERRUPTED
        assert calls(suite) == []  # collection never calls a model
        [body] = found.values()
    else:
        result.assert_outcomes(failed=3)
        bodies = list(found.values())
        assert len(bodies) == 3 and all(body == bodies[0] for body in bodies), bodies  # computed once
        body = bodies[0]
    assert 1 <= len(body) <= 2, body
    for fragment in case.fragments:
        assert fragment in body[0], body


def test_collection_error_under_xdist_is_the_same_one_line(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(BAD["plugin-bug-at-load"].pipeline)
    result = run(suite, xdist=True)
    out = result.stdout.str()
    assert "lm-eval-so: error: pipeline.yaml: unexpected TypeError: validator bug" in out
    assert_no_traceback(out)


def test_bad_ini_value_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("q"))
    result = suite.runpytest("-o", "lm_eval_limit=ten")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "lm_eval_limit: expected a number of samples (got 'ten')" in result.stderr.str()
    assert_no_traceback(result.stdout.str() + result.stderr.str())
    assert calls(suite) == []


# ----------------------------------------------------------------- 3. requires_env


REMOTE = """\
name: remote
requires_env: [SOME_ENDPOINT]
generator:
  source: ../data.csv
runner:
  backend: openai
  model: served-model
  base_url: ${SOME_ENDPOINT}
evaluator:
  metrics:
    - type: exact_match
      threshold: 0.5
  limits: {error_rate: 0}
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "xdist"])
def test_requires_env_is_decided_before_interpolation(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    monkeypatch.delenv("SOME_ENDPOINT", raising=False)
    (suite.path / "remote").mkdir()
    (suite.path / "remote" / "pipeline.yaml").write_text(REMOTE)
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("local"))
    result = run(suite, "-rs", xdist=xdist)
    # Every gate of the remote pipeline is skipped, at its own line; the session goes on.
    result.assert_outcomes(passed=3, skipped=2)
    out = result.stdout.str()
    reason = "remote: needs SOME_ENDPOINT (requires_env)"
    assert f"remote/pipeline.yaml:12: {reason}" in out  # exact_match>=0.5
    assert f"remote/pipeline.yaml:13: {reason}" in out  # error_rate<=0
    assert len(calls(suite)) == 4  # the local pipeline, once
    assert_no_traceback(out)


def test_requires_env_skips_a_pipeline_that_cannot_load_without_it(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The variable names the data file: the gates cannot be known, so one item says why.
    monkeypatch.delenv("DATA_DIR", raising=False)
    suite.path.joinpath("pipeline.yaml").write_text(
        "requires_env: [DATA_DIR]\n" + pipeline_yaml("private", source="${DATA_DIR}/data.csv")
    )
    result = run(suite, "-rs", "-v")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*pipeline.yaml::private::requires_env SKIPPED*", "*private: needs DATA_DIR (requires_env)*"]
    )
    # With the variable set, the same file runs.
    monkeypatch.setenv("DATA_DIR", str(suite.path))
    run(suite).assert_outcomes(passed=3)


def test_lm_eval_fixture_skips_on_requires_env(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOME_ENDPOINT", raising=False)
    (suite.path / "remote").mkdir()
    (suite.path / "remote" / "pipeline.yaml").write_text(REMOTE)
    suite.makepyfile(test_remote="def test_remote(lm_eval):\n    lm_eval('remote/pipeline.yaml')\n")
    result = run(suite, "-rs", "test_remote.py")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*remote: needs SOME_ENDPOINT (requires_env)*"])


# ----------------------------------------------------------------- 4. the lm_eval fixture


def test_fixture_resolves_paths_from_the_test_file(suite: pytest.Pytester) -> None:
    evals = suite.path / "evals"
    evals.mkdir()
    (evals / "app.py").write_text(APP)
    (evals / "qa.pipeline.yml").write_text(pipeline_yaml("qa", source="../data.csv"))
    (evals / "test_qa.py").write_text(
        "def test_qa(lm_eval):\n"
        "    result = lm_eval('qa.pipeline.yml')\n"
        "    assert result.metric('exact_match').mean == 0.75\n"
    )
    # Run from the project root, as CI does: the path is relative to the test file.
    run(suite, "evals/test_qa.py").assert_outcomes(passed=1)


def test_fixture_wrong_path_is_one_message(suite: pytest.Pytester) -> None:
    (suite.path / "evals").mkdir()
    (suite.path / "evals" / "test_qa.py").write_text("def test_qa(lm_eval):\n    lm_eval('nope.yaml')\n")
    result = run(suite, "evals/test_qa.py")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    tried = f"{suite.path / 'evals' / 'nope.yaml'} or {suite.path / 'nope.yaml'}"
    assert sections(out)["test_qa"] == [f"lm_eval: pipeline 'nope.yaml' not found (looked for {tried})"]
    assert_no_traceback(out)


def test_fixture_bad_pipeline_is_one_message(suite: pytest.Pytester) -> None:
    suite.path.joinpath("broken.yaml").write_text(pipeline_yaml("q", runner=RUNNER + "  concurency: 2\n"))
    suite.makepyfile(test_q="def test_q(lm_eval):\n    lm_eval('broken.yaml')\n")
    result = run(suite, "test_q.py")
    result.assert_outcomes(failed=1)
    assert sections(result.stdout.str())["test_q"] == [
        "lm-eval-so: error: broken.yaml:7: runner.concurency: unknown key 'concurency' "
        "(did you mean 'concurrency'?)"
    ]


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "xdist"])
def test_yaml_items_and_the_fixture_share_one_run(suite: pytest.Pytester, xdist: bool) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("qa"))
    suite.makepyfile(
        test_qa="""
        def test_accuracy(lm_eval):
            result = lm_eval("pipeline.yaml")
            assert result.metric("exact_match").mean == 0.75
            assert [f.sample.id for f in result.failures("exact_match")] == ["4"]

        def test_again(lm_eval):
            assert lm_eval("pipeline.yaml").summary.n_results == 4
        """
    )
    result = run(suite, "--junitxml=out.xml", xdist=xdist)
    result.assert_outcomes(passed=5)
    assert len(calls(suite)) == 4  # four samples, one run for three gates and two tests
    assert len(list((suite.path / "workspace" / "runs").iterdir())) == 1


def test_fixture_shares_failures_too(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("bad", runner="  backend: exploding\n"))
    suite.makepyfile(test_bad="def test_bad(lm_eval):\n    lm_eval('pipeline.yaml')\n")
    result = run(suite)
    result.assert_outcomes(failed=4)
    assert calls(suite) == ["start"]
    assert sections(result.stdout.str())["test_bad"][0].startswith(
        "bad: unexpected RuntimeError: the socket exploded"
    )


# ----------------------------------------------------------------- 5. pytest-html


def html_blob(page: str) -> dict[str, object]:
    match = re.search(r'data-jsonblob="([^"]*)"', page)
    assert match, "pytest-html page without its data"
    return json.loads(html.unescape(match.group(1)))  # type: ignore[no-any-return]


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "xdist"])
def test_html_report_colours_outcomes_and_shows_intervals(suite: pytest.Pytester, xdist: bool) -> None:
    for name, threshold in (("good", "0.5"), ("strict", "0.9")):
        (suite.path / name).mkdir()
        (suite.path / name / "app.py").write_text(APP)
        (suite.path / name / "pipeline.yaml").write_text(
            pipeline_yaml(name, gates=f"      threshold: {threshold}\n", source="../data.csv")
        )
    # Under xdist the controller builds the table from the workers' reports.
    run(suite, "--html=report.html", xdist=xdist).assert_outcomes(passed=1, failed=1)
    page = (suite.path / "report.html").read_text()
    # The summary table: the interval beside the value (Wilson, 3 of 4), outcomes coloured.
    summary = page[page.index('<table class="lm-eval-so-summary">') :]
    summary = summary[: summary.index("</table>")]
    good = re.search(r'<tr class="lm-eval-pass">(.*?)</tr>', summary)
    strict = re.search(r'<tr class="lm-eval-fail">(.*?)</tr>', summary)
    assert good and strict
    assert "<td>0.75</td><td>[0.3006, 0.9544]</td>" in good.group(1)
    assert 'class="lm-eval-outcome lm-eval-pass" style="color: #1b7f2a' in good.group(1)
    assert 'class="lm-eval-outcome lm-eval-fail" style="color: #c62828' in strict.group(1)
    # Each item's extra: its outcome, coloured, with the value and interval.
    extras = {
        test["testId"]: " ".join(e["content"] for e in test["extras"] if e["format_type"] == "html")
        for tests in html_blob(page)["tests"].values()  # type: ignore[attr-defined]
        for test in tests
    }
    good_extra = extras["good/pipeline.yaml::good::exact_match>=0.5"]
    assert "lm-eval-pass" in good_extra and "value 0.75, 95% CI [0.3006, 0.9544]" in good_extra
    assert "lm-eval-fail" in extras["strict/pipeline.yaml::strict::exact_match>=0.9"]


def test_html_inconclusive_has_its_own_colour(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app="def answer(input):\n    return 'right'\n")
    rows = "".join(f"{i},q{i},right\n" for i in range(8))
    pytester.path.joinpath("data.csv").write_text("id,input,expected\n" + rows)
    pytester.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml(
            "qa", gates="      threshold: {min: 0.9, gate: confidence, inconclusive: pass}\n"
        ).replace("app:answer", "app:answer\n  cache: 'off'")
    )
    pytester.runpytest("--html=report.html").assert_outcomes(passed=1)
    page = (pytester.path / "report.html").read_text()
    assert '<tr class="lm-eval-inconclusive">' in page
    style = 'style="color: #b35c00; font-weight: bold"'
    assert f'<span class="lm-eval-outcome lm-eval-inconclusive" {style}>INCONCLUSIVE (PASS)</span>' in page


def test_html_escapes_every_text_from_the_pipeline() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    row = Row(hostile, f"{hostile}>=0.5", hostile, "FAIL", "unknown", ci_low=0.1, ci_high=0.9)
    table = SessionTable([row])
    page = table.render_html()
    assert hostile not in page
    assert html.escape(hostile) in page
    assert "<td>[0.1, 0.9]</td>" in page


def test_ini_paths_are_relative_to_the_ini_file(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sibling of the fixture's paths: written in pytest.ini, a path means the same from any
    # directory pytest is started in (as pytest's own ini paths do).
    suite.makeini("[pytest]\nlm_eval_workspace = shared-ws\n")
    (suite.path / "evals").mkdir()
    (suite.path / "evals" / "app.py").write_text(APP)
    (suite.path / "evals" / "pipeline.yaml").write_text(pipeline_yaml("qa", source="../data.csv"))
    monkeypatch.chdir(suite.path / "evals")
    suite.runpytest().assert_outcomes(passed=3)
    assert len(list((suite.path / "shared-ws" / "runs").iterdir())) == 1
    assert not (suite.path / "evals" / "shared-ws").exists()
