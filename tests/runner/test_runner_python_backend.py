"""The python backend with real user functions, written next to a pipeline.yaml."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest
from runner_helpers import make_config, run, sample, samples

from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.runner import check_backend

_counter = itertools.count()


def app(tmp_path: Path, source: str, function: str = "answer", **runner: object):  # type: ignore[no-untyped-def]
    """Write ``source`` as a fresh module beside the pipeline; a config that calls ``function``."""
    module = f"app_under_test_{next(_counter)}"  # unique: modules are cached by name
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    return make_config(tmp_path, backend="python", function=f"{module}:{function}", **runner)


def test_sync_function_returning_str(tmp_path: Path) -> None:
    config = app(tmp_path, "def answer(input):\n    return input.upper()\n")

    stats, results = run(config, samples(3), tmp_path / "results.jsonl")

    assert sorted(r.output for r in results if r.output) == [
        "QUESTION 0",
        "QUESTION 1",
        "QUESTION 2",
    ]
    assert stats.n_errors == 0
    assert stats.cost_usd == 0.0
    # A function that reports no usage: tokens unknown (None, not 0); a local call costs $0.
    assert all(r.cost_usd == 0.0 and r.usage is None for r in results)
    assert stats.n_usage_unknown == 3


def test_async_function_returning_a_dict_with_usage(tmp_path: Path) -> None:
    config = app(
        tmp_path,
        """
        import asyncio

        async def answer(prompt, messages, metadata, params, sample):
            await asyncio.sleep(0)
            assert messages[-1] == {"role": "user", "content": sample.input}
            text = f"{prompt}|{metadata['n']}|{params.get('temperature')}"
            return {"output": text, "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
        """,
        params={"temperature": 0.5},
    )

    stats, [result] = run(config, [sample("a", "hello", system="sys")], tmp_path / "results.jsonl")

    assert result.output == "sys\n\nhello|a|0.5"
    assert (
        result.usage.prompt_tokens,
        result.usage.completion_tokens,
        result.usage.total_tokens,
    ) == (3, 2, 5)
    assert stats.usage.total_tokens == 5


def test_an_object_with_output_and_a_positional_parameter(tmp_path: Path) -> None:
    config = app(
        tmp_path,
        """
        from dataclasses import dataclass

        @dataclass
        class Reply:
            output: str

        def answer(question, /):
            return Reply(output=question[::-1])
        """,
    )

    _, [result] = run(config, [sample("a", "abc")], tmp_path / "results.jsonl")

    assert result.output == "cba"


def test_kwargs_functions_get_everything(tmp_path: Path) -> None:
    config = app(tmp_path, "def answer(**kw):\n    return ','.join(sorted(kw))\n")

    _, [result] = run(config, [sample("a", "x")], tmp_path / "results.jsonl")

    assert result.output == "input,messages,metadata,params,prompt,sample"


def test_a_bad_return_value_is_an_error_for_that_sample(tmp_path: Path) -> None:
    config = app(tmp_path, "def answer(input):\n    return 42 if input.endswith('1') else 'ok'\n")

    stats, results = run(config, samples(3), tmp_path / "results.jsonl")

    [bad] = [r for r in results if r.error]
    assert bad.sample_id == "s1" and bad.error is not None
    assert bad.error.type == "TypeError"
    assert "returned int 42" in bad.error.message
    assert stats.n_errors == 1 and stats.n_requests == 3


def test_an_exception_is_an_error_result(tmp_path: Path) -> None:
    config = app(tmp_path, "def answer(input):\n    raise ValueError(f'cannot answer {input}')\n")

    stats, results = run(config, samples(2), tmp_path / "results.jsonl")

    assert stats.n_errors == 2
    assert {(r.error.type, r.error.message) for r in results if r.error} == {
        ("ValueError", "cannot answer question 0"),
        ("ValueError", "cannot answer question 1"),
    }


def test_sync_functions_run_concurrently_in_threads(tmp_path: Path) -> None:
    config = app(
        tmp_path,
        "import time\ndef answer(input):\n    time.sleep(0.2)\n    return input\n",
        concurrency=4,
    )

    stats, _ = run(config, samples(4), tmp_path / "results.jsonl")

    assert stats.n_errors == 0
    assert stats.wall_seconds < 4 * 0.2  # functional check: serial would take 0.8 s


def test_a_slow_function_times_out(tmp_path: Path) -> None:
    config = app(
        tmp_path,
        """
        import asyncio

        async def answer(input):
            if input.endswith("0"):
                await asyncio.sleep(30)
            return input
        """,
        timeout_s=0.2,
    )

    stats, results = run(config, samples(2), tmp_path / "results.jsonl")

    [slow] = [r for r in results if r.error]
    assert slow.error is not None
    assert (slow.sample_id, slow.error.type) == ("s0", "Timeout")
    assert "runner.timeout_s" in slow.error.message
    assert stats.wall_seconds < 5


def test_pricing_applies_to_python_functions(tmp_path: Path) -> None:
    usage = "{'prompt_tokens': 10, 'completion_tokens': 5}"
    source = f"def answer(input):\n    return {{'output': 'x', 'usage': {usage}}}\n"
    config = app(tmp_path, source, pricing={"prompt_per_1m": 1.0, "completion_per_1m": 2.0})

    _, [result] = run(config, samples(1), tmp_path / "results.jsonl")

    assert result.cost_usd == pytest.approx(20 / 1e6)


@pytest.mark.parametrize(
    ("source", "function", "fragments"),
    [
        (
            "import not_a_module_anywhere\n",
            "answer",
            ["runner.function", "ModuleNotFoundError", "not_a_module_anywhere"],
        ),
        (
            "def answer(input):\n    return input\n",
            "missing",
            ["runner.function", "no attribute 'missing'"],
        ),
        ("x = 1 +\n", "answer", ["runner.function", "SyntaxError"]),
        (
            "def answer(a, b):\n    return a\n",
            "answer",
            ["runner.function", "requires 'b'", "input, prompt"],
        ),
        ("answer = 3\n", "answer", ["runner.function", "not a function"]),
    ],
    ids=["import-error", "missing-attribute", "syntax-error", "unknown-parameters", "not-callable"],
)
def test_setup_problems_are_backend_errors(
    tmp_path: Path, source: str, function: str, fragments: list[str]
) -> None:
    with pytest.raises(BackendError) as caught:
        check_backend(app(tmp_path, source, function))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_function_is_required(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"runner\.function"):
        check_backend(make_config(tmp_path, backend="python"))
