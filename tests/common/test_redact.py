"""Secrets are found as written and in every escaped form a message or report gives them."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

import pytest

from lm_eval_so._internal.common.cli_support import guarded
from lm_eval_so._internal.common.errors import BackendError
from lm_eval_so._internal.common.redact import Redactor, environment_secrets, hide_userinfo

KEY = "sk-\"odd\\key'<&>-0123456789"


@pytest.mark.parametrize(
    "shown",
    [KEY, repr(KEY), json.dumps(KEY), quote(KEY, safe=""), html.escape(KEY), repr({"message": KEY})],
    ids=["as-is", "repr", "json", "percent", "html", "repr-in-dict"],
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
    monkeypatch.setenv("MY_GRADER", "grader")  # named by a pipeline: a secret whatever it holds
    found = environment_secrets(["MY_GRADER", None])
    assert {"aws-secret-value-0123", "hf_abcdefghijklmnop", "grader"} <= found


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
