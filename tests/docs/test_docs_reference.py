"""The generated reference pages cover everything they are generated from."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from lm_eval_so._internal.cli import build_parser
from lm_eval_so._internal.common.config import PipelineConfig
from lm_eval_so._internal.common.registry import CORE_DIST, Registry

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "reference.py"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pipeline_page_documents_every_field_of_every_model() -> None:
    hook = _hook()
    page = hook.pipeline_page()
    for path, model in hook._models(PipelineConfig, ""):
        assert f"## `{path}`" in page or path == ""
        for name in model.model_fields:
            assert f"| `{name}` |" in page, f"{path}.{name} missing from the pipeline reference"
    assert "| `temperature` | number | — | Must be >= 0, <= 2. |" in page
    assert "## `evaluator.metrics[].threshold`" in page


def test_plugins_page_lists_every_core_plugin_with_its_options() -> None:
    page = _hook().plugins_page()
    registry = Registry()
    for info in registry.infos():
        if info.dist == CORE_DIST:
            assert f"### `{info.name}`" in page
            assert info.value not in page  # its internal module path is no user's business
    exact = registry.get("metrics", "exact_match").Options
    assert isinstance(exact, type) and issubclass(exact, BaseModel)
    for option in exact.model_fields:
        assert f"| `{option}` |" in page


def test_cli_page_has_every_command() -> None:
    page = _hook().cli_page()
    commands = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in commands.choices:  # type: ignore[attr-defined]
        assert f"## `lm-eval-so {name}`" in page
