"""Matrix pipelines: cells expanded from one pipeline.yaml, run once each, compared honestly.

The example: three python apps over 400 samples. ``reference`` is right on 75%; ``variant``
differs from it on 60 samples (15%), 30 gained and 30 lost, so it is no better and no worse;
``worse`` is right on 50%. The experiment must flag ``worse`` (after Holm correction), not flag
``variant``, name no best cell, and call every app exactly once per sample.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_so._internal.common.errors import ConfigError
from lm_eval_so._internal.common.matrix import Experiment, load_pipeline

N = 400
APPS = """
import os


def _log(name, input):
    with open(os.environ["CALLS_DIR"] + "/" + name, "a") as handle:
        handle.write(input + "\\n")


def reference(input):
    _log("reference", input)
    n = int(input)
    return str(n * 2) if n % 4 else "wrong"


def variant(input):
    _log("variant", input)
    n = int(input)
    if n % 4 == 0 and n < 120:   # 30 of the reference's misses, answered
        return str(n * 2)
    if n % 4 == 1 and n < 120:   # 30 of its hits, missed
        return "wrong"
    return str(n * 2) if n % 4 else "wrong"


def worse(input):
    _log("worse", input)
    n = int(input)
    return str(n * 2) if n % 2 else "wrong"
"""
VARIANTS = """\
matrix:
  - {name: reference}
  - {name: variant, runner: {function: "apps:variant"}}
  - {name: worse, runner: {function: "apps:worse"}}
experiment: {gate: no_cell_worse_than_baseline}
"""


def write_experiment(folder: Path, matrix: str = VARIANTS) -> Path:
    (folder / "calls").mkdir(exist_ok=True)
    (folder / "apps.py").write_text(APPS)
    rows = "".join(f"q{i:03d},{i},{i * 2}\n" for i in range(N))
    (folder / "data.csv").write_text("id,input,expected\n" + rows)
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: apps\nworkspace: ws\ngenerator: {source: data.csv}\n"
        'runner: {backend: python, function: "apps:reference", concurrency: 4}\n'
        "evaluator:\n  metrics:\n    - type: exact_match\n      threshold: 0.4\n" + matrix
    )
    return path


def env_for(folder: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_", "LM_EVAL_SO_"))}
    return {**clean, "CALLS_DIR": str(folder / "calls")}


def calls(folder: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in (folder / "calls").iterdir()}


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lm_eval_so", *args]
    return subprocess.run(
        command, cwd=folder, env=env_for(folder), capture_output=True, text=True, timeout=300
    )


# --------------------------------------------------------------------------- syntax


def test_a_cartesian_matrix_expands_into_named_cells(tmp_path: Path) -> None:
    path = write_experiment(
        tmp_path,
        "matrix:\n  runner.params.temperature: [0, 0.5]\n"
        "  runner.function: ['apps:reference', 'apps:worse']\nbaseline: 0.5_function1\n",
    )
    experiment = load_pipeline(path)
    assert isinstance(experiment, Experiment)
    assert list(experiment.cells) == ["0_function1", "0_function2", "0.5_function1", "0.5_function2"]
    assert experiment.baseline == "0.5_function1"
    cell = experiment.cells["0.5_function2"]
    assert (cell.name, cell.runner.params.temperature, cell.runner.function) == (
        "apps.0.5_function2",
        0.5,
        "apps:worse",
    )


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ("matrix:\n  runner.modle: [a, b]\n", "pipeline.yaml:10: runner.modle: unknown key 'modle'"),
        (
            "matrix:\n  runner.params.temperature: [0, 9]\n",
            "pipeline.yaml:10: runner.params.temperature: must be <= 2",
        ),
        (
            "matrix:\n  runner.model: gpt-4o\n",
            "pipeline.yaml:10: matrix.runner.model: must be a non-empty list",
        ),
        ("matrix:\n  name: [a, b]\n", "pipeline.yaml:10: matrix.name: 'name' cannot vary between cells"),
        ("matrix:\n  - {name: a}\n  - {name: a}\n", "pipeline.yaml:9: matrix: two variants are named 'a'"),
        (
            "matrix:\n  - {name: a, runner: {concurrency: 0}}\n",
            "pipeline.yaml:10: runner.concurrency: must be >= 1",
        ),
        (
            "matrix: [{name: a}]\nbaseline: b\n",
            "pipeline.yaml:10: baseline: 'b' is not a cell; the cells are a",
        ),
        ("matrix: [{name: a}]\nexperiment: {gate: always}\n", "pipeline.yaml:10: experiment.gate"),
    ],
)
def test_a_bad_matrix_is_one_located_message(tmp_path: Path, matrix: str, message: str) -> None:
    path = write_experiment(tmp_path, matrix)
    with pytest.raises(ConfigError) as caught:
        load_pipeline(path)
    assert message in str(caught.value)
    proc = cli(tmp_path, "run", str(path))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- the CLI


def test_the_experiment_flags_the_worse_cell_only_and_names_no_best(tmp_path: Path) -> None:
    path = write_experiment(tmp_path)
    dry = cli(tmp_path, "run", str(path), "--dry-run")
    assert (
        dry.returncode == 0
        and "3 cells, 1200 requests" in dry.stdout
        and not (tmp_path / "calls" / "reference").exists()
    )

    proc = cli(tmp_path, "run", str(path))
    assert proc.returncode == 1, proc.stderr  # the experiment gate fails: `worse` is worse
    assert calls(tmp_path) == {"reference": N, "variant": N, "worse": N}  # each call made once
    directory = Path(proc.stdout.strip())
    report = json.loads((directory / "report.json").read_text())
    assert report["worse"] == ["worse"] and report["best"] is None
    variant = report["grid"]["variant"]["exact_match"]
    assert variant["verdict"] == "no significant difference" and variant["delta"] == 0.0
    assert variant["p_adjusted"] == 1.0
    worse = report["grid"]["worse"]["exact_match"]
    assert worse["verdict"] == "worse" and worse["p_adjusted"] < 0.05
    assert report["gate"]["passed"] is False
    markdown = (directory / "report.md").read_text()
    assert "Best cell: none. The data cannot separate the cells" in markdown
    assert "Holm" in markdown and "▼" in markdown and "▲" not in markdown.split("|---|")[1]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert set(manifest["cells"]) == {"reference", "variant", "worse"}
    assert all(Path(cell["run_dir"]).is_dir() for cell in manifest["cells"].values())


def test_one_cell_runs_alone(tmp_path: Path) -> None:
    path = write_experiment(tmp_path)
    proc = cli(tmp_path, "run", str(path), "--cell", "variant")
    assert proc.returncode == 0, proc.stderr
    assert calls(tmp_path) == {"variant": N}
    run_dir = Path(proc.stdout.strip())
    assert run_dir.parent.name == "runs" and "-apps.variant-" in run_dir.name
    unknown = cli(tmp_path, "run", str(path), "--cell", "nope")
    assert (
        unknown.returncode == 2
        and "no cell 'nope'; the cells are reference, variant, worse" in unknown.stderr
    )


# --------------------------------------------------------------------------- pytest


def test_under_pytest_each_cell_is_a_parametrised_node_run_once_across_workers(tmp_path: Path) -> None:
    write_experiment(tmp_path)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-rA", "pipeline.yaml"]
    proc = subprocess.run(
        command, cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=300
    )
    out = proc.stdout
    for cell in ("reference", "variant", "worse"):
        assert f"pipeline.yaml::apps[{cell}]::exact_match>=0.4" in out, out
    assert "PASSED pipeline.yaml::apps::no_cell_worse_than_baseline" not in out
    assert "FAILED pipeline.yaml::apps::no_cell_worse_than_baseline" in out
    assert "significantly worse than reference (Holm-corrected): worse" in out
    assert proc.returncode == 1
    assert calls(tmp_path) == {"reference": N, "variant": N, "worse": N}  # once each, two workers
    selected = subprocess.run(
        [*command, "-k", "variant"], cwd=tmp_path, env=env_for(tmp_path),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "1 passed" in selected.stdout and "apps[variant]" in selected.stdout


# --------------------------------------------------------------------------- the report in a browser


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"
)
def test_the_experiment_report_renders_in_chromium(tmp_path: Path) -> None:
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="pip install -e '.[dev]' brings playwright"
    )
    path = write_experiment(tmp_path)
    directory = Path(cli(tmp_path, "run", str(path)).stdout.strip())
    errors: list[str] = []
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((directory / "report.html").as_uri())
        rows = page.locator("#grid tr[data-cell]")
        assert rows.count() == 3
        assert page.locator('tr[data-cell="worse"] td.worse').count() == 1
        assert page.locator("td.better").count() == 0
        browser.close()
    assert errors == []
