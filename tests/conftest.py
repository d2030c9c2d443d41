"""Shared fixtures: the loopback OpenAI-compatible server; pytester for plugin tests."""

from __future__ import annotations

from fake_openai.fixtures import fake_openai  # noqa: F401  (re-exported fixture)

pytest_plugins = ["pytester"]
