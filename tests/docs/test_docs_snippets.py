"""Every marked snippet in docs/ runs: files are written, code and commands run, YAML validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_snippets import pages, run_page, snippets, unmarked_pipelines

TESTED = [page for page in pages() if snippets(page)]


def test_the_docs_have_tested_snippets() -> None:
    # Guards against a marker syntax change silently turning every test below into a no-op.
    assert {"quickstart.md", "pytest.md", "backends.md", "plugins.md", "comparing.md"} <= set(TESTED)
    kinds = {s.kind for page in TESTED for s in snippets(page)}
    assert kinds == {"file", "python", "shell", "pipeline", "yaml", "setup"}


@pytest.mark.parametrize("page", pages())
def test_every_pipeline_snippet_is_tested(page: str) -> None:
    assert unmarked_pipelines(page) == [], f"docs/{page}: pipeline blocks without a test marker"


@pytest.mark.parametrize("page", TESTED)
def test_page_snippets_run(page: str, tmp_path: Path, example_plugin: Path) -> None:
    # The plugin page uses the example plugin, installed as a user would install it.
    assert run_page(page, tmp_path) > 0
