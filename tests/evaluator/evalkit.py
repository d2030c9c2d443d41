"""Helpers for the evaluator tests: real run directories built from the record models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lm_eval_so._internal.common.config import PipelineConfig, config_from_text
from lm_eval_so._internal.common.records import DatasetSample, ErrorInfo, Message, RunManifest, RunResult
from lm_eval_so._internal.common.workspace import RunDir, atomic_write_json, write_jsonl

# A backend name that always resolves, so these tests do not depend on the runner layer.
STUB_BACKEND = "evaluator_test_stub"

PIPELINE = """\
name: eval_test
generator:
  source: data.csv
runner:
  backend: {backend}
  model: test-model
evaluator:
{evaluator}
"""


def pipeline_yaml(evaluator: str, backend: str = STUB_BACKEND) -> str:
    """A pipeline whose ``evaluator:`` block is ``evaluator`` (indented YAML lines)."""
    return PIPELINE.format(backend=backend, evaluator=evaluator.rstrip("\n"))


def load(evaluator: str, directory: Path, backend: str = STUB_BACKEND) -> PipelineConfig:
    return config_from_text(pipeline_yaml(evaluator, backend), directory / "pipeline.yaml")


def sample(id: str, input: str = "q", expected: str | list[str] | None = "a") -> DatasetSample:
    return DatasetSample(
        id=id, input=input, expected=expected, messages=[Message(role="user", content=input)]
    )


def ok(sample_id: str, output: str, **fields: Any) -> RunResult:
    fields.setdefault("latency_ms", 100.0)
    fields.setdefault("cost_usd", 0.001)
    return RunResult(sample_id=sample_id, output=output, model="test-model", **fields)


def failed(
    sample_id: str, kind: str = "Timeout", message: str = "the call failed", **fields: Any
) -> RunResult:
    error = ErrorInfo(type=kind, message=message)
    fields.setdefault("cost_usd", 0.0)
    fields.setdefault("latency_ms", 5000.0)
    return RunResult(sample_id=sample_id, error=error, **fields)


@dataclass
class Run:
    run: RunDir
    dataset: Path


def make_run(
    root: Path,
    samples: Sequence[DatasetSample],
    results: Sequence[RunResult],
    *,
    manifest: bool = True,
    config_text: str | None = None,
) -> Run:
    """Write the dataset and a run directory as the generator and runner would."""
    dataset = root / "datasets" / "test" / "dataset.jsonl"
    dataset.parent.mkdir(parents=True)
    write_jsonl(dataset, samples)
    run = RunDir(root / "runs" / "20240101T000000Z-eval_test-abcdef12")
    run.path.mkdir(parents=True)
    write_jsonl(run.results, results)
    if config_text is not None:
        run.config.write_text(config_text, encoding="utf-8")
    if manifest:
        atomic_write_json(run.manifest, _manifest(run, dataset, len(samples)))
    return Run(run, dataset)


def _manifest(run: RunDir, dataset: Path, n_samples: int) -> RunManifest:
    return RunManifest(
        run_id=run.run_id,
        pipeline="eval_test",
        config_hash="abcdef12" * 8,
        config={},
        dataset={
            "id": "test",
            "content_hash": "f" * 64,
            "path": str(dataset),
            "n_samples": n_samples,
        },
        backend=STUB_BACKEND,
        model="test-model",
        params={},
        seed=0,
        versions={"lm-eval-so": "0.1.0"},
    )
