"""Secrets never enter what is stored: prompts are refused if a secret variable reaches them.

Prompts are written in clear to ``dataset.jsonl`` (and shown in every report), and a prompt
is what the model sees, so a redacted copy would change the answers. A secret variable
(``${MY_SECRET_TOKEN}``: a name with KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL or AUTH)
interpolated into ``generator.prompt`` is therefore an error naming file and line, before
anything is written.
"""

from __future__ import annotations

from .config import PipelineConfig
from .errors import ConfigError
from .redact import Redactor


def check_prompts_hold_no_secret(config: PipelineConfig) -> None:
    """Raise :class:`ConfigError` if a secret's value appears in the prompt's system or template."""
    redactor = Redactor(config.secrets)
    if not redactor:
        return
    prompt = config.generator.prompt
    for field, text in (("system", prompt.system), ("template", prompt.template)):
        if text is None or redactor.text(text) == text:
            continue
        line = config.line_of("generator", "prompt", field)
        where = f"{config.path.name if config.path else 'config'}:{line}" if line else "config"
        raise ConfigError(
            f"{where}: generator.prompt.{field}: interpolates a secret variable (its name contains "
            "KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL or AUTH); prompts are stored in clear in "
            "dataset.jsonl and reports, so a secret may not go there. Rename the variable if it "
            "is not secret, or keep the secret inside your app (backend: python)."
        )
