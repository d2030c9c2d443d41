"""A workspace of real runs for the viewer and `runs` tests: python apps, no model, no network.

Three pipelines run through ``lm_eval_so.run_pipeline`` (about 0.1 s a run):

* ``qa``: 12 arithmetic questions; the app alternates between ``apps:double`` (always right),
  ``apps:sloppy`` (wrong on every third) and ``apps:worse`` (wrong on every other), so means,
  gates and configs differ from run to run;
* ``router``: a ``contains`` metric and a ``regex`` one;
* ``payload``: inputs, references and outputs that are markup (``<script>``, ``onerror=``),
  which must stay text on every page;

plus a matrix pipeline ``grid`` (two cells, one experiment) and one interrupted run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lm_eval_so import run_pipeline

PAYLOADS = [
    "<script>document.title='PWNED';document.body.setAttribute('data-pwned','1')</script>",
    "<img src=x onerror=\"document.title='PWNED';document.body.setAttribute('data-pwned','2')\">",
    "</td></tr></table><svg onload=\"document.body.setAttribute('data-pwned','3')\"></svg>",
    "</script><script>document.title='PWNED'</script><!--",
]

APPS = """
PAYLOADS = {payloads!r}


def double(input):
    return str(int(input) * 2)


def sloppy(input):
    n = int(input)
    return "wrong" if n % 3 == 0 else str(n * 2)


def worse(input):
    n = int(input)
    return "wrong" if n % 2 == 0 else str(n * 2)


def route(input):
    return "team: billing" if "invoice" in input else "team: technical"


def echo_markup(input):
    # The answer is the markup itself, or a piece of it: outputs a page must never run.
    return input if not input.startswith("</script>") else PAYLOADS[1]


def shuffle_markup(input):
    # Another sample's markup: every answer wrong, so a comparison lists each as a flip.
    return PAYLOADS[(PAYLOADS.index(input) + 1) % len(PAYLOADS)]
"""

QA = """\
name: qa
workspace: ws
generator: {{source: qa.csv}}
runner: {{backend: python, function: "apps:double", concurrency: 2}}
evaluator:
  metrics:
    - type: exact_match
      threshold: 0.7
"""

ROUTER = """\
name: router
workspace: ws
generator: {source: router.jsonl, fields: {id: id, input: message, expected: team}}
runner: {backend: python, function: "apps:route"}
evaluator:
  metrics:
    - type: contains
      name: right_team
      threshold: 0.5
    - type: regex
      name: well_formed
      pattern: "^team: [a-z]+$"
"""

PAYLOAD = """\
name: payload
workspace: ws
generator:
  source: payload.jsonl
  fields: {id: id, input: text, expected: answer}
  prompt: {system: "Repeat the text. <b>bold</b> & <i>system</i>", template: "{input}"}
runner: {backend: python, function: "apps:echo_markup"}
evaluator:
  metrics:
    - type: exact_match
"""

GRID = """\
name: grid
workspace: ws
generator: {source: qa.csv}
runner: {backend: python, function: "apps:double"}
evaluator:
  metrics:
    - type: exact_match
matrix:
  - {name: base}
  - {name: sloppy, runner: {function: "apps:sloppy"}}
"""


@dataclass
class Built:
    folder: Path
    workspace: Path
    runs: dict[str, list[Path]] = field(default_factory=dict)  # pipeline -> run dirs, oldest first
    experiment: Path | None = None
    interrupted: Path | None = None

    @property
    def all_runs(self) -> list[Path]:
        return [run for runs in self.runs.values() for run in runs]


def write_sources(folder: Path) -> None:
    (folder / "apps.py").write_text(APPS.format(payloads=PAYLOADS))
    rows = "".join(f"q{i:02d},{i},{i * 2}\n" for i in range(1, 13))
    (folder / "qa.csv").write_text("id,input,expected\n" + rows)
    router = [
        {"id": "r1", "message": "Where is my invoice?", "team": "billing"},
        {"id": "r2", "message": "The app crashes", "team": "technical"},
        {"id": "r3", "message": "invoice is wrong", "team": "billing"},
        {"id": "r4", "message": "I want a demo", "team": "sales"},
    ]
    (folder / "router.jsonl").write_text("".join(json.dumps(r) + "\n" for r in router))
    payload = [{"id": f"x{i}", "text": p, "answer": p} for i, p in enumerate(PAYLOADS)]
    (folder / "payload.jsonl").write_text("".join(json.dumps(r) + "\n" for r in payload))
    (folder / "qa.yaml").write_text(QA.format())
    (folder / "router.yaml").write_text(ROUTER)
    (folder / "payload.yaml").write_text(PAYLOAD)
    (folder / "grid.yaml").write_text(GRID)


QA_FUNCTIONS = ["apps:double", "apps:sloppy", "apps:double", "apps:worse", "apps:double",
                "apps:sloppy", "apps:double", "apps:double", "apps:worse", "apps:double"]  # fmt: skip


def build(folder: Path) -> Built:
    """22 runs of qa, router and payload, an experiment of two cells, and an interrupted run."""
    write_sources(folder)
    built = Built(folder, folder / "ws")
    for function in QA_FUNCTIONS:
        result = run_pipeline(folder / "qa.yaml", overrides={"runner.function": function})
        built.runs.setdefault("qa", []).append(Path(str(result.run_dir)))
    for index in range(6):
        overrides = {"generator.limit": 3} if index == 2 else None
        result = run_pipeline(folder / "router.yaml", overrides=overrides)
        built.runs.setdefault("router", []).append(Path(str(result.run_dir)))
    for function in ["apps:echo_markup", "apps:echo_markup", "apps:shuffle_markup", "apps:echo_markup"]:
        result = run_pipeline(folder / "payload.yaml", overrides={"runner.function": function})
        built.runs.setdefault("payload", []).append(Path(str(result.run_dir)))
    experiment = run_pipeline(folder / "grid.yaml")
    built.experiment = getattr(experiment, "directory", None)
    for name, cell in getattr(experiment, "cells", {}).items():
        built.runs.setdefault(f"grid.{name}", []).append(Path(str(cell.run_dir)))
    built.interrupted = interrupted_copy(built.runs["router"][-1])
    return built


def interrupted_copy(run: Path) -> Path:
    """A copy of ``run`` as if its process had died mid-run: status running, no summary."""
    target = run.parent / (run.name + "-9")
    shutil.copytree(run, target)
    for name in ("summary.json", "scores.jsonl", "report.html", "report.json"):
        (target / name).unlink(missing_ok=True)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["run_id"] = target.name
    manifest["status"] = "running"
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target
