"""llm_judge: a real backend from the registry grades outputs; its cost is kept apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalkit import load, make_run, ok, sample

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.config import MetricConfig
from lm_eval_so._internal.common.errors import PluginError
from lm_eval_so._internal.common.records import RunResult
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.metrics import build_metric
from lm_eval_so._internal.evaluator.metrics.judge import LlmJudge

KEY = "sk-test-judge-0123456789abcdef"


def judge_yaml(base_url: str, *, pass_score: int | None = 4, pricing: bool = True) -> str:
    lines = [
        "  metrics:",
        "    - type: llm_judge",
        "      rubric: The answer names the capital city.",
        "      judge:",
        "        backend: openai",
        "        model: gpt-4o-mini",
        f"        base_url: {base_url}",
        "        api_key_env: JUDGE_KEY",
        "        params: {temperature: 0}",
    ]
    if pricing:
        lines.append("        pricing: {prompt_per_1m: 1000000, completion_per_1m: 2000000}")
    if pass_score is not None:
        lines += [f"      pass_score: {pass_score}", "      threshold: {min: 0.5}"]
    return "\n".join(lines) + "\n"


def test_judge_through_the_openai_backend(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", KEY)
    # The fake server answers by what the prompt contains: the graded answer is in it.
    fake_openai.configure(
        answers={"Paris is it": "Names the city.\nSCORE: 5", "Lyon": "Wrong city. SCORE: 1"}
    )
    samples = [sample("fr", input="Capital of France?", expected="Paris"), sample("fr2", expected="Paris")]
    built = make_run(tmp_path, samples, [ok("fr", "Paris is it"), ok("fr2", "Lyon")])
    summary = evaluate_run(load(judge_yaml(fake_openai.base_url), tmp_path), built.run, built.dataset)

    judge = summary.metrics["llm_judge"]
    assert judge.mean == pytest.approx(0.5)  # grades 5 and 1 on 1..5 -> 1.0 and 0.0
    assert judge.ci_method == "bootstrap"
    prompts = fake_openai.stats()["prompts"]
    assert len(prompts) == 2 and "The answer names the capital city." in prompts[0]
    assert "Capital of France?" in " ".join(prompts)
    # Judge usage is counted apart from the run's own (2 x 0.001 from the results).
    assert summary.judge_calls == 2
    assert summary.judge_usage is not None and summary.judge_usage.prompt_tokens > 0
    usage = summary.judge_usage
    assert summary.judge_cost_usd == pytest.approx(usage.prompt_tokens + 2 * usage.completion_tokens)
    assert summary.cost_usd == pytest.approx(0.002)


def test_judge_cost_is_unknown_without_pricing_for_an_api(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", KEY)
    fake_openai.configure(answers={"Paris": "SCORE: 4"})
    built = make_run(tmp_path, [sample("fr", expected="Paris")], [ok("fr", "Paris")])
    yaml_text = judge_yaml(fake_openai.base_url, pricing=False).replace("gpt-4o-mini", "house-judge-7b")
    config = load(yaml_text, tmp_path)
    summary = evaluate_run(config, built.run, built.dataset)
    assert summary.judge_calls == 1 and summary.judge_cost_usd is None
    assert summary.metrics["llm_judge"].mean == pytest.approx(0.75)


def test_judge_cost_comes_from_the_same_price_table_as_the_runner(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_so._internal.models.pricing import lookup_price

    monkeypatch.setenv("JUDGE_KEY", KEY)
    fake_openai.configure(answers={"Paris": "SCORE: 4"})
    built = make_run(tmp_path, [sample("fr", expected="Paris")], [ok("fr", "Paris")])
    config = load(judge_yaml(fake_openai.base_url, pricing=False), tmp_path)
    summary = evaluate_run(config, built.run, built.dataset)
    usage, price = summary.judge_usage, lookup_price("gpt-4o-mini")
    assert usage is not None and price is not None
    expected = (
        usage.prompt_tokens * price.prompt_per_1m + usage.completion_tokens * price.completion_per_1m
    ) / 1e6
    assert summary.judge_cost_usd == pytest.approx(expected) and expected > 0


def test_judge_through_the_python_backend_is_free(tmp_path: Path) -> None:
    (tmp_path / "my_judge.py").write_text(
        "def grade(prompt):\n    return 'SCORE: 3' if 'maybe' in prompt else 'SCORE: 5'\n", encoding="utf-8"
    )
    config = MetricConfig.model_validate(
        {
            "type": "llm_judge",
            "rubric": "Be sure.",
            "judge": {"backend": "python", "function": "my_judge:grade"},
            "pass_score": 4,
        }
    )
    from lm_eval_so._internal.evaluator.metrics import MetricContext

    metric = build_metric(config, MetricContext(base_dir=tmp_path))
    assert isinstance(metric, LlmJudge)
    try:
        sure = metric.score(sample("a"), RunResult(sample_id="a", output="yes"))
        unsure = metric.score(sample("b"), RunResult(sample_id="b", output="maybe"))
    finally:
        metric.close()
    assert (sure.score, sure.passed) == (1.0, True)
    assert (unsure.score, unsure.passed) == (0.5, False)
    assert metric.usage().calls == 2 and metric.usage().cost_usd == 0.0


def test_grade_parsing_and_clamping() -> None:
    metric = build_metric(
        MetricConfig.model_validate(
            {
                "type": "llm_judge",
                "rubric": "r",
                "judge": {"backend": "python"},
                "min_score": 0,
                "max_score": 10,
            }
        )
    )
    assert isinstance(metric, LlmJudge)
    assert metric.grade("Fine. SCORE: 7").score == pytest.approx(0.7)
    assert metric.grade("I give it 8 out of 10").score == pytest.approx(1.0)  # last number: 10
    assert metric.grade("SCORE: 42").score == 1.0  # clamped to the scale
    assert metric.grade("no idea").score == 0.0


def test_judge_options_are_checked_when_the_pipeline_loads(tmp_path: Path) -> None:
    from lm_eval_so._internal.common.errors import LmEvalError

    text = (
        "  metrics:\n    - type: llm_judge\n      rubric: r\n"
        "      judge: {backend: python}\n      min_score: 5\n"
    )
    with pytest.raises(LmEvalError, match="min_score"):
        load(text, tmp_path)


def test_judge_calls_run_concurrently_up_to_the_judge_concurrency(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", KEY)
    fake_openai.configure(latency_s=0.05, answers={"Answer to grade": "SCORE: 5"})
    samples = [sample(f"s{i}", expected="x") for i in range(12)]
    built = make_run(tmp_path, samples, [ok(f"s{i}", "x") for i in range(12)])
    text = judge_yaml(fake_openai.base_url).replace(
        "        params:", "        concurrency: 4\n        params:"
    )
    summary = evaluate_run(load(text, tmp_path), built.run, built.dataset)
    stats = fake_openai.stats()
    assert 1 < stats["max_in_flight"] <= 4
    assert summary.judge_calls == 12 and summary.metrics["llm_judge"].mean == 1.0


# --------------------------------------------------------------------------- the judge's path


def test_the_judge_honours_retry_after_like_the_runner(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("JUDGE_KEY", KEY)
    fake_openai.configure(fail_first=1, fail_status=429, retry_after=1, answers={"Paris": "SCORE: 5"})
    built = make_run(tmp_path, [sample("fr", expected="Paris")], [ok("fr", "Paris")])
    yaml_text = (
        "  metrics:\n    - type: llm_judge\n      rubric: names the capital\n      judge:\n"
        f"        backend: openai\n        model: gpt-4o-mini\n        base_url: {fake_openai.base_url}\n"
        "        api_key_env: JUDGE_KEY\n        max_retries: 2\n"
    )
    started = time.monotonic()
    summary = evaluate_run(load(yaml_text, tmp_path), built.run, built.dataset)
    assert summary.metrics["llm_judge"].mean == 1.0 and summary.judge_calls == 1
    first, second = (t for t, _ in fake_openai.stats()["arrivals"])
    assert second - first >= 1.0  # waited as the server asked, exactly as the runner does
    assert time.monotonic() - started >= 1.0


def test_a_failed_grade_names_the_sample_and_never_the_judges_key(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The judge's own key variable (not a secret-looking name), echoed back by the server's 401.
    monkeypatch.setenv("GRADER", KEY)
    fake_openai.configure(required_key="another-key-0000000000", echo_key_in_errors=True)
    built = make_run(tmp_path, [sample("fr", expected="Paris")], [ok("fr", "Paris")])
    yaml_text = judge_yaml(fake_openai.base_url).replace("api_key_env: JUDGE_KEY", "api_key_env: GRADER")

    with pytest.raises(PluginError) as caught:
        evaluate_run(load(yaml_text, tmp_path), built.run, built.dataset)

    message = str(caught.value)
    assert "grading sample 'fr' (repeat 0)" in message and "401" in message
    assert KEY not in message and "***" in message
