"""Secrets are found as written and in every escaped form a message or report gives them."""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from lm_eval_so._internal.common.cli_support import guarded
from lm_eval_so._internal.common.config import load_config
from lm_eval_so._internal.common.errors import BackendError, ConfigError
from lm_eval_so._internal.common.redact import Redactor, environment_secrets, hide_userinfo

KEY = "sk-\"odd\\key'<&>-0123456789"


@pytest.mark.parametrize(
    "shown",
    [
        KEY,
        repr(KEY),
        json.dumps(KEY),
        quote(KEY, safe=""),
        html.escape(KEY),
        repr({"message": KEY}),
        repr(f'the key "{KEY}"'),  # a text holding both quotes: repr escapes the key's '
    ],
    ids=["as-is", "repr", "json", "percent", "html", "repr-in-dict", "repr-both-quotes"],
)
def test_every_escaped_form_of_a_key_is_redacted(shown: str) -> None:
    redacted = Redactor([KEY]).text(f"error: {shown}.")
    assert "0123456789" not in redacted and "***" in redacted


def test_short_values_are_not_secrets() -> None:
    assert Redactor(["abc"]).text("abc abc") == "abc abc"


def test_environment_secrets_are_the_named_and_the_credential_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value-0123")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    monkeypatch.setenv("MY_GRADER", " grader-key-0123\r\n")  # named by a pipeline; sent stripped
    monkeypatch.setenv("JUDGE_KEY", "ollama")  # a local server's placeholder is no secret
    found = environment_secrets(["MY_GRADER", "JUDGE_KEY", None])
    assert {"aws-secret-value-0123", "hf_abcdefghijklmnop", "grader-key-0123"} <= found
    assert "ollama" not in found


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEYBOARD_LAYOUT", "us-international"),  # KEY only inside a word
        ("AUTHOR_NAME", "Alice Smith-Jones"),
        ("TOKENIZERS_PARALLELISM", "false-but-long"),
        ("API_KEY_HINT", "see the wiki page"),  # a credential's name, but not a credential's value
        ("SHORT_TOKEN", "abc123"),
    ],
)
def test_ordinary_values_of_the_environment_are_not_secrets(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is redacted is cut from the model's answers too: "Alice Smith-Jones" must survive.
    monkeypatch.setenv(name, value)
    assert value not in environment_secrets()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:pw@host:1/v1", "http://***@host:1/v1"),
        ("alice:pw@host:3128", "***@host:3128"),
        ("https://token@host/x", "https://***@host/x"),
        ("http://host/v1", "http://host/v1"),
        ("http://bob:pa/ss#x?y@host:1/v1", "http://***@host:1/v1"),  # unencoded / # ? in a password
    ],
)
def test_hide_userinfo(url: str, shown: str) -> None:
    assert hide_userinfo(url) == shown


def test_the_cli_never_prints_a_secret_of_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOME_API_KEY", KEY)

    def fail() -> int:
        raise BackendError(f"the server said: {KEY!r}")

    assert guarded(fail) == 2
    err = capsys.readouterr().err
    assert "0123456789" not in err and "***" in err


def test_a_key_is_redacted_without_the_whitespace_around_it() -> None:
    # Keys are sent stripped (a trailing \r from a Windows file), so servers echo them stripped.
    assert Redactor(["sk-abcdef0123456789 \r\n"]).text("got sk-abcdef0123456789.") == "got ***."


def test_an_override_never_echoes_a_urls_password(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("id,input,expected\na,b,c\n")
    (tmp_path / "pipeline.yaml").write_text("name: demo\ngenerator:\n  source: data.csv\n")
    config = load_config(tmp_path / "pipeline.yaml")
    with pytest.raises(ConfigError) as caught:
        config.with_overrides(**{"runner.base_url": "http://bob:pw-secret@127.0.0.1:9/v1"})
    assert "pw-secret" not in str(caught.value) and "http://***@127.0.0.1:9/v1" in str(caught.value)
