"""Find and run the marked snippets of the documentation.

A snippet is marked by an HTML comment (invisible on the site) on the line before its fence:

    <!-- test: file PATH -->   write the block to PATH in the page's sandbox directory
    <!-- test: python -->      run the block with Python in the sandbox
    <!-- test: shell -->       run the block with bash (-e: every command must succeed)
    <!-- test: pipeline -->    validate the block as a pipeline.yaml (plugins and options too)
    <!-- test: yaml -->        parse the block as YAML (CI recipes)
    <!-- test: setup PAGE -->  (no block) first write the `file` blocks of another page

Blocks run in page order, so a page reads as a tutorial and is tested as one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from lm_eval_so._internal.common.config import config_from_text

DOCS = Path(__file__).resolve().parents[2] / "docs"
_MARKED = re.compile(
    r"^<!-- test: (?P<kind>\w+)(?: (?P<arg>[^>]*?))? -->\n(?:```(?P<lang>\w*)\n(?P<body>.*?)\n```)?",
    re.MULTILINE | re.DOTALL,
)
_FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)\n```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    kind: str
    arg: str | None
    body: str

    def where(self) -> str:
        return f"docs/{self.page}:{self.line} ({self.kind})"


def snippets(page: str) -> list[Snippet]:
    text = (DOCS / page).read_text()
    found = []
    for match in _MARKED.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        kind, body = match["kind"], match["body"]
        if kind != "setup" and body is None:
            raise AssertionError(f"docs/{page}:{line}: a `{kind}` marker must sit right above a code fence")
        found.append(Snippet(page, line, kind, match["arg"], body or ""))
    return found


def unmarked_pipelines(page: str) -> list[int]:
    """Lines of YAML blocks that look like a pipeline but are tested by nothing."""
    text = (DOCS / page).read_text()
    marked = {m.start("body") for m in _MARKED.finditer(text) if m["body"] is not None}
    return [
        text.count("\n", 0, m.start()) + 1
        for m in _FENCE.finditer(text)
        if m["lang"] == "yaml" and "generator:" in m["body"] and m.start("body") not in marked
    ]


def pages() -> list[str]:
    return sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # CI's --junitxml is not ours
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_page(page: str, sandbox: Path) -> int:
    """Run every marked snippet of ``page`` in ``sandbox``; returns how many ran."""
    todo = snippets(page)
    for setup in (s for s in todo if s.kind == "setup"):
        for snippet in snippets(str(setup.arg)):
            if snippet.kind == "file":
                run_snippet(snippet, sandbox)
    for snippet in todo:
        if snippet.kind != "setup":
            run_snippet(snippet, sandbox)
    return len(todo)


def run_snippet(snippet: Snippet, sandbox: Path) -> None:
    if snippet.kind == "file":
        target = sandbox / str(snippet.arg)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(snippet.body + "\n")
    elif snippet.kind == "pipeline":
        config_from_text(snippet.body, sandbox / "pipeline.yaml", env={})
    elif snippet.kind == "yaml":
        assert isinstance(yaml.safe_load(snippet.body), dict), snippet.where()
    elif snippet.kind in ("python", "shell"):
        command = (
            [sys.executable, "-c", snippet.body] if snippet.kind == "python" else ["bash", "-euo", "pipefail"]
        )
        done = subprocess.run(
            command,
            input=None if snippet.kind == "python" else snippet.body,
            cwd=sandbox,
            env={**_env(), "PYTHONPATH": str(sandbox)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{snippet.where()} exited {done.returncode}:\n{snippet.body}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
    else:
        raise AssertionError(f"{snippet.where()}: unknown marker kind {snippet.kind!r}")
