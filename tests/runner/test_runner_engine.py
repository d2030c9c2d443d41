"""Engine behaviour that holds for every backend, shown with real user functions."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from runner_helpers import make_config, run, samples

from lm_eval_so._internal.common.errors import ArtifactError, PluginError
from lm_eval_so._internal.common.records import DatasetSample, RunResult
from lm_eval_so._internal.common.redact import Redactor
from lm_eval_so._internal.runner import run_samples

_counter = itertools.count()


def function_config(tmp_path: Path, source: str, **runner: object):  # type: ignore[no-untyped-def]
    module = f"engine_app_{next(_counter)}"
    (tmp_path / f"{module}.py").write_text(source)
    return make_config(tmp_path, backend="python", function=f"{module}:answer", **runner)


ECHO = "def answer(input):\n    return input\n"


def test_samples_are_pulled_lazily_by_a_fixed_pool(tmp_path: Path) -> None:
    pulled = 0
    pulled_at_first_result: list[int] = []

    def stream() -> Iterator[DatasetSample]:
        nonlocal pulled
        for item in samples(200):
            pulled += 1
            yield item

    def on_result(result: RunResult) -> None:
        pulled_at_first_result.append(pulled)

    config = function_config(tmp_path, ECHO, concurrency=4)
    stats, results = run(config, stream(), tmp_path / "results.jsonl", on_result=on_result)

    # Only the workers' jobs were taken when the first answer arrived, not all 200 samples.
    assert pulled_at_first_result[0] <= 4 + 1
    assert stats.n_requests == len(results) == 200
    assert len({r.sample_id for r in results}) == 200


def test_calls_that_never_suspend_do_not_starve_the_other_workers(tmp_path: Path) -> None:
    # Like a cache hit: an async function that returns without ever awaiting anything.
    source = "import asyncio\nasync def answer(input):\n    return str(id(asyncio.current_task()))\n"
    config = function_config(tmp_path, source, concurrency=4)

    _, results = run(config, samples(400), tmp_path / "results.jsonl")

    assert len({r.output for r in results}) == 4  # every worker took a share


def test_repeats_follow_each_sample(tmp_path: Path) -> None:
    config = function_config(tmp_path, ECHO, repeats=4, concurrency=1)

    _, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert [(r.sample_id, r.repeat) for r in results] == [("s0", r) for r in range(4)] + [
        ("s1", r) for r in range(4)
    ]


def test_error_messages_pass_through_the_redactor(tmp_path: Path) -> None:
    secret = "sk-very-secret-value-42"
    source = f"def answer(input):\n    raise RuntimeError('upstream said: bad key {secret}')\n"
    config = function_config(tmp_path, source)
    path = tmp_path / "results.jsonl"

    _, [result] = run(config, samples(1), path, redactor=Redactor([secret]))

    assert result.error is not None
    assert result.error.message == "upstream said: bad key ***"
    assert secret not in path.read_text()


def test_outputs_pass_through_the_redactor_too(tmp_path: Path) -> None:
    secret = "sk-very-secret-value-42"
    config = function_config(tmp_path, f"def answer(input):\n    return 'key={secret}'\n")

    _, [result] = run(config, samples(1), tmp_path / "results.jsonl", redactor=Redactor([secret]))

    assert result.output == "key=***"


def test_a_broken_sample_stream_stops_the_run_and_closes_the_backend(tmp_path: Path) -> None:
    def stream() -> Iterator[DatasetSample]:
        yield from samples(3)
        raise ArtifactError("dataset.jsonl:4: not a valid DatasetSample")

    config = function_config(tmp_path, ECHO, concurrency=2)

    with pytest.raises(ArtifactError, match=r"dataset\.jsonl:4"):
        asyncio.run(run_samples(config, stream(), tmp_path / "results.jsonl"))
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) <= 3


def test_an_unknown_backend_is_a_plugin_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="no-such-backend")
    with pytest.raises(PluginError, match="no-such-backend"):
        asyncio.run(run_samples(config, samples(1), tmp_path / "results.jsonl"))


def test_results_are_appended_never_overwritten(tmp_path: Path) -> None:
    config = function_config(tmp_path, ECHO)
    path = tmp_path / "results.jsonl"

    run(config, samples(2), path)
    _, results = run(config, samples(3), path)

    assert len(results) == 5
