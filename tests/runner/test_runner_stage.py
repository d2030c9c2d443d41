"""The runner stage: run directory, manifest, redaction, and checking before writing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from runner_helpers import KEY, openai_config, samples, write_dataset

from fake_openai.server import ServerThread
from lm_eval_so._internal.common.errors import ArtifactError, BackendError
from lm_eval_so._internal.common.records import RunManifest, RunResult
from lm_eval_so._internal.common.workspace import Workspace, iter_jsonl, read_model
from lm_eval_so._internal.runner import RunOutcome, run_stage


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def stage(config, dataset: Path, tmp_path: Path, **kwargs) -> RunOutcome:  # type: ignore[no-untyped-def]
    return asyncio.run(run_stage(config, dataset, Workspace(tmp_path / "ws"), **kwargs))


def test_a_run_directory_with_config_manifest_and_results(fake_openai: ServerThread, tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path, samples(4))
    config = openai_config(tmp_path, fake_openai.base_url, params={"temperature": 0.2})

    outcome = stage(config, dataset, tmp_path)

    run = outcome.run
    assert run.path.parent == tmp_path / "ws" / "runs"
    assert run.run_id.endswith(f"-runner_test-{config.config_hash()[:8]}")
    results = list(iter_jsonl(run.results, RunResult))
    assert len(results) == 4 == outcome.stats.n_requests
    assert yaml.safe_load(run.config.read_text())["runner"]["model"] == "gpt-4o-mini"

    manifest = read_model(run.manifest, RunManifest)
    assert manifest.status == "unscored"  # the runner stage alone: results in, not scored yet
    assert manifest.run_id == run.run_id and manifest.pipeline == "runner_test"
    assert manifest.config_hash == config.config_hash()
    assert manifest.dataset["id"] == "runner_ds" and manifest.dataset["n_samples"] == 4
    assert manifest.dataset["path"] == str(dataset)
    assert (manifest.backend, manifest.model, manifest.params) == (
        "openai",
        "gpt-4o-mini",
        {"temperature": 0.2},
    )
    assert manifest.seed == 0
    assert manifest.counts == {"requests": 4, "errors": 0, "cache_hits": 0, "cache_misses": 4, "resumed": 0}
    assert "openai" in manifest.versions and "python" in manifest.versions
    assert manifest.plugins["backend:openai"].startswith("lm-eval-so ")
    timing = manifest.timings["run"]
    assert timing.finished_at is not None and timing.seconds is not None and timing.seconds >= 0


def test_the_key_is_in_no_artifact_even_when_the_server_echoes_it(
    fake_openai: ServerThread, tmp_path: Path
) -> None:
    fake_openai.configure(required_key="the-right-key-0000000000", echo_key_in_errors=True)
    dataset = write_dataset(tmp_path, samples(3))
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=0)

    outcome = stage(config, dataset, tmp_path)

    assert outcome.stats.n_errors == 3
    for path in outcome.run.path.iterdir():
        assert KEY not in path.read_text(), path.name
    manifest = json.loads(outcome.run.manifest.read_text())
    assert manifest["counts"] == {
        "requests": 3,
        "errors": 3,
        "cache_hits": 0,
        "cache_misses": 3,
        "resumed": 0,
    }


@pytest.mark.parametrize("variable", ["OPENAI_API_KEY", "MY_GATEWAY_CREDS"])
def test_a_key_with_quotes_and_backslashes_is_in_no_artifact_in_any_escaping(
    fake_openai: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # The server's 401 echoes the key; error messages quote the reply with repr(), which
    # escapes ' and \ : the escaped key slipped past a redactor that only knew it as written.
    key = "sk-\"odd\\key'-7c1f3a9e5b2d"
    monkeypatch.setenv(variable, key)
    fake_openai.configure(required_key="the-right-key-0000000000", echo_key_in_errors=True)
    dataset = write_dataset(tmp_path, samples(2))
    config = openai_config(tmp_path, fake_openai.base_url, max_retries=0, api_key_env=variable)

    outcome = stage(config, dataset, tmp_path)

    assert outcome.stats.n_errors == 2
    errors = [json.loads(line)["error"]["message"] for line in outcome.run.results.read_text().splitlines()]
    assert all("***" in message for message in errors), errors
    for path in outcome.run.path.iterdir():
        assert "7c1f3a9e5b2d" not in path.read_text(), path.name


def test_a_missing_key_creates_no_run_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    dataset = write_dataset(tmp_path, samples(2))

    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        stage(openai_config(tmp_path, "http://127.0.0.1:9/v1"), dataset, tmp_path)
    assert not (tmp_path / "ws" / "runs").exists()


def test_a_dataset_without_manifest_is_hashed_here(fake_openai: ServerThread, tmp_path: Path) -> None:
    folder = tmp_path / "handmade"
    folder.mkdir()
    dataset = write_dataset(folder, samples(2))
    (folder / "manifest.json").unlink()

    outcome = stage(openai_config(tmp_path, fake_openai.base_url), folder, tmp_path)

    manifest = read_model(outcome.run.manifest, RunManifest)
    assert manifest.dataset["id"] == "handmade" and manifest.dataset["n_samples"] == 2
    assert len(manifest.dataset["content_hash"]) == 64
    assert manifest.dataset["path"] == str(dataset)


def test_a_corrupt_dataset_marks_the_run_failed(fake_openai: ServerThread, tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path, samples(2))
    with dataset.open("a") as handle:
        handle.write('{"id": "broken"}\n')

    with pytest.raises(ArtifactError, match=r"dataset\.jsonl:3"):
        stage(openai_config(tmp_path, fake_openai.base_url), dataset, tmp_path)

    [run_dir] = (tmp_path / "ws" / "runs").iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "failed"


def test_a_missing_dataset_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        stage(openai_config(tmp_path, "http://127.0.0.1:9/v1"), tmp_path / "nope.jsonl", tmp_path)
    assert not (tmp_path / "ws").exists()
