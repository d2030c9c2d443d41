"""A command loads what it runs: `lm-eval-so run` does not import the viewer, the catalog of runs
or the comparison code, and a plain pipeline does not load the matrix experiment machinery."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from lm_eval_so._internal.cli import COMMANDS

# Modules only some sub-commands (or only matrix pipelines) need.
ELSEWHERE = (
    "lm_eval_so._internal.viewer",
    "lm_eval_so._internal.runs_cli",
    "lm_eval_so._internal.init_cli",
    "lm_eval_so._internal.evaluator.compare",
    "lm_eval_so._internal.evaluator.compare_cli",
    "lm_eval_so._internal.evaluator.experiment",
    "lm_eval_so._internal.orchestrator.experiment",
    "lm_eval_so._internal.orchestrator.merge_cli",
    "lm_eval_so.plugins",
)


def _loaded_after(code: str, cwd: Path) -> list[str]:
    script = textwrap.dedent(code) + (
        "\nimport sys\nprint('\\n'.join(m for m in sys.modules if m.startswith('lm_eval_so')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def _from(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.startswith(prefixes)]


def test_run_imports_no_other_commands_module(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("id,input,expected\ns1,hi,hi\ns2,yo,yo\n")
    (tmp_path / "app.py").write_text("def answer(prompt):\n    return prompt.strip().split()[-1]\n")
    (tmp_path / "pipeline.yaml").write_text(
        "name: light\nworkspace: ws\ngenerator:\n  source: data.csv\n"
        "runner:\n  backend: python\n  function: app:answer\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n"
    )
    loaded = _loaded_after(
        """
        from lm_eval_so._internal.cli import main
        assert main(["-q", "run", "pipeline.yaml"]) == 0
        """,
        tmp_path,
    )
    assert "lm_eval_so._internal.orchestrator.pipeline" in loaded  # it really ran
    assert "lm_eval_so._internal.evaluator.evaluate" in loaded
    assert _from(loaded, ELSEWHERE) == []


def test_top_level_help_lists_every_command_and_imports_none(tmp_path: Path) -> None:
    loaded = _loaded_after(
        """
        import contextlib, io
        from lm_eval_so._internal.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main(["--help"])
            except SystemExit as exc:
                assert exc.code == 0
        open("help.txt", "w").write(out.getvalue())
        """,
        tmp_path,
    )
    text = (tmp_path / "help.txt").read_text()
    for name, _, help_line in COMMANDS:
        assert name in text and help_line.split()[0] in text
    modules = tuple(module.lstrip(".") for _, module, _ in COMMANDS)
    assert _from(loaded, ELSEWHERE) == []
    assert [m for m in loaded if m.endswith(modules)] == []


def test_each_commands_own_help_still_has_its_options() -> None:
    for name, _, _ in COMMANDS:
        proc = subprocess.run(
            [sys.executable, "-m", "lm_eval_so", name, "--help"], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: lm-eval-so {name} [-h]"), proc.stdout[:200]
        # More than -h and -q: the command's own arguments were mounted.
        assert proc.stdout.count("\n  ") > 2, proc.stdout


def _freeze_pipeline(folder: Path) -> Path:
    # The app under test answers with how many objects the cyclic GC has been told to skip.
    (folder / "data.csv").write_text("id,input,expected\ns1,a,0\n")
    app = "import gc\n\ndef answer(prompt):\n    return str(gc.get_freeze_count())\n"
    (folder / "app.py").write_text(app)
    path = folder / "pipeline.yaml"
    path.write_text(
        "name: frozen\nworkspace: ws\ngenerator:\n  source: data.csv\n"
        "runner:\n  backend: python\n  function: app:answer\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n"
    )
    return path


def _answer(run_dir: Path) -> int:
    import json

    return int(json.loads((run_dir / "results.jsonl").read_text().splitlines()[0])["output"])


def test_the_command_exempts_its_imports_from_the_cyclic_gc(tmp_path: Path) -> None:
    pipeline = _freeze_pipeline(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "lm_eval_so", "-q", "run", str(pipeline)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr  # no threshold: only ran_without_errors gates it
    # Modules, classes and schemas: tens of thousands of objects, frozen before the first call.
    assert _answer(Path(proc.stdout.split()[-1])) > 10_000


def test_a_library_call_leaves_the_host_process_gc_alone(tmp_path: Path) -> None:
    import gc

    from lm_eval_so import run_pipeline

    before = gc.get_freeze_count()
    result = run_pipeline(_freeze_pipeline(tmp_path))
    assert result.run_dir is not None
    assert _answer(result.run_dir) == before == gc.get_freeze_count()


RELEASE_SCRIPT = """
import gc, sys, weakref
from lm_eval_so import registry, run_pipeline
from lm_eval_so.plugins import Backend, Completion
from lm_eval_so._internal.common import cli_support

models = []

class Model:  # stands for loaded weights, with one reference cycle
    def __init__(self):
        self.weights = bytearray(10_000_000)
        self.me = self

class HeavyBackend(Backend):
    name = "heavy"
    is_local = True

    async def start(self):
        self.model = Model()
        models.append(weakref.ref(self.model))

    async def complete(self, request):
        return Completion(text=request.sample.input, finish_reason="stop")

    async def aclose(self):
        self.model = None  # released, as a plugin would

registry.register("backends", "heavy", HeavyBackend)
cli_support.own_process()  # what the lm-eval-so command does
result = run_pipeline("pipeline.yaml")
gc.collect()
print(len(models), sum(ref() is not None for ref in models))
"""


def test_a_finished_cells_backend_can_be_collected_in_the_command(tmp_path: Path) -> None:
    # Freezing is for the run's duration: each matrix cell's model, once released, goes.
    (tmp_path / "data.csv").write_text("id,input,expected\ns1,a,a\n")
    (tmp_path / "pipeline.yaml").write_text(
        "name: cells\nworkspace: ws\ngenerator:\n  source: data.csv\n"
        "runner:\n  backend: heavy\n  model: m1\n"
        "evaluator:\n  metrics:\n    - type: exact_match\n"
        "matrix:\n  - {name: one}\n  - {name: two, runner: {model: m2}}\n"
        "  - {name: three, runner: {model: m3}}\n"
        "baseline: one\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", RELEASE_SCRIPT], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "0"]  # three cells started a model; none is alive
