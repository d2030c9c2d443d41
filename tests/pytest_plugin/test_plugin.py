"""Acceptance tests of the pytest plugin, through pytester: as a user runs pytest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# The app under test: answers from a table, and counts its calls in a file (one line per call)
# so tests can prove each pipeline ran exactly once, even across xdist workers.
APP = """
import os
from pathlib import Path

ANSWERS = {"2+2": "4", "3+3": "6", "capital of France": "Paris", "colour of snow": "blue"}

def answer(input):
    Path(os.environ["CALLS_FILE"]).open("a").write(input + "\\n")
    return ANSWERS[input]
"""

DATA = "id,input,expected\n1,2+2,4\n2,3+3,6\n3,capital of France,Paris\n4,colour of snow,white\n"


def pipeline_yaml(name: str, gates: str = "", extra: str = "") -> str:
    return f"""\
name: {name}
generator:
  source: data.csv
runner:
  backend: python
  function: app:answer
  concurrency: 2
{extra}evaluator:
  metrics:
    - type: exact_match
{gates}"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    pytester.path.joinpath("data.csv").write_text(DATA)
    monkeypatch.setenv("CALLS_FILE", str(pytester.path / "calls.txt"))
    return pytester


def calls(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_gates_become_items_with_readable_ids(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml("qa", "      threshold: 0.5\n  limits: {error_rate: 0}\n")
    )
    result = suite.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*pipeline.yaml::qa::exact_match>=0.5 PASSED*",
            "*pipeline.yaml::qa::error_rate<=0 PASSED*",
        ]
    )
    assert len(calls(suite)) == 4  # two items, one run
    assert result.ret == 0


def test_failure_reads_like_a_test_failure(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("qa", "      threshold: 0.9\n"))
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    out = result.stdout.str()
    assert "qa: exact_match>=0.9 failed: exact_match = 0.75, needs >= 0.9" in out
    assert "95% CI [" in out and "(wilson), n=4" in out
    assert "4: expected 'white', got 'blue'" in out
    assert "report: " in out and "report.html" in out
    assert "Traceback" not in out and "plugin.py" not in out and "collect.py" not in out


def test_pipeline_without_gates_asserts_it_ran_cleanly(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("plain"))
    result = suite.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*pipeline.yaml::plain::ran_without_errors PASSED*"])


def test_errors_fail_the_default_item(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        app=APP.replace("return ANSWERS[input]", "return ANSWERS[input] if input != '3+3' else 1 / 0")
    )
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("plain"))
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*plain: 1 of 4 calls failed*"])


def test_bad_pipeline_is_a_clean_collection_error(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("qa", extra="  concurency: 2\n"))
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "pipeline.yaml:8: runner.concurency: unknown key 'concurency' (did you mean 'concurrency'?)" in out
    assert "Traceback" not in out
    assert calls(suite) == []  # collection never calls a model


def test_no_pipelines_means_exit_code_5(pytester: pytest.Pytester) -> None:
    assert pytester.runpytest().ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_pattern_ini_option_and_workspace_is_not_collected(suite: pytest.Pytester) -> None:
    suite.path.joinpath("smoke.pipeline.yaml").write_text(pipeline_yaml("smoke"))
    suite.path.joinpath("other.yaml").write_text(pipeline_yaml("other"))
    first = suite.runpytest()
    first.assert_outcomes(passed=1)  # other.yaml does not match the default patterns
    # The run left workspace/runs/<id>/pipeline.yaml behind; it must not be collected.
    assert list((suite.path / "workspace" / "runs").glob("*/pipeline.yaml"))
    suite.runpytest().assert_outcomes(passed=1)
    suite.makeini("[pytest]\nlm_eval_patterns = other.yaml\n")
    suite.runpytest("-v").stdout.fnmatch_lines(["*other.yaml::other::ran_without_errors PASSED*"])


def test_broken_backend_fails_its_items_and_the_session_goes_on(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (suite.path / "good").mkdir()
    (suite.path / "bad").mkdir()
    (suite.path / "good" / "pipeline.yaml").write_text(
        pipeline_yaml("good", "      threshold: 0.5\n").replace("data.csv", "../data.csv")
    )
    (suite.path / "good" / "app.py").write_text(APP)  # modules are found next to the pipeline
    (suite.path / "bad" / "pipeline.yaml").write_text(
        "name: bad\ngenerator: {source: ../data.csv}\nrunner: {backend: openai, model: gpt-4o}\n"
        "evaluator:\n  metrics: [{type: exact_match, threshold: 0.5}]\n  limits: {error_rate: 0}\n"
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "OPENAI_API_KEY" in out and "runner.api_key_env" in out
    assert "Traceback" not in out


def test_requires_env_skips_with_reason(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOME_ENDPOINT", raising=False)
    suite.path.joinpath("pipeline.yaml").write_text(
        "requires_env: [SOME_ENDPOINT]\n" + pipeline_yaml("remote")
    )
    result = suite.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*remote: needs SOME_ENDPOINT (requires_env)*"])
    assert calls(suite) == []
    # Under xdist the skip crosses workers too, and is reported at the pipeline file.
    distributed = suite.runpytest_subprocess("-n", "2", "-rs", "-p", "no:cacheprovider")
    distributed.assert_outcomes(skipped=1)
    distributed.stdout.fnmatch_lines(["SKIPPED*pipeline.yaml:1: remote: needs SOME_ENDPOINT*"])


def test_failure_location_is_the_gate_line(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("qa", "      threshold: 0.9\n"))
    suite.runpytest("--junitxml=out.xml", "-o", "junit_family=xunit1").assert_outcomes(failed=1)
    # The threshold is on line 11 of the generated file; JUnit's `line` is 0-based.
    assert suite.path.joinpath("pipeline.yaml").read_text().splitlines()[10].strip() == "threshold: 0.9"
    case = next(ET.parse(suite.path / "out.xml").getroot().iter("testcase"))
    assert (case.get("file"), case.get("line")) == ("pipeline.yaml", "10")


def test_limit_and_model_overrides(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("qa"))
    result = suite.runpytest("--lm-eval-limit", "2", "--lm-eval-model", "candidate-7b", "--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    assert len(calls(suite)) == 2
    run_dir = Path(junit_properties(suite.path / "out.xml")[0]["lm_eval.run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["model"] == "candidate-7b"
    assert manifest["dataset"]["n_samples"] == 2


def junit_properties(path: Path) -> list[dict[str, str]]:
    root = ET.parse(path).getroot()
    return [
        {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        for case in root.iter("testcase")
    ]


def test_junit_properties_carry_the_figures(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml("qa", "      threshold: 0.5\n  limits: {error_rate: 0}\n")
    )
    suite.runpytest("--junitxml=out.xml", "-o", "junit_family=xunit1").assert_outcomes(passed=2)
    cases = junit_properties(suite.path / "out.xml")
    assert len(cases) == 2
    gate = next(c for c in cases if c["lm_eval.gate"] == "exact_match>=0.5")
    assert gate["lm_eval.pipeline"] == "qa"
    assert float(gate["lm_eval.value"]) == 0.75
    assert float(gate["lm_eval.exact_match.mean"]) == 0.75
    assert float(gate["lm_eval.exact_match.ci_low"]) < 0.75 < float(gate["lm_eval.exact_match.ci_high"])
    assert gate["lm_eval.exact_match.n"] == "4"
    assert gate["lm_eval.n_samples"] == "4"
    assert Path(gate["lm_eval.run_dir"]).is_dir()
    for key in ("lm_eval.tokens", "lm_eval.cost_usd", "lm_eval.error_rate"):
        assert key in gate


def test_pytest_html_gets_summary_and_report_link(suite: pytest.Pytester) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline_yaml("qa", "      threshold: 0.5\n"))
    suite.runpytest("--html=html/report.html").assert_outcomes(passed=1)
    page = (suite.path / "html" / "report.html").read_text()
    assert "pipeline report" in page
    assert "report.html" in page and "../workspace/runs/" in page  # a link relative to the page
    assert "95% CI" in page and "exact_match" in page
    assert "lm-eval-so" in page  # the summary table in the page's header


def test_terminal_summary_table(suite: pytest.Pytester) -> None:
    # The python backend replays answers only when the pipeline asks for the cache.
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline_yaml("qa", "      threshold: 0.9\n", extra="  cache: read_write\n")
    )
    result = suite.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*= lm-eval-so summary =*",
            "pipeline*gate*value*result*cost*from cache",
            "qa*exact_match>=0.9*0.75*FAIL*$0.0000*0/4",
            "1 pipelines, 1 gates, 1 failed; 0 of 4 results from cache",
        ]
    )
    # The same pipeline again: every answer is replayed, and the table says so.
    again = suite.runpytest()
    again.stdout.fnmatch_lines(
        [
            "qa*exact_match>=0.9*0.75*FAIL*$0.0000*4/4",
            "1 pipelines, 1 gates, 1 failed; 4 of 4 results from cache",
        ]
    )


def test_xdist_runs_each_pipeline_once(suite: pytest.Pytester) -> None:
    names = ["alpha", "beta", "gamma"]
    for name in names:
        (suite.path / name).mkdir()
        (suite.path / name / "pipeline.yaml").write_text(
            pipeline_yaml(
                name, "      threshold: 0.5\n  limits: {error_rate: 0, latency_p95_ms: 60000}\n"
            ).replace("data.csv", "../data.csv")
        )
    result = suite.runpytest_subprocess("-n", "2", "--junitxml=out.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    assert len(calls(suite)) == 3 * 4  # three pipelines x four samples, never twice
    out = result.stdout.str()
    assert out.count("lm-eval-so summary") == 1
    assert "3 pipelines, 9 gates, 0 failed" in out
    cases = junit_properties(suite.path / "out.xml")
    assert len(cases) == 9 and all("lm_eval.run_dir" in c for c in cases)
    assert len({c["lm_eval.run_dir"] for c in cases}) == 3


def test_lm_eval_fixture(suite: pytest.Pytester) -> None:
    suite.path.joinpath("evals").mkdir()
    suite.path.joinpath("evals", "qa.yaml").write_text(pipeline_yaml("qa").replace("data.csv", "../data.csv"))
    suite.makepyfile(
        test_app="""
        def test_accuracy(lm_eval):
            result = lm_eval("evals/qa.yaml")
            assert result.metric("exact_match").mean == 0.75
            assert [f.sample.id for f in result.failures("exact_match")] == ["4"]

        def test_inline_config(lm_eval, tmp_path):
            result = lm_eval(
                {"name": "inline", "generator": {"source": "data.csv"},
                 "runner": {"backend": "python", "function": "app:answer"}},
                generator__limit=1,
            )
            assert result.summary.n_results == 1
        """
    )
    suite.runpytest("test_app.py").assert_outcomes(passed=2)
