"""Evaluator tests: a backend name that always resolves, so configs load without the runner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from evalkit import STUB_BACKEND

from lm_eval_so._internal.common.registry import registry


@pytest.fixture(autouse=True)
def stub_backend() -> Iterator[None]:
    registry.register("backends", STUB_BACKEND, object)
    yield
    registry.unregister("backends", STUB_BACKEND)
