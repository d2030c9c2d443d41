"""Shared fixtures: the loopback OpenAI-compatible server; pytester for plugin tests."""

from __future__ import annotations

from fake_openai.fixtures import fake_openai  # noqa: F401  (re-exported fixture)

# example_plugin: the example plugin package, pip-installed; plugin_path: fake distributions.
pytest_plugins = ["pytester", "example_plugin_install", "plugin_fake_dists"]
