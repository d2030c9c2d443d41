"""Keep secrets out of artifacts: replace known secret values wherever they appear.

A secret is looked for as written and in every escaped form a message or a report may give it:
a Python ``repr`` (an error message quoting a server's reply), JSON, percent-encoding (a URL)
and HTML. A key holding ``"`` or ``\\`` otherwise slipped through once it was escaped.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import quote

REDACTED = "***"
E = TypeVar("E", bound=BaseException)
#: Shorter values would redact ordinary words; real keys and tokens are long.
MIN_SECRET = 6
#: Names of variables whose values interpolated into a pipeline (``${VAR}``) are secrets. Any
#: part of the name counts: the pipeline asked for the value, so erring wide costs little.
#: The environment's own credentials are found by a narrower rule (``environment_secrets``).
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
# user:password@ in a URL (scheme optional: proxy variables are often written without one).
# Up to the last "@": a password may hold "/", "#" or "?" unencoded, and hiding too much of a
# URL in a message costs nothing.
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?\S*@")


def forms(secret: str) -> set[str]:
    """``secret`` as written and as Python repr, JSON, percent-encoding and HTML escape it."""
    return {
        secret,
        repr(secret)[1:-1],
        repr(f"{secret}'\"")[1:-4],  # repr inside a text holding both quotes: ' becomes \'
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        html.escape(secret),
    }


#: A credential variable of the environment, by the words of its name: OPENAI_API_KEY,
#: AWS_SECRET_ACCESS_KEY, HF_TOKEN, DB_PASSWORD. Whole words only, unlike SECRET_NAME:
#: KEYBOARD_LAYOUT, AUTHOR_NAME or TOKENIZERS_PARALLELISM are not credentials.
_CREDENTIAL_WORDS = frozenset({"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS"})
#: A value from the environment must also look like a credential: long, one word. A key
#: variable holding a placeholder ("ollama", "lm-studio", "EMPTY" for a local server) is no
#: secret, and redacting it would rewrite answers that say the word.
_MIN_FOUND = 12


def environment_secrets(names: Iterable[str | None] = ()) -> set[str]:
    """Values of the variables ``names``, and of the environment's credential variables.

    ``names`` are the key variables a pipeline configures (``runner.api_key_env``, a judge's
    ``api_key_env``), whatever they are called. Other variables count when a word of their
    name says credential (see ``_CREDENTIAL_WORDS``). Either way the value (without the
    whitespace around it, as keys are sent) must look like a credential: at least 12
    characters, no whitespace. What is redacted is also cut from the model's answers before
    scoring, so an ordinary value must not be taken for a secret.
    """
    wanted = {name for name in names if name}
    found = set()
    for name, value in os.environ.items():
        named = name in wanted or not _CREDENTIAL_WORDS.isdisjoint(name.upper().split("_"))
        key = value.strip()
        if named and len(key) >= _MIN_FOUND and not any(c.isspace() for c in key):
            found.add(key)
    return found


def hide_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` shown as ``***@``: for error messages."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}{REDACTED}@", url, count=1)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._raw: set[str] = set()
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        for value in {secret, secret.strip()} if secret else ():
            if len(value) >= MIN_SECRET and value not in self._raw:
                self._raw.add(value)
                # Longest first: a secret that contains another is replaced whole.
                self._secrets = sorted({*self._secrets, *forms(value)}, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def error(self, exc: E) -> E:
        """``exc`` itself, its message redacted in place (for an error raised on to others)."""
        text = str(exc)
        redacted = self.text(text)
        if redacted != text:
            exc.args = (redacted,)
        return exc

    def obj(self, value: Any) -> Any:
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        return value
