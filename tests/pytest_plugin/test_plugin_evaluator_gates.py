"""The plugin and the evaluator's newer gates: inconclusive confidence gates, baseline runs."""

from __future__ import annotations

# pytester forgets modules first imported inside a run, but the registry (imported by the
# conftest plugins) keeps the classes it loaded: import the stages and built-ins here so every
# run sees the same classes, whichever test file runs alone. numpy (used by the bootstrap)
# cannot be imported twice in one process, so it must live outside the runs as well.
import numpy  # noqa: F401
import pytest

APP = """
import os

def answer(input):
    if os.environ.get("APP_MODE") == "bad" and input != "q0":
        return "wrong"
    return "right"
"""


def pipeline(threshold: str = "") -> str:
    return f"""\
name: qa
generator:
  source: data.csv
runner:
  backend: python
  function: app:answer
  cache: "off"
evaluator:
  metrics:
    - type: exact_match
{threshold}"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    rows = "".join(f"{i},q{i},right\n" for i in range(8))
    pytester.path.joinpath("data.csv").write_text("id,input,expected\n" + rows)
    return pytester


def test_inconclusive_fails_by_default_and_says_so(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 8 of 8 right: Wilson [0.68, 1]. A minimum of 0.9 can be neither confirmed nor ruled out.
    suite.path.joinpath("pipeline.yaml").write_text(
        pipeline("      threshold: {min: 0.9, gate: confidence}\n")
    )
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "qa: exact_match>=0.9 INCONCLUSIVE (counted as failed)" in out
    assert "straddles the minimum 0.9" in out
    result.stdout.fnmatch_lines(["*qa*exact_match>=0.9*INCONCLUSIVE (FAIL)*", "*1 failed, 1 inconclusive*"])


def test_inconclusive_can_pass_but_is_still_reported(suite: pytest.Pytester) -> None:
    gate = "      threshold: {min: 0.9, gate: confidence, inconclusive: pass}\n"
    suite.path.joinpath("pipeline.yaml").write_text(pipeline(gate))
    result = suite.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*qa*exact_match>=0.9*INCONCLUSIVE (PASS)*", "*0 failed, 1 inconclusive*"])


def test_baseline_gate_trips_only_on_a_significant_drop(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.path.joinpath("pipeline.yaml").write_text(pipeline())
    workspace = suite.path / "ws"
    # No baseline yet: the item is skipped with the reason.
    first = suite.runpytest(f"--lm-eval-workspace={workspace}", f"--lm-eval-baseline={workspace}", "-rs")
    first.assert_outcomes(passed=1, skipped=1)
    first.stdout.fnmatch_lines(["*no baseline run of this pipeline*"])
    # Same answers again: compared with the first run, no regression.
    same = suite.runpytest(f"--lm-eval-workspace={workspace}", f"--lm-eval-baseline={workspace}", "-v")
    same.assert_outcomes(passed=2)
    same.stdout.fnmatch_lines(["*qa::no_regression_vs_baseline PASSED*"])
    # 7 of 8 now wrong: McNemar p = 2/128, a significant drop.
    monkeypatch.setenv("APP_MODE", "bad")
    worse = suite.runpytest(f"--lm-eval-workspace={workspace}", f"--lm-eval-baseline={workspace}")
    worse.assert_outcomes(passed=1, failed=1)
    out = worse.stdout.str()
    assert "qa: significant regression vs baseline in exact_match" in out
    assert "| exact_match | 1 | 0.125 | -0.875 |" in out and "🔴 regressed" in out
