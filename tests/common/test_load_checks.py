"""Everything that can be checked without calling a model is checked when the pipeline loads.

A python metric's function (imported, callable, known parameters), a schema file, the judge's
backend and prompt, an extra a metric needs: each problem is a ConfigError at file:line when
the pipeline loads, so ``--dry-run`` and pytest collection catch it, and a run never makes its
model calls only to fail when scoring. Overrides get the same checks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lm_eval_so._internal.cli import main
from lm_eval_so._internal.common.config import PipelineConfig, config_from_text
from lm_eval_so._internal.common.errors import ConfigError
from lm_eval_so._internal.common.modules import add_pipeline_dir
from lm_eval_so._internal.evaluator.metrics import build_metric
from lm_eval_so._internal.evaluator.metrics.base import MetricContext

HEAD = "name: demo\ngenerator:\n  source: data.csv\nevaluator:\n  metrics:\n"
DATA = "id,input,expected\n1,a,A\n2,b,B\n3,c,C\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A pipeline folder whose modules are new to this process (sys.path and sys.modules restored)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    (tmp_path / "data.csv").write_text(DATA, encoding="utf-8")
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("lc_"):
            del sys.modules[name]


def load(metrics: str, folder: Path) -> PipelineConfig:
    return config_from_text(HEAD + metrics, folder / "pipeline.yaml", env={})


def sample_for(sample_id: str) -> object:
    from lm_eval_so._internal.common.records import DatasetSample, Message

    return DatasetSample(id=sample_id, input="q", expected="a", messages=[Message(role="user", content="q")])


def result_for(sample_id: str) -> object:
    from lm_eval_so._internal.common.records import RunResult

    return RunResult(sample_id=sample_id, output="a")


def error_of(metrics: str, folder: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(metrics, folder)
    return str(info.value)


SCORES = (
    "CONSTANT = 3\n\n"
    "def score(output, expected):\n    return output.lower() == expected.lower()\n\n"
    "def needs_answer(output, answer_key):\n    return 1.0\n\n"
    "def takes_everything(**kwargs):\n    return float(sorted(kwargs) == sorted(KNOWN))\n\n"
    "def positional_only(output, /):\n    return 1.0\n\n"
    "KNOWN = ['output', 'expected', 'input', 'sample', 'result', 'metadata']\n"
)


# --------------------------------------------------------------------------- python metric


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("lc_scores:scroe", "cannot import 'lc_scores:scroe': module 'lc_scores' has no 'scroe' "
         "(did you mean 'score'?)"),
        ("lc_missing:score", "cannot import 'lc_missing:score': ModuleNotFoundError: "
         "No module named 'lc_missing'"),
        ("lc_scores:CONSTANT", "'lc_scores:CONSTANT' is int 3, not a function"),
        ("lc_scores:needs_answer", "'lc_scores:needs_answer': unknown parameter 'answer_key' (no metric "
         "argument fills it); name its parameters from output, expected, input, sample, result, metadata"),
        ("lc_scores:positional_only",
         "'lc_scores:positional_only': the parameter 'output' is positional-only"),
        ("lc_broken:score", "cannot import 'lc_broken:score': RuntimeError: broken at import"),
        ("lc_syntax:score", "cannot import 'lc_syntax:score': SyntaxError: "),
        ("lc_exits:score", "cannot import 'lc_exits:score': SystemExit: 3"),
    ],
)  # fmt: skip
def test_a_python_metric_that_cannot_work_fails_at_load_with_its_line(
    project: Path, spec: str, problem: str
) -> None:
    (project / "lc_scores.py").write_text(SCORES, encoding="utf-8")
    (project / "lc_broken.py").write_text("raise RuntimeError('broken at import')\n", encoding="utf-8")
    (project / "lc_syntax.py").write_text("def score(output:\n    return 1\n", encoding="utf-8")
    (project / "lc_exits.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    message = error_of(f"    - type: python\n      function: {spec}\n", project)
    assert message.startswith(f"pipeline.yaml:7: evaluator.metrics[0].function: {problem}")


def test_a_python_metric_that_works_loads_and_scores(project: Path) -> None:
    (project / "lc_scores.py").write_text(SCORES, encoding="utf-8")
    config = load(
        "    - {type: python, name: a, function: 'lc_scores:score'}\n"
        "    - {type: python, name: b, function: 'lc_scores:takes_everything'}\n",
        project,
    )
    from lm_eval_so._internal.common.records import DatasetSample, Message, RunResult

    sample = DatasetSample(id="1", input="q", expected="A", messages=[Message(role="user", content="q")])
    context = MetricContext(base_dir=project)
    for metric in config.evaluator.metrics:
        scored = build_metric(metric, context).score(sample, RunResult(sample_id="1", output="a"))
        assert scored.score == 1.0


def test_the_pipeline_folder_is_appended_to_sys_path_never_prepended(project: Path) -> None:
    # A file that happens to share a real module's name must not shadow it.
    (project / "json.py").write_text("raise RuntimeError('the pipeline folder shadowed json')\n")
    (project / "lc_scores.py").write_text("import json\n\ndef score(output):\n    return 1.0\n")
    load("    - type: python\n      function: lc_scores:score\n", project)
    assert sys.path[-1] == str(project) and str(project) not in sys.path[:-1]
    assert sys.modules["json"].__file__ != str(project / "json.py")


def test_a_module_of_the_same_name_imported_for_another_pipeline_is_not_reused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("other_pipeline")
    (other / "lc_shared.py").write_text("def score(output):\n    return 0.0\n")
    (project / "lc_shared.py").write_text("def score(output):\n    return 1.0\n")
    add_pipeline_dir(other)
    import lc_shared  # type: ignore[import-not-found]  # another pipeline's, imported first

    assert lc_shared.score("x") == 0.0
    config = load("    - type: python\n      function: lc_shared:score\n", project)
    metric = build_metric(config.evaluator.metrics[0], MetricContext(base_dir=project))
    # This pipeline's own lc_shared.py answers, not the one another pipeline loaded first.
    assert metric.score(sample_for("x"), result_for("x")).score == 1.0  # type: ignore[arg-type]


def test_a_module_named_like_an_installed_package_is_refused(project: Path) -> None:
    (project / "yaml.py").write_text("def score(output):\n    return 1.0\n")
    message = error_of("    - type: python\n      function: yaml:score\n", project)
    assert message.startswith("pipeline.yaml:7: evaluator.metrics[0].function: cannot import 'yaml:score': ")
    assert "site-packages" in message and "next to pipeline.yaml" in message


# --------------------------------------------------------------------------- other metrics


def test_a_schema_file_is_read_and_checked_at_load(project: Path) -> None:
    metric = "    - type: json_schema\n      schema_file: {}\n"
    assert error_of(metric.format("missing.json"), project) == (
        f"pipeline.yaml:7: evaluator.metrics[0].schema_file: cannot read schema_file "
        f"{project / 'missing.json'}: no such file"
    )
    (project / "bad.json").write_text("{not json")
    assert "cannot read schema_file" in error_of(metric.format("bad.json"), project)
    (project / "invalid.json").write_text('{"type": 5}')
    assert error_of(metric.format("invalid.json"), project).startswith(
        f"pipeline.yaml:7: evaluator.metrics[0].schema_file: schema_file {project / 'invalid.json'}: "
        "invalid JSON Schema: "
    )
    (project / "list.json").write_text("[1]")
    assert "a JSON Schema is an object, not list" in error_of(metric.format("list.json"), project)
    (project / "good.json").write_text('{"type": "object"}')
    assert load(metric.format("good.json"), project).evaluator.metrics[0].type == "json_schema"


JUDGE = "    - type: llm_judge\n      rubric: r\n      judge: {backend: python, function: 'lc_judge:grade'}\n"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("      prompt: 'Grade {answer}'\n", "pipeline.yaml:9: evaluator.metrics[0].prompt: unknown "
         "placeholder {answer}; the prompt may use {rubric}, {input}, {expected}, {output}, {min_score} "
         "and {max_score}"),
        ("      prompt: 'Grade {output} }'\n", "pipeline.yaml:9: evaluator.metrics[0].prompt: not a valid "
         "template: Single '}' encountered in format string (write {{ and }} for literal braces)"),
        ("      prompt: 'Grade {0}'\n", "pipeline.yaml:9: evaluator.metrics[0].prompt: not a valid template"),
    ],
)  # fmt: skip
def test_the_judge_prompt_is_checked_at_load(project: Path, extra: str, problem: str) -> None:
    assert error_of(JUDGE + extra, project).startswith(problem)


def test_the_judge_backend_is_checked_at_load_like_the_runners(project: Path) -> None:
    text = "    - type: llm_judge\n      rubric: r\n      judge:\n        backend: nope\n"
    assert error_of(text, project).startswith(
        "pipeline.yaml:9: evaluator.metrics[0].judge.backend: unknown backend 'nope'"
    )


def test_an_unknown_bleu_tokenizer_is_refused_at_load(project: Path) -> None:
    pytest.importorskip("sacrebleu")
    message = error_of("    - type: bleu\n      tokenize: 14a\n", project)
    assert message.startswith(
        "pipeline.yaml:7: evaluator.metrics[0].tokenize: unknown tokenizer '14a'; sacrebleu has"
    )


def test_a_missing_extra_is_refused_at_load(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "rouge_score" else real(name, *a)
    )
    assert error_of("    - type: rouge\n", project) == (
        "pipeline.yaml:6: evaluator.metrics[0].type: metric 'rouge' needs the 'rouge_score' package: "
        "pip install 'lm-eval-so[metrics]'"
    )


def test_an_embedding_model_path_that_is_not_there_is_refused_at_load(project: Path) -> None:
    message = error_of("    - type: embedding_similarity\n      model_path: /no/such/model\n", project)
    assert "pipeline.yaml:7: evaluator.metrics[0].model_path: no model directory at /no/such/model" in message


def test_a_plugin_check_that_breaks_is_one_message(project: Path) -> None:
    from lm_eval_so._internal.common.registry import registry
    from lm_eval_so._internal.evaluator.metrics import Metric, MetricScore

    class Careless(Metric):
        name = "careless"

        @classmethod
        def check_at_load(cls, options, base_dir):  # type: ignore[no-untyped-def]
            raise KeyError("oops")

        def score(self, sample, result):  # type: ignore[no-untyped-def]
            return MetricScore(1.0, True)

    registry.register("metrics", "careless", Careless)
    try:
        message = error_of("    - type: careless\n", project)
    finally:
        registry.unregister("metrics", "careless")
    assert (
        message
        == "pipeline.yaml:6: evaluator.metrics[0]: the metric's load-time check failed: KeyError: 'oops'"
    )


# --------------------------------------------------------------------------- before any model call

APP = "CALLS = []\n\ndef answer(input):\n    CALLS.append(input)\n    {body}\n"
RUNNER = "runner:\n  backend: python\n  function: lc_app:answer\n"


def run(project: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-q", "run", str(project / "pipeline.yaml"), "--workspace-dir", str(project / "ws"), *argv])
    return code, capsys.readouterr().err


def calls(project: Path) -> int:
    module = sys.modules.get("lc_app")
    return len(module.CALLS) if module is not None else 0


@pytest.mark.parametrize("app_body", ["return input.upper()", "raise RuntimeError('every call fails')"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_metric_typo_stops_the_run_before_any_model_call(
    project: Path, capsys: pytest.CaptureFixture[str], app_body: str, dry_run: bool
) -> None:
    (project / "lc_app.py").write_text(APP.format(body=app_body), encoding="utf-8")
    (project / "lc_metrics.py").write_text("def score(output, expected):\n    return output == expected\n")
    (project / "pipeline.yaml").write_text(
        HEAD.replace("evaluator:\n  metrics:\n", RUNNER + "evaluator:\n  metrics:\n")
        + "    - type: python\n      function: lc_metrics:scroe\n",
        encoding="utf-8",
    )
    code, err = run(project, ["--dry-run"] if dry_run else [], capsys)
    assert code == 2
    assert err == (
        "lm-eval-so: error: pipeline.yaml:10: evaluator.metrics[0].function: cannot import "
        "'lc_metrics:scroe': module 'lc_metrics' has no 'scroe' (did you mean 'score'?)\n"
    )
    assert calls(project) == 0 and not (project / "ws").exists()


def test_an_override_threshold_is_refused_before_any_model_call(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "lc_app.py").write_text(APP.format(body="return input"), encoding="utf-8")
    (project / "pipeline.yaml").write_text(
        HEAD.replace("evaluator:\n  metrics:\n", RUNNER + "evaluator:\n  metrics:\n")
        + "    - type: exact_match\n"
    )
    code, err = run(project, ["--set", "evaluator.metrics.0.threshold=80"], capsys)
    assert (code, err) == (
        2,
        "lm-eval-so: error: override evaluator.metrics.0.threshold=80: evaluator.metrics[0].threshold.min: "
        "must be within the score range of exact_match, 0 to 1 (got 80); scores are fractions: "
        "did you mean 0.8?\n",
    )
    assert calls(project) == 0 and not (project / "ws").exists()
