"""Every gate bound is finite and on its metric's scale, checked when pipeline.yaml loads.

``threshold: 80`` on a 0..1 metric used to fail only after the model was called, and
``threshold: .nan`` passed every run (``exact_match>=nan`` at mean 0).
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from lm_eval_so._internal.common.config import MetricConfig, PipelineConfig, Threshold, config_from_text
from lm_eval_so._internal.common.errors import ConfigError
from lm_eval_so._internal.common.records import DatasetSample, RunResult
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.evaluator.metrics import Metric, MetricScore, build_metric
from lm_eval_so._internal.evaluator.metrics.embedding import EmbeddingSimilarity

HEAD = (
    "name: bounds\ngenerator: {source: data.csv}\n"
    "runner: {backend: python, function: app:answer}\nevaluator:\n"
)
JUDGE = "llm_judge\n      rubric: r\n      judge: {backend: python, function: app:judge}\n      pass_score: "
LIMITS = "pipeline.yaml:6: evaluator.limits."
FINITE = "input should be a finite number"


@pytest.fixture(scope="module")
def _scores_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bounds_modules")
    (folder / "bounds_scores.py").write_text("def score(output):\n    return 1.0\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _metrics_load(_scores_module: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about bounds: the python metric's module is importable (one copy: a
    module name is one module per process), and the embedding metric's extra counts as
    installed (its absence is checked at load, see test_load_checks)."""
    monkeypatch.syspath_prepend(str(_scores_module))
    monkeypatch.setattr(EmbeddingSimilarity, "check_at_load", classmethod(lambda cls, options, base_dir: []))


def load(evaluator: str, tmp_path: Path) -> PipelineConfig:
    return config_from_text(HEAD + evaluator, tmp_path / "pipeline.yaml", env={})


def error_of(evaluator: str, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(evaluator, tmp_path)
    return str(info.value)


class Stars(Metric):
    """A plugin metric scoring 0 to 10."""

    name: ClassVar[str] = "stars"
    binary: ClassVar[bool] = False
    requires_expected: ClassVar[bool] = False
    score_range: ClassVar[tuple[float, float] | None] = (0.0, 10.0)

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        return MetricScore(5.0)


class Length(Stars):
    name: ClassVar[str] = "length"
    score_range: ClassVar[tuple[float, float] | None] = None


@pytest.fixture(autouse=True)
def plugins() -> Iterator[None]:
    registry.register("metrics", "stars", Stars)
    registry.register("metrics", "length", Length)
    yield
    registry.unregister("metrics", "stars")
    registry.unregister("metrics", "length")


# --------------------------------------------------------------------------- metric thresholds


def test_a_percentage_on_a_fraction_metric_names_line_field_and_the_likely_meaning(tmp_path: Path) -> None:
    message = error_of("  metrics:\n    - type: exact_match\n      threshold: 80\n", tmp_path)
    assert message == (
        "pipeline.yaml:7: evaluator.metrics[0].threshold.min: must be within the score range of "
        "exact_match, 0 to 1 (got 80); scores are fractions: did you mean 0.8?"
    )


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
@pytest.mark.parametrize("side", ["min", "max"])
def test_non_finite_bounds_are_refused(tmp_path: Path, value: str, side: str) -> None:
    message = error_of(f"  metrics:\n    - type: contains\n      threshold: {{{side}: {value}}}\n", tmp_path)
    assert message.startswith(
        f"pipeline.yaml:7: evaluator.metrics[0].threshold.{side}: input should be a finite"
    )


def test_the_shorthand_nan_is_refused_too(tmp_path: Path) -> None:
    message = error_of("  metrics:\n    - type: exact_match\n      threshold: .nan\n", tmp_path)
    assert message.startswith("pipeline.yaml:7: evaluator.metrics[0].threshold.min: input should be a finite")


@pytest.mark.parametrize(
    ("metric", "threshold", "problem"),
    [
        ("f1", "{max: -0.1}", "threshold.max: must be within the score range of f1, 0 to 1 (got -0.1)"),
        ("embedding_similarity", "{min: -2}", "threshold.min: must be within the score range of "
         "embedding_similarity, -1 to 1 (got -2)"),
        ("stars", "{min: 11}", "threshold.min: must be within the score range of stars, 0 to 10 (got 11)"),
        ("python\n      function: bounds_scores:score\n      binary: true", "{min: 2}",
         "threshold.min: must be within the score range of python, 0 to 1 (got 2)"),
    ],
)  # fmt: skip
def test_bounds_outside_the_declared_range_are_refused(
    tmp_path: Path, metric: str, threshold: str, problem: str
) -> None:
    message = error_of(f"  metrics:\n    - type: {metric}\n      threshold: {threshold}\n", tmp_path)
    assert problem in message and message.startswith("pipeline.yaml:")


@pytest.mark.parametrize(
    ("metric", "threshold"),
    [
        ("exact_match", "1"),  # the edges of the range are fine
        ("exact_match", "{max: 0}"),
        ("embedding_similarity", "{min: -0.5}"),
        ("stars", "{min: 8, max: 10}"),
        ("length", "{max: 1000}"),  # no declared range: any finite bound
        ("python\n      function: bounds_scores:score", "{min: 70}"),  # a continuous function's own scale
    ],
)
def test_bounds_inside_the_range_load(tmp_path: Path, metric: str, threshold: str) -> None:
    config = load(f"  metrics:\n    - type: {metric}\n      threshold: {threshold}\n", tmp_path)
    assert config.evaluator.metrics[0].threshold is not None


def test_every_bad_bound_is_reported_at_once(tmp_path: Path) -> None:
    message = error_of(
        "  metrics:\n    - type: exact_match\n      threshold: {min: 80, max: 90}\n"
        "    - type: stars\n      threshold: {min: 20}\n",
        tmp_path,
    )
    assert [line.split(": ")[1] for line in message.splitlines()] == [
        "evaluator.metrics[0].threshold.min",
        "evaluator.metrics[0].threshold.max",
        "evaluator.metrics[1].threshold.min",
    ]


def test_a_config_built_in_code_is_checked_when_the_metric_is_built() -> None:
    config = MetricConfig(type="exact_match", threshold=Threshold(min=80))
    with pytest.raises(ConfigError, match=r"exact_match: threshold.min: must be within the score range"):
        build_metric(config)


def test_thresholds_from_overrides_are_checked_as_loading_checks_them(tmp_path: Path) -> None:
    config = load("  metrics:\n    - type: exact_match\n", tmp_path)
    with pytest.raises(ConfigError) as info:
        config.with_overrides(**{"evaluator.metrics": [{"type": "exact_match", "threshold": 80}]})
    assert str(info.value) == (
        "override evaluator.metrics=[{'type': 'exact_match', 'threshold': 80}]: "
        "evaluator.metrics[0].threshold.min: must be within the score range of exact_match, "
        "0 to 1 (got 80); scores are fractions: did you mean 0.8?"
    )
    with pytest.raises(ConfigError, match=r"threshold\.min: must be within"):
        config.with_overrides(**{"evaluator.metrics.0.threshold": 80})


def test_thresholds_of_metrics_built_in_code_are_checked_when_built() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 0\.8"):
        build_metric(MetricConfig(type="exact_match", threshold=80))


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ("error_rate: 5", f"{LIMITS}error_rate: max must be <= 1: error_rate is a share"),
        ("error_rate: .nan", f"{LIMITS}error_rate.max: {FINITE}"),
        ("cost_usd: .inf", f"{LIMITS}cost_usd.max: {FINITE}"),
        ("latency_p95_ms: {max: .inf}", f"{LIMITS}latency_p95_ms.max: {FINITE}"),
        ("cost_usd: -1", f"{LIMITS}cost_usd.max: must be >= 0"),
    ],
)
def test_limits_are_finite_non_negative_and_shares_at_most_one(
    tmp_path: Path, limits: str, problem: str
) -> None:
    assert error_of(f"  limits:\n    {limits}\n", tmp_path).startswith(problem)


def test_sensible_limits_load(tmp_path: Path) -> None:
    config = load("  limits:\n    error_rate: 1\n    cost_usd: 0\n    latency_p95_ms: 2500.5\n", tmp_path)
    assert [(name, lim.max) for name, lim in config.evaluator.limits.items()] == [
        ("error_rate", 1.0),
        ("cost_usd", 0.0),
        ("latency_p95_ms", 2500.5),
    ]


# --------------------------------------------------------------------------- bounds inside metric options


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        ("numeric\n      tolerance: .inf", "evaluator.metrics[0].tolerance: input should be a finite number"),
        (
            "embedding_similarity\n      pass_at: .nan",
            "evaluator.metrics[0].pass_at: input should be a finite",
        ),
        (f"{JUDGE}7", "pass_score (7) must be on the judge's scale, 1 to 5"),
        (f"{JUDGE}.nan", f"evaluator.metrics[0].pass_score: {FINITE}"),
    ],
)
def test_pass_bounds_inside_metric_options_are_finite_and_on_scale(
    tmp_path: Path, metric: str, problem: str
) -> None:
    message = error_of(f"  metrics:\n    - type: {metric}\n", tmp_path)
    assert problem in message and message.startswith("pipeline.yaml:")


# --------------------------------------------------------------------------- before any model call


def test_the_cli_refuses_a_bad_bound_before_calling_the_model(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("input,expected\nq,a\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(
        "from pathlib import Path\n\ndef answer(prompt):\n"
        "    Path(__file__).with_name('called').write_text('yes')\n    return 'a'\n",
        encoding="utf-8",
    )
    (tmp_path / "pipeline.yaml").write_text(
        HEAD + "  metrics:\n    - type: exact_match\n      threshold: 80\n  report: {formats: []}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "lm_eval_so", "run", str(tmp_path / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert (
        "pipeline.yaml:7: evaluator.metrics[0].threshold.min: must be within the score range" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "called").exists()


def test_nan_never_reaches_a_gate() -> None:
    # The model refuses non-finite bounds whichever way it is built.
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            Threshold(min=bad)


def test_a_cost_too_small_for_four_decimals_never_reads_as_free() -> None:
    from lm_eval_so._internal.common.text import usd, usd_delta

    assert usd(0.0000021) == "$0.0000021"  # "$0.0000" would look free
    assert usd(0.00002) == "$0.000020" and usd(0.00004999) == "$0.000050"
    assert usd(0.0) == "$0.0000" and usd(0.01234) == "$0.0123" and usd(0.00005) == "$0.0001"
    assert usd_delta(-0.0000021) == "-$0.0000021" and usd_delta(0.0012) == "+$0.0012"
    assert usd(None) == "unknown" and usd(None, "unknown (no price)") == "unknown (no price)"
