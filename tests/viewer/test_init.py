"""``lm-eval-so init``: a starter that runs as written (python), loads for every backend, and
never overwrites anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_so._internal.common.config import load_config
from lm_eval_so._internal.common.errors import ConfigError
from lm_eval_so._internal.common.registry import registry
from lm_eval_so._internal.init_cli import BACKENDS
from lm_eval_so._internal.init_cli import main as init_main


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_", "LM_EVAL_SO_"))}
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_so", *args], cwd=folder, env=clean,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_python_starter_runs_offline_as_written(tmp_path: Path) -> None:
    made = cli(tmp_path, "init", "my-evals")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "my-evals"
    assert made.stdout.strip() == str(Path("my-evals") / "pipeline.yaml")
    assert sorted(p.name for p in folder.iterdir()) == ["app.py", "data.csv", "pipeline.yaml"]
    assert len((folder / "data.csv").read_text().splitlines()) == 6  # a header and five rows
    text = (folder / "pipeline.yaml").read_text()
    assert "name: my-evals" in text and "backend: python" in text and "function: app:answer" in text
    assert text.count("\n#") >= 5  # commented

    ran = cli(tmp_path, "run", "my-evals/pipeline.yaml")
    assert ran.returncode == 0, ran.stderr  # every gate held
    assert "exact_match  0.800" in ran.stderr and "my-evals: PASSED" in ran.stderr
    run = Path(ran.stdout.strip())
    assert run.parent == folder / "workspace" / "runs" and (run / "report.html").is_file()
    # The commands the starter's header suggests work from where it was made.
    listed = cli(tmp_path, "runs", "list", "--pipeline", "my-evals/pipeline.yaml")
    assert listed.returncode == 0 and run.name in listed.stdout and "passed" in listed.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.csv").write_text("mine\n")
    assert init_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'data.csv'}: already exists; init never overwrites" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]
    assert (tmp_path / "data.csv").read_text() == "mine\n"
    assert init_main([str(tmp_path / "new"), "--name", "bad name!"]) == 2
    assert "--name 'bad name!'" in capsys.readouterr().err


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_starter_is_a_valid_pipeline(backend: str, tmp_path: Path) -> None:
    assert init_main([str(tmp_path), "--backend", backend, "--name", f"start_{backend}"]) == 0
    text = (tmp_path / "pipeline.yaml").read_text()
    assert f"backend: {backend}" in text
    assert (tmp_path / "app.py").exists() == (backend == "python")
    if backend not in registry.names("backends"):
        pytest.skip(f"the {backend} backend is not installed here; its starter cannot be loaded")
    try:
        config = load_config(tmp_path / "pipeline.yaml")
    except ConfigError as exc:
        if "pip install" in str(exc) or "extra" in str(exc):
            pytest.skip(f"the {backend} backend's extra is not installed: {exc}")
        raise
    assert config.name == f"start_{backend}" and config.runner.backend == backend
    assert [m.type for m in config.evaluator.metrics] == ["exact_match"]
