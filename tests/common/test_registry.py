"""Built-ins are found through the same entry points third-party plugins use."""

from __future__ import annotations

import pytest

from lm_eval_so._internal.common.errors import PluginError
from lm_eval_so._internal.common.registry import Registry


def test_builtins_come_from_entry_points() -> None:
    registry = Registry()
    assert {"openai", "llamacpp", "python"} <= set(registry.names("backends"))
    assert {"exact_match", "contains", "regex"} <= set(registry.names("metrics"))
    assert {"html", "json"} <= set(registry.names("reporters"))
    assert {"csv", "jsonl", "json"} <= set(registry.names("sources"))
    info = registry.info("metrics", "exact_match")
    assert info.dist == "lm-eval-so" and info.value.endswith(":ExactMatch")


def test_lookup_is_lazy_and_unknown_names_list_installed() -> None:
    registry = Registry()
    assert registry.info("backends", "openai")._loaded is False
    backend = registry.get("backends", "openai")
    assert backend.__name__ == "OpenAIBackend"
    with pytest.raises(PluginError, match=r"unknown backend 'watsonx'; installed: .*llamacpp"):
        registry.get("backends", "watsonx")


def test_runtime_registration() -> None:
    registry = Registry()

    class Custom:
        pass

    registry.register("metrics", "custom", Custom)
    assert registry.get("metrics", "custom") is Custom
    registry.unregister("metrics", "custom")
    assert "custom" not in registry.names("metrics")


def test_a_reimported_plugin_module_is_loaded_again() -> None:
    # pytester and importlib.reload replace modules; handing out classes from the old module
    # object would make isinstance/issubclass checks against the new one fail.
    import sys

    registry = Registry()
    first = registry.get("metrics", "exact_match")
    assert registry.get("metrics", "exact_match") is first  # cached while the module stays
    module_name = first.__module__
    saved = sys.modules.pop(module_name)
    try:
        second = registry.get("metrics", "exact_match")
        assert second is not first
        assert second is sys.modules[module_name].ExactMatch
    finally:
        sys.modules[module_name] = saved
