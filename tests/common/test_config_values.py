"""Numbers and names in pipeline.yaml that used to pass validation and break the run later.

Infinity, NaN, astronomically large or negative values where they make no sense, a blank
prompt template, variable names that cannot be variables, a workspace that is a file: each is
a ConfigError naming file, line and field when the pipeline loads -- before any dataset, run
directory or model call. Overrides get the same checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_eval_so._internal.common.config import PipelineConfig, config_from_text, load_config
from lm_eval_so._internal.common.errors import ArtifactError, ConfigError
from lm_eval_so._internal.common.workspace import Workspace

MINIMAL = "name: demo\ngenerator:\n  source: data.csv\n"


def load(text: str, tmp_path: Path) -> PipelineConfig:
    return config_from_text(text, tmp_path / "pipeline.yaml", env={})


def error_of(text: str, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(text, tmp_path)
    return str(info.value)


FINITE = "input should be a finite number"

# (YAML under the minimal pipeline, the message) -- every float where infinity makes no sense.
NOT_FINITE = [
    ("runner:\n  timeout_s: .inf\n", f"pipeline.yaml:5: runner.timeout_s: {FINITE}"),
    ("runner:\n  timeout_s: .nan\n", f"pipeline.yaml:5: runner.timeout_s: {FINITE}"),
    ("runner:\n  max_cost_usd: .inf\n", f"pipeline.yaml:5: runner.max_cost_usd: {FINITE}"),
    ("runner:\n  rate_limit: {rpm: .inf}\n", f"pipeline.yaml:5: runner.rate_limit.rpm: {FINITE}"),
    ("runner:\n  rate_limit: {tpm: .nan}\n", f"pipeline.yaml:5: runner.rate_limit.tpm: {FINITE}"),
    (
        "runner:\n  pricing: {prompt_per_1m: .inf, completion_per_1m: 1}\n",
        f"pipeline.yaml:5: runner.pricing.prompt_per_1m: {FINITE}",
    ),
    (
        "runner:\n  pricing:\n    prompt_per_1m: 1\n    completion_per_1m: .nan\n",
        f"pipeline.yaml:7: runner.pricing.completion_per_1m: {FINITE}",
    ),
    ("runner:\n  params:\n    temperature: .nan\n", f"pipeline.yaml:6: runner.params.temperature: {FINITE}"),
    ("runner:\n  params:\n    top_p: .nan\n", f"pipeline.yaml:6: runner.params.top_p: {FINITE}"),
    ("runner:\n  params:\n    presence_penalty: .nan\n",
     f"pipeline.yaml:6: runner.params.presence_penalty: {FINITE}"),
    ("runner:\n  params:\n    frequency_penalty: -.inf\n",
     f"pipeline.yaml:6: runner.params.frequency_penalty: {FINITE}"),
    # Settings without a schema of their own are sent or handed on as they are: finite too.
    ("runner:\n  params:\n    extra_body: {top_k: .nan}\n",
     "pipeline.yaml:6: runner.params.extra_body.top_k: must be a finite number (got nan)"),
    ("runner:\n  options:\n    scale: [1, .inf]\n",
     "pipeline.yaml:6: runner.options.scale[1]: must be a finite number"),
    ("evaluator:\n  metrics:\n    - type: my_plugin_metric\n      weight: .inf\n",
     "pipeline.yaml:7: evaluator.metrics[0].weight: must be a finite number (got inf)"),
]  # fmt: skip


@pytest.mark.parametrize(("yaml_text", "message"), NOT_FINITE)
def test_infinity_and_nan_are_refused_where_they_make_no_sense(
    tmp_path: Path, yaml_text: str, message: str, metric_plugin: None
) -> None:
    assert error_of(MINIMAL + yaml_text, tmp_path).startswith(message)


@pytest.fixture
def metric_plugin() -> object:
    """A plugin metric that takes any option (``extra='allow'``), as some third-party ones do."""
    from pydantic import BaseModel, ConfigDict

    from lm_eval_so._internal.common.registry import registry
    from lm_eval_so._internal.evaluator.metrics import Metric, MetricScore

    class AnyOptions(BaseModel):
        model_config = ConfigDict(extra="allow")

    class MyPluginMetric(Metric):
        name = "my_plugin_metric"
        Options = AnyOptions

        def score(self, sample, result):  # type: ignore[no-untyped-def]
            return MetricScore(1.0, True)

    registry.register("metrics", "my_plugin_metric", MyPluginMetric)
    yield None
    registry.unregister("metrics", "my_plugin_metric")


# (YAML, message): numbers that are finite but no setting can mean (and some crashed the run).
TOO_BIG = [
    ("generator:\n  source: data.csv\n  limit: 1.0e+30\n",
     "pipeline.yaml:4: generator.limit: is far too large"),
    ("generator:\n  source: data.csv\n  limit: 1.0e+15\n",
     "pipeline.yaml:4: generator.limit: must be <= 10000"),
    ("generator:\n  source: data.csv\n  limit: 10000000000000\n",
     "pipeline.yaml:4: generator.limit: must be <="),
    ("generator:\n  source: data.csv\n  seed: -1\n",
     "pipeline.yaml:4: generator.seed: must be >= 0 (got -1)"),
    ("seed: -1\n", "pipeline.yaml:4: seed: must be >= 0 (got -1)"),
    ("seed: 100000000000000000000\n", "pipeline.yaml:4: seed: must be <= 9223372036854775807"),
    ("runner:\n  timeout_s: 1.0e+308\n",
     "pipeline.yaml:5: runner.timeout_s: must be <= 86400.0 (got 1e+308)"),
    ("runner:\n  params:\n    max_tokens: 1.0e+12\n",
     "pipeline.yaml:6: runner.params.max_tokens: must be <="),
    ("runner:\n  params:\n    seed: 1.0e+20\n", "pipeline.yaml:6: runner.params.seed: is far too large"),
]  # fmt: skip


@pytest.mark.parametrize(("yaml_text", "message"), TOO_BIG)
def test_numbers_no_setting_can_mean_are_refused(tmp_path: Path, yaml_text: str, message: str) -> None:
    text = "name: demo\n" + yaml_text if yaml_text.startswith("generator") else MINIMAL + yaml_text
    assert error_of(text, tmp_path).startswith(message)


def test_big_but_sensible_numbers_load(tmp_path: Path) -> None:
    config = load(
        MINIMAL.replace("data.csv", "data.csv\n  limit: 1000000\n  seed: 9223372036854775807")
        + "seed: 42\nrunner:\n  timeout_s: 3600\n  max_cost_usd: 1e6\n  params:\n"
        "    max_tokens: 100000\n    seed: -1\n  rate_limit: {rpm: 600000}\n",
        tmp_path,
    )
    assert config.generator.limit == 1_000_000 and config.runner.params.seed == -1


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("requires_env: [NOT A NAME]\n", "pipeline.yaml:4: requires_env[0]: 'NOT A NAME' may only use"),
        ("requires_env: ['']\n", "pipeline.yaml:4: requires_env[0]:"),
        ("requires_env: [1BAD]\n", "pipeline.yaml:4: requires_env[0]:"),
    ],
)
def test_required_variables_must_be_variable_names(tmp_path: Path, yaml_text: str, message: str) -> None:
    assert error_of(MINIMAL + yaml_text, tmp_path).startswith(message)


@pytest.mark.parametrize("template", ["''", "'   '", "'\\t\\n'"])
def test_a_blank_prompt_template_is_refused(tmp_path: Path, template: str) -> None:
    text = MINIMAL + f"  prompt:\n    template: {template.replace(chr(39), chr(34))}\n"
    assert error_of(text, tmp_path) == (
        "pipeline.yaml:5: generator.prompt.template: the template is blank: every prompt would be "
        "empty; write {input} at least"
    )


def test_two_metrics_of_one_name_point_at_the_metrics_list(tmp_path: Path) -> None:
    text = MINIMAL + "evaluator:\n  metrics:\n    - type: exact_match\n    - type: exact_match\n"
    assert error_of(text, tmp_path) == (
        "pipeline.yaml:5: evaluator.metrics: [0] and [1] are both called 'exact_match'; give one a `name`"
    )


def test_an_unknown_key_with_a_dash_is_located(tmp_path: Path) -> None:
    # pydantic's own pseudo-locations contain dashes ("function-after[...]"); a key is a key.
    message = error_of(MINIMAL + "runner:\n  params:\n    max-tokens: 5\n", tmp_path)
    assert message.startswith("pipeline.yaml:6: runner.params.max-tokens: unknown key 'max-tokens'")


def test_text_that_is_not_text_in_an_override(tmp_path: Path) -> None:
    config = load(MINIMAL, tmp_path)
    with pytest.raises(
        ConfigError, match=r"^override workspace=.*: workspace: the value holds a NUL character"
    ):
        config.with_overrides(workspace="a\0b")


# --------------------------------------------------------------------------- workspace


def test_a_workspace_that_is_a_file_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "ws").write_text("not a folder")
    message = error_of(MINIMAL + "workspace: ws\n", tmp_path)
    assert message == f"pipeline.yaml:4: workspace: {tmp_path / 'ws'} is a file, not a directory"


def test_a_workspace_under_a_file_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "ws").write_text("not a folder")
    message = error_of(MINIMAL + "workspace: ws/inner/deeper\n", tmp_path)
    assert message == (
        f"pipeline.yaml:4: workspace: {tmp_path / 'ws' / 'inner' / 'deeper'} ({tmp_path / 'ws'} on its way) "
        "is a file, not a directory"
    )


def test_a_workspace_that_does_not_exist_yet_is_fine(tmp_path: Path) -> None:
    assert load(MINIMAL + "workspace: a/b/c\n", tmp_path).workspace == tmp_path / "a" / "b" / "c"


def test_a_workspace_object_on_a_file_is_an_artifact_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArtifactError, match="the workspace is a file, not a directory"):
        Workspace(tmp_path / "file")


def test_a_run_directory_that_cannot_be_created_is_an_artifact_error(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "runs").write_text("a file where the runs folder goes")
    with pytest.raises(ArtifactError, match="cannot create a run directory in the workspace"):
        workspace.new_run("demo", "abcdef0123")


# --------------------------------------------------------------------------- overrides


@pytest.fixture
def config(tmp_path: Path) -> PipelineConfig:
    return load(MINIMAL + "evaluator:\n  metrics:\n    - type: exact_match\n", tmp_path)


def test_an_override_indexes_lists_by_number(config: PipelineConfig) -> None:
    changed = config.with_overrides(**{"evaluator.metrics.0.threshold": 0.5})
    assert changed.evaluator.metrics[0].threshold is not None
    assert changed.evaluator.metrics[0].threshold.min == 0.5


def test_an_override_of_a_default_list_copies_it_first(tmp_path: Path) -> None:
    changed = load(MINIMAL, tmp_path).with_overrides(**{"evaluator.metrics.0.name": "em"})
    assert [m.key for m in changed.evaluator.metrics] == ["em"]


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        ("evaluator.metrics.0.threshold", 80, "override evaluator.metrics.0.threshold=80: "
         "evaluator.metrics[0].threshold.min: must be within the score range of exact_match, 0 to 1 "
         "(got 80); scores are fractions: did you mean 0.8?"),
        ("evaluator.metrics.0.type", "exact_matsh", "override evaluator.metrics.0.type='exact_matsh': "
         "evaluator.metrics[0].type: unknown metric 'exact_matsh'"),
        ("evaluator.metrics.3.threshold", 0.5, "override evaluator.metrics.3.threshold=0.5: "
         "evaluator.metrics.3.threshold: evaluator.metrics is a list of 1; index it with 0 to 0 (got '3')"),
        ("evaluator.metrics.x", 1, "override evaluator.metrics.x=1: evaluator.metrics.x: "
         "evaluator.metrics is a list of 1; index it with 0 to 0 (got 'x')"),
        ("name.x", 1, "override name.x=1: name.x: name is a str ('demo'), it has no 'x'"),
        ("runner.timeout_s", float("inf"), f"override runner.timeout_s=inf: runner.timeout_s: {FINITE}"),
        ("generator.limit", 1e30, "override generator.limit=1e+30: generator.limit: is far too large"),
        ("runner.backend", "nope", "override runner.backend='nope': runner.backend: unknown backend 'nope'"),
        ("runner.params.extra_body", {"k": float("nan")},
         "override runner.params.extra_body={'k': nan}: runner.params.extra_body.k: must be a finite number"),
    ],
)  # fmt: skip
def test_an_override_gets_every_check_loading_gives(
    config: PipelineConfig, dotted: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config.with_overrides(**{dotted: value})
    assert str(info.value).startswith(message)


def test_load_config_of_a_mapping_gets_the_checks_too(tmp_path: Path) -> None:
    data = {"name": "demo", "generator": {"source": "d.csv"}, "runner": {"options": {"k": float("inf")}}}
    with pytest.raises(ConfigError, match=r"^<config>: runner\.options\.k: must be a finite number"):
        load_config(data)
