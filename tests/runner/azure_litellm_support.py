"""Shared by the azure_openai and litellm backend tests: the backends in the registry, QA data.

Until ``pyproject.toml`` lists their entry points (``lm_eval_so.backends``),
:func:`provider_backends` makes them known the way a plugin is: in this process through the
registry, and in subprocesses (the CLI, ``python -m pytest``) through a distribution on
``PYTHONPATH`` (see ``plugin_fake_dists.write_dist``). Once the entry points are installed it does
nothing, so the tests then exercise the real registration.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import importlib
import importlib.metadata as md
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lm_eval_so._internal.common.registry import registry
from plugin_fake_dists import write_dist

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "example_suites" / "local_qa" / "questions.csv"

BACKENDS = {
    "azure_openai": "lm_eval_so._internal.models.backends.azure_openai:AzureOpenAIBackend",
    "litellm": "lm_eval_so._internal.models.backends.litellm:LiteLLMBackend",
}


def missing_entry_points() -> dict[str, str]:
    installed = {ep.name for ep in md.entry_points(group="lm_eval_so.backends")}
    return {name: value for name, value in BACKENDS.items() if name not in installed}


_dist_dir: Path | None = None


def _backend_dist() -> Path | None:
    """A distribution declaring the missing entry points (made once per process), or None."""
    global _dist_dir
    missing = missing_entry_points()
    if not missing:
        return None
    if _dist_dir is None:
        _dist_dir = Path(tempfile.mkdtemp(prefix="provider-backends-"))
        atexit.register(shutil.rmtree, _dist_dir, ignore_errors=True)
        write_dist(_dist_dir, "lm-eval-so-provider-backends-under-test", "0.0.0", {"backends": missing})
    return _dist_dir


@contextlib.contextmanager
def provider_backends() -> Iterator[dict[str, str]]:
    """Registers the two backends if need be; yields the environment a subprocess needs."""
    dist = _backend_dist()
    if dist is None:
        yield {}
        return
    added = []
    for name, value in missing_entry_points().items():
        module, _, attr = value.partition(":")
        registry.register("backends", name, getattr(importlib.import_module(module), attr))
        added.append(name)
    try:
        yield {"PYTHONPATH": os.pathsep.join(filter(None, [str(dist), os.environ.get("PYTHONPATH")]))}
    finally:
        for name in added:
            registry.unregister("backends", name)


def qa_rows() -> list[dict[str, str]]:
    with QUESTIONS.open(newline="") as handle:
        return list(csv.DictReader(handle))


def qa_answers(wrong_every: int = 0) -> tuple[dict[str, str], float]:
    """Answers for every question of local_qa (every ``wrong_every``-th one wrong), and the
    exact-match accuracy they give."""
    rows = qa_rows()
    answers, right = {}, 0
    for i, row in enumerate(rows, start=1):
        wrong = wrong_every and i % wrong_every == 0
        answers[row["question"]] = "I do not know" if wrong else row["answer"]
        right += not wrong
    return answers, right / len(rows)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without provider variables, plus ``extra``."""
    prefixes = ("OPENAI_", "AZURE_", "ANTHROPIC_", "LITELLM_", "LM_EVAL_SO_", "PYTEST_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}


def run_python(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )
