"""pipeline.yaml loading: validation, line-accurate messages, interpolation, paths, hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lm_eval_so._internal.common.config import PipelineConfig, config_from_text, load_config
from lm_eval_so._internal.common.errors import ConfigError

SEED_YAML = Path(__file__).parents[2] / "example" / "seed" / "pipeline.yaml"

MINIMAL = """\
name: demo
generator:
  source: data.csv
"""


def load(text: str, tmp_path: Path, env: dict[str, str] | None = None) -> PipelineConfig:
    return config_from_text(text, tmp_path / "pipeline.yaml", env=env or {})


def error_of(text: str, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(text, tmp_path, env)
    return str(info.value)


def test_seed_yaml_from_design_validates_unchanged() -> None:
    config = load_config(SEED_YAML)
    assert config.name == "v1_release_eval"
    assert config.runner.backend == "openai"
    assert config.runner.model == "gpt-4"
    assert config.runner.params.temperature == 0.7
    assert [m.type for m in config.evaluator.metrics] == ["exact_match"]
    # Paths are relative to the YAML file, kept absolute.
    assert config.generator.source == SEED_YAML.parent / "data" / "raw.csv"
    assert config.workspace == SEED_YAML.parent / "workspace"


def test_defaults_fill_the_rest(tmp_path: Path) -> None:
    config = load(MINIMAL, tmp_path)
    assert config.runner.backend == "openai"
    assert config.runner.api_key_env == "OPENAI_API_KEY"
    assert [m.key for m in config.evaluator.metrics] == ["exact_match"]
    assert config.evaluator.report.formats == ["html", "json"]
    assert config.generator.resolved_dataset_id == "data"


def test_out_of_range_value_names_file_line_and_field(tmp_path: Path) -> None:
    text = MINIMAL + "runner:\n  params:\n    temperature: 7\n"
    assert error_of(text, tmp_path) == ("pipeline.yaml:6: runner.params.temperature: must be <= 2.0 (got 7)")


def test_unknown_key_gets_did_you_mean(tmp_path: Path) -> None:
    text = MINIMAL + "runner:\n  concurency: 4\n"
    message = error_of(text, tmp_path)
    assert (
        message
        == "pipeline.yaml:5: runner.concurency: unknown key 'concurency' (did you mean 'concurrency'?)"
    )


def test_unknown_key_without_close_match_lists_allowed(tmp_path: Path) -> None:
    message = error_of(MINIMAL + "zzz: 1\n", tmp_path)
    assert "pipeline.yaml:4: zzz: unknown key 'zzz'" in message
    assert "allowed keys:" in message and "generator" in message


def test_wrong_type_and_missing_field(tmp_path: Path) -> None:
    message = error_of("name: demo\nrunner:\n  concurrency: lots\n", tmp_path)
    assert "pipeline.yaml:3: runner.concurrency: input should be a valid integer" in message
    assert "(got 'lots')" in message
    assert "generator: required field is missing" in message


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = MINIMAL + "runner:\n  timeout_s: -1\n  max_retries: 99\n"
    lines = error_of(text, tmp_path).splitlines()
    assert lines == [
        "pipeline.yaml:5: runner.timeout_s: must be > 0.0 (got -1)",
        "pipeline.yaml:6: runner.max_retries: must be <= 20 (got 99)",
    ]


def test_error_inside_a_list_item(tmp_path: Path) -> None:
    text = MINIMAL + "evaluator:\n  metrics:\n    - type: exact_match\n      threshold: {min: 2, max: 1}\n"
    message = error_of(text, tmp_path)
    assert message.startswith("pipeline.yaml:7: evaluator.metrics[0].threshold:")
    assert "greater than max" in message


def test_unknown_metric_lists_installed(tmp_path: Path) -> None:
    text = MINIMAL + "evaluator:\n  metrics:\n    - type: exact_matsh\n"
    message = error_of(text, tmp_path)
    assert message.startswith("pipeline.yaml:6: evaluator.metrics[0].type: unknown metric 'exact_matsh'")
    assert "installed:" in message and "exact_match" in message


def test_bad_yaml_syntax_names_line(tmp_path: Path) -> None:
    message = error_of("name: demo\ngenerator:\n  source: [unclosed\n", tmp_path)
    assert message.startswith("pipeline.yaml:")
    assert "invalid YAML" in message


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    message = error_of(MINIMAL + "name: other\n", tmp_path)
    assert message == "pipeline.yaml:4: name: duplicate key (first defined on line 1)"


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "must be a mapping" in error_of("- just\n- a list\n", tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_interpolation_with_default_and_escape(tmp_path: Path) -> None:
    text = (
        "name: demo\ngenerator:\n  source: ${DATA_DIR:-data}/q.csv\n"
        "runner:\n  model: ${MODEL}\n  base_url: ${BASE:-}\n"
        "description: costs $${DOLLARS}\n"
    )
    config = load(text, tmp_path, env={"MODEL": "gpt-4o-mini"})
    assert config.runner.model == "gpt-4o-mini"
    assert config.generator.source == tmp_path / "data" / "q.csv"
    assert config.runner.base_url is None  # empty means "the SDK default"
    assert config.description == "costs ${DOLLARS}"


def test_unset_variable_names_line_and_variable(tmp_path: Path) -> None:
    message = error_of("name: demo\ngenerator:\n  source: data.csv\nrunner:\n  model: ${MODEL}\n", tmp_path)
    assert message.startswith("pipeline.yaml:5: runner.model: environment variable MODEL is not set")


def test_secret_looking_variables_are_remembered_for_redaction(tmp_path: Path) -> None:
    text = MINIMAL + "runner:\n  params:\n    extra_body: {token: '${MY_TOKEN}'}\n  model: ${MODEL}\n"
    config = load(text, tmp_path, env={"MY_TOKEN": "tok-1234567890", "MODEL": "gpt-4o"})
    assert config.secrets == frozenset({"tok-1234567890"})  # MODEL is not a secret name


def test_shorthands(tmp_path: Path) -> None:
    text = MINIMAL + (
        "runner:\n  params: {stop: END}\n"
        "evaluator:\n  metrics:\n    - {type: exact_match, threshold: 0.8}\n"
        "  limits: {error_rate: 0, cost_usd: 1.5}\n"
    )
    config = load(text, tmp_path)
    assert config.runner.params.stop == ["END"]
    threshold = config.evaluator.metrics[0].threshold
    assert threshold is not None and threshold.min == 0.8 and threshold.max is None
    assert [(n, lim.max) for n, lim in config.evaluator.limits.items()] == [
        ("error_rate", 0),
        ("cost_usd", 1.5),
    ]


def test_config_hash_ignores_workspace_but_not_the_experiment(tmp_path: Path) -> None:
    a = load(MINIMAL + "workspace: ws1\n", tmp_path)
    b = load(MINIMAL + "workspace: ws2\n", tmp_path)
    c = load(MINIMAL + "runner: {params: {temperature: 0.5}}\n", tmp_path)
    assert a.config_hash() == b.config_hash()
    assert a.config_hash() != c.config_hash()


def test_overrides_are_revalidated(tmp_path: Path) -> None:
    config = load(MINIMAL, tmp_path)
    changed = config.with_overrides(**{"runner.model": "candidate", "generator.limit": 3})
    assert changed.runner.model == "candidate" and changed.generator.limit == 3
    assert changed.path == config.path
    with pytest.raises(ConfigError, match=r"override runner.concurrency=0: runner.concurrency: must be >= 1"):
        config.with_overrides(**{"runner.concurrency": 0})
