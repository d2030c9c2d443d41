"""The llamacpp backend on the real packaged model (llama.cpp + Gemma 3 270M)."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import make_config, run, sample

from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.runner import check_backend

pytestmark = pytest.mark.local_model

FEW_SHOT = "Q: What is the capital of France?\nA: Paris\nQ: What is the capital of {country}?\nA:"
PARAMS = {"max_tokens": 8, "stop": ["\n"]}


def capitals() -> list:  # type: ignore[type-arg]
    return [sample(country, FEW_SHOT.format(country=country)) for country in ("Japan", "Italy", "Germany")]


def test_few_shot_completion_on_the_packaged_model(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    config = make_config(tmp_path, backend="llamacpp", params=PARAMS, concurrency=8)

    stats, results = run(config, capitals(), tmp_path / "results.jsonl")

    # Greedy by default: the answers are the model's best guesses, every time.
    assert {r.sample_id: r.output for r in results} == {
        "Japan": " Tokyo",
        "Italy": " Rome",
        "Germany": " Berlin",
    }
    # One call at a time whatever the concurrency: results arrive in dataset order.
    assert [r.sample_id for r in results] == ["Japan", "Italy", "Germany"]
    first = results[0]
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    assert (first.cost_usd, first.finish_reason, first.model) == (
        0.0,
        "stop",
        "gemma-3-270m-q4_k_m.gguf",
    )
    assert stats.n_errors == 0 and stats.cost_usd == 0.0
    assert stats.backend["mode"] == "completion"
    # llama.cpp's own log lines are routed to logging, not printed over the CLI's output.
    assert "llama" not in capfd.readouterr().err


def test_repeats_at_temperature_zero_agree(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="llamacpp", params=PARAMS, repeats=2)

    _, results = run(config, capitals()[:1], tmp_path / "results.jsonl")

    assert [(r.repeat, r.output) for r in results] == [(0, " Tokyo"), (1, " Tokyo")]


def test_chat_mode_uses_the_chat_api(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="llamacpp", mode="chat", params={"max_tokens": 4})

    stats, [result] = run(config, [sample("hi", "Say hello.")], tmp_path / "results.jsonl")

    # A base model has no chat template worth grading; the call itself must work.
    assert result.error is None and isinstance(result.output, str)
    assert stats.backend["mode"] == "chat"


def test_a_model_path_is_relative_to_the_pipeline(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="llamacpp", model="models/missing.gguf")
    with pytest.raises(BackendError) as caught:
        check_backend(config)
    assert "runner.model" in str(caught.value)
    assert str(tmp_path / "models" / "missing.gguf") in str(caught.value)


def test_a_file_that_is_not_a_model_fails_to_load(tmp_path: Path) -> None:
    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    config = make_config(tmp_path, backend="llamacpp", model="broken.gguf")

    with pytest.raises(BackendError, match=r"runner\.model: cannot load"):
        run(config, capitals()[:1], tmp_path / "results.jsonl")


def test_a_failed_load_leaves_nothing_that_raises_when_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # llama-cpp-python's half-built LlamaModel raised AttributeError in __del__ whenever the
    # garbage collector reached it; under pytest that once failed an unrelated import.
    import gc
    import sys

    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    config = make_config(tmp_path, backend="llamacpp", model="broken.gguf")
    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(f"{u.exc_type}: {u.exc_value}"))

    try:
        run(config, capitals()[:1], tmp_path / "results.jsonl")
    except BackendError as exc:  # not pytest.raises: its ExceptionInfo would keep the frames alive
        message = str(exc)
    gc.collect()

    assert "runner.model: cannot load" in message
    assert unraisable == []


def test_options_are_validated(tmp_path: Path) -> None:
    from lm_eval_so._internal.models.backends.llamacpp import LlamaCppOptions

    assert LlamaCppOptions.model_validate({}).n_ctx == 2048
    with pytest.raises(ValueError, match="n_ctx"):
        LlamaCppOptions.model_validate({"n_ctx": 0})
    with pytest.raises(ValueError, match="extra"):
        LlamaCppOptions.model_validate({"n_ctxx": 512})


def test_the_cache_identity_is_the_weights_content_not_the_file_name(tmp_path: Path) -> None:
    import asyncio
    import hashlib
    import shutil

    from lm_eval_so._internal.models.backends.llamacpp_support import packaged_model_path
    from lm_eval_so._internal.models.lookup import create_backend

    packaged = packaged_model_path()
    renamed = tmp_path / "renamed.gguf"
    shutil.copyfile(packaged, renamed)

    async def identity(model: str | None) -> dict[str, object]:
        config = make_config(tmp_path, backend="llamacpp", model=model)
        backend = create_backend(config)
        await backend.start()
        try:
            return backend.identity()
        finally:
            await backend.aclose()

    default, copy = asyncio.run(identity(None)), asyncio.run(identity(str(renamed)))
    expected = hashlib.sha256(packaged.read_bytes()).hexdigest()
    assert default["weights_sha256"] == copy["weights_sha256"] == expected
    assert default["model"] != copy["model"]  # the names differ; the weights decide


def test_file_sha256_follows_the_content(tmp_path: Path) -> None:
    import hashlib
    import os

    from lm_eval_so._internal.models.backends.llamacpp_support import file_sha256

    path = tmp_path / "w.gguf"
    path.write_bytes(b"first weights")
    first = file_sha256(path)
    path.write_bytes(b"other weights")
    os.utime(path, ns=(1, 1))  # a new mtime, as any rewrite gives
    assert first == hashlib.sha256(b"first weights").hexdigest()
    assert file_sha256(path) == hashlib.sha256(b"other weights").hexdigest()
