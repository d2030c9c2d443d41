"""A generated corpus of inputs for ``lm-eval-so run``: bad ones, and unusual ones that are fine.

Every :class:`Case` is a small project folder (``pipeline.yaml``, data files, helper modules)
plus the command-line switches to run it with. A bad case must be refused with exit code 2
and one message naming where the problem is (``pipeline.yaml:7: runner.timeout_s``,
``data.csv:3``, ``data.json: item 2``); a valid case must run.

Config cases are generated field by field from one valid pipeline: each is that pipeline with
one value replaced, written with ``yaml.safe_dump``, and the line the message must name is
found by PyYAML's own composer (not by lm-eval-so's loader, which is what is under test).
Hand-written cases cover what a generator cannot: YAML syntax, aliases, merge keys,
interpolation, encodings, and the data formats.

Used by ``tests/test_bad_inputs.py``; ``python tests/bad_inputs_corpus.py`` prints the counts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

#: The python backend's function and python metric functions the cases name. These modules
#: live in one shared folder put on sys.path by the test, so no case needs its own copy.
SHARED_MODULES = {
    "bi_app.py": 'def answer(input):\n    return "4"\n',
    "bi_metrics.py": (
        "CONSTANT = 3\n\n"
        "def score(output, expected):\n    return output == expected\n\n"
        "def wrong_params(output, answer_key):\n    return 1.0\n\n"
        "def any_args(*args, **kwargs):\n    return 1.0\n"
    ),
    "bi_broken_metrics.py": 'raise RuntimeError("broken at import")\n',
    "bi_syntax_metrics.py": "def score(output:\n    return 1\n",
}

GOOD_CSV = "id,input,expected\n1,What is 2+2?,4\n2,Capital of France?,Paris\n"

BASE: dict[str, Any] = {
    "name": "corpus",
    "generator": {"source": "data.csv"},
    "runner": {"backend": "python", "function": "bi_app:answer"},
    "evaluator": {"metrics": [{"type": "exact_match"}]},
}

# A workspace path no process can create a directory in (sysfs refuses even root).
UNWRITABLE = "/sys/lm_eval_so_corpus_ws"


@dataclass(frozen=True)
class Case:
    id: str
    files: Mapping[str, str | bytes]  # relative path -> content; a path ending in "/" is a folder
    where: tuple[str, ...] = ()  # fragments the one error message must contain
    valid: bool = False
    dry_run: bool = True  # --dry-run (no model, nothing written) or a real run (python backend)
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workspace: str = "workspace"  # relative to the case folder (or absolute), to check no run dir

    @property
    def kind(self) -> str:
        return "valid" if self.valid else "invalid"


# --------------------------------------------------------------------------- helpers


def dump(data: Any) -> str:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 20)
    return text.replace(BIG_INT, "9" * 4301)


def line_of(text: str, loc: Loc) -> int:
    """The line PyYAML's composer puts ``loc`` on (the deepest part of it that is written)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def with_value(loc: Loc, value: Any, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(dict(base or BASE))
    target: Any = data
    for part in loc[:-1]:
        target = target.setdefault(part, {}) if isinstance(target, dict) else target[part]
    target[loc[-1]] = value
    return data


def project(pipeline: str | bytes, **files: str | bytes) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {"pipeline.yaml": pipeline}
    out.setdefault("data.csv", GOOD_CSV)
    for name, content in files.items():
        out[name.replace("__", ".").replace("_SLASH_", "/")] = content
    return out


def config_case(
    case_id: str, loc: Loc, value: Any, *, at: Loc | None = None, also: tuple[str, ...] = ()
) -> Case:
    """BASE with ``loc`` set to ``value``; the message must name the line and field ``at``."""
    text = dump(with_value(loc, value))
    at = loc if at is None else at
    where = (f"pipeline.yaml:{line_of(text, at)}: {format_loc(at)}", *also)
    if value == BIG_INT:  # refused while the YAML is read, before any field is known
        where = (f"pipeline.yaml:{line_of(text, at)}: ", "4,301 digits")
    return Case(case_id, project(text), where)


# --------------------------------------------------------------------------- config fields

NAN, INF = float("nan"), float("inf")
BIG_INT = "__BIG_INT__"  # written as 4,301 digits: Python refuses to make an int of it from text
NOT_NUMBERS: list[tuple[str, Any]] = [("text", "lots"), ("list", [1, 2]), ("mapping", {"a": 1})]
NOT_FINITE: list[tuple[str, Any]] = [("nan", NAN), ("inf", INF), ("-inf", -INF)]
HUGE_INTS: list[tuple[str, Any]] = [("1e30", 1e30), ("10**30", 10**30), ("4301-digits", BIG_INT)]


def _field_cases() -> Iterator[Case]:
    # Positive floats: zero, negatives, non-numbers and non-finite numbers are all refused.
    for loc in [
        ("runner", "timeout_s"),
        ("runner", "max_cost_usd"),
        ("runner", "rate_limit", "rpm"),
        ("runner", "rate_limit", "tpm"),
    ]:
        for name, value in [("zero", 0), ("negative", -1), *NOT_FINITE, *NOT_NUMBERS]:
            yield config_case(f"{format_loc(loc)}={name}", loc, value)
    yield config_case("runner.timeout_s=1e308", ("runner", "timeout_s"), 1e308)
    # Prices: non-negative and finite.
    for side in ("prompt_per_1m", "completion_per_1m"):
        for name, value in [("negative", -1), *NOT_FINITE, ("text", "cheap")]:
            pricing = {"prompt_per_1m": 1.0, "completion_per_1m": 2.0, side: value}
            yield config_case(
                f"runner.pricing.{side}={name}",
                ("runner", "pricing"),
                pricing,
                at=("runner", "pricing", side),
            )
    yield config_case(
        "runner.pricing.missing-side",
        ("runner", "pricing"),
        {"prompt_per_1m": 1.0},
        at=("runner", "pricing", "completion_per_1m"),
        also=("required field is missing",),
    )
    yield config_case(
        "runner.pricing.unknown-key",
        ("runner", "pricing"),
        {"prompt_per_1m": 1.0, "completion_per_1m": 1.0, "cached_per_1m": 1.0},
        at=("runner", "pricing", "cached_per_1m"),
    )
    yield config_case("runner.pricing=number", ("runner", "pricing"), 5)
    # Sampling parameters: bounded floats.
    for loc, outside in [
        (("runner", "params", "temperature"), [-0.1, 2.5]),
        (("runner", "params", "top_p"), [0, 1.5]),
        (("runner", "params", "presence_penalty"), [-3, 3]),
        (("runner", "params", "frequency_penalty"), [-2.5, 9]),
    ]:
        for value in outside:
            yield config_case(f"{format_loc(loc)}={value}", loc, value)
        for name, value in [*NOT_FINITE, ("text", "hot")]:
            yield config_case(f"{format_loc(loc)}={name}", loc, value)
    # Bounded and positive integers.
    for loc, bad in [
        (("generator", "limit"), [0, -1]),
        (("runner", "params", "max_tokens"), [0, -5]),
        (("runner", "concurrency"), [0, 5000]),
        (("runner", "max_retries"), [-1, 21]),
        (("runner", "repeats"), [0, 1001]),
    ]:
        for value in bad:
            yield config_case(f"{format_loc(loc)}={value}", loc, value)
        for name, value in [("fraction", 1.5), ("text", "ten"), ("list", [1]), *NOT_FINITE, *HUGE_INTS]:
            yield config_case(f"{format_loc(loc)}={name}", loc, value)
    # Seeds: whole numbers, not negative (numpy's bootstrap refuses them), not astronomically big.
    for loc in [("seed",), ("generator", "seed"), ("runner", "params", "seed")]:
        for name, value in [("fraction", 0.5), ("text", "x"), ("list", [1]), ("nan", NAN), ("inf", INF)]:
            yield config_case(f"{format_loc(loc)}={name}", loc, value)
        yield config_case(f"{format_loc(loc)}=10**30", loc, 10**30)
    yield config_case("seed=-1", ("seed",), -1)
    yield config_case("generator.seed=-1", ("generator", "seed"), -1)
    # Booleans.
    for loc in [("generator", "shuffle")]:
        for name, value in [("text", "maybe"), ("number", 2), ("list", [True])]:
            yield config_case(f"{format_loc(loc)}={name}", loc, value)
    # Names.
    for name, value in [
        ("empty", ""),
        ("space", "my pipeline"),
        ("slash", "a/b"),
        ("too-long", "x" * 65),
        ("number", 12),
        ("list", ["a"]),
        ("null", None),
        ("nul-char", "demo\x00"),
        ("lone-surrogate", "demo\ud800"),
    ]:
        yield config_case(f"name={name}", ("name",), value)
    for name, value in [("space", "my data"), ("empty", ""), ("dots", "..")]:
        yield config_case(f"generator.dataset_id={name}", ("generator", "dataset_id"), value)
    # Strings that are paths or identifiers.
    for loc in [("workspace",), ("generator", "source"), ("runner", "model"), ("runner", "api_key_env")]:
        yield config_case(f"{format_loc(loc)}=list", loc, ["a"])
        yield config_case(f"{format_loc(loc)}=nul-char", loc, "a\x00b")
        yield config_case(f"{format_loc(loc)}=lone-surrogate", loc, "a\udc80b")
    yield config_case("description=list", ("description",), ["a"])
    yield config_case("description=nul", ("description",), "a\x00b")
    yield config_case("requires_env=text", ("requires_env",), "OPENAI_API_KEY")
    yield config_case("requires_env=[number]", ("requires_env",), [1], at=("requires_env", 0))
    yield config_case("requires_env=[bad-name]", ("requires_env",), ["NOT A NAME"], at=("requires_env", 0))
    yield config_case("requires_env=[empty]", ("requires_env",), [""], at=("requires_env", 0))
    # Choices.
    for loc, value in [
        (("runner", "mode"), "stream"),
        (("runner", "cache"), "sometimes"),
        (("runner", "cache"), True),
        (("runner", "backend"), "no_such_backend"),
        (("generator", "format"), "xml"),
    ]:
        yield config_case(f"{format_loc(loc)}={value}", loc, value)
    # base_url (handled before this corpus existed: kept as regression cases).
    for name, url in [
        ("scheme", "ftp://example.com"),
        ("no-host", "http://"),
        ("port", "http://localhost:99999"),
        ("query", "http://localhost:8080/v1?key=sk-1"),
        ("words", "not a url"),
    ]:
        yield config_case(f"runner.base_url={name}", ("runner", "base_url"), url)
    # Structured values of the wrong shape.
    for loc, value in [
        (("runner", "params", "stop"), 5),
        (("runner", "params", "stop"), {"a": 1}),
        (("runner", "params", "extra_body"), ["a"]),
        (("runner", "params", "extra_body"), "x"),
        (("runner", "params"), "hot"),
        (("runner", "options"), ["a"]),
        (("runner", "rate_limit"), 60),
        (("runner",), "python"),
        (("generator",), "data.csv"),
        (("generator", "fields"), "input"),
        (("generator", "fields", "input"), ["a"]),
        (("generator", "fields", "bogus"), "x"),
        (("generator", "prompt"), "{input}"),
        (("generator", "prompt", "template"), 5),
        (("generator", "prompt", "template"), ""),
        (("generator", "prompt", "template"), "   "),
        (("generator", "prompt", "bogus"), "x"),
        (("evaluator",), ["exact_match"]),
        (("evaluator", "metrics"), "exact_match"),
        (("evaluator", "metrics"), []),
        (("evaluator", "limits"), 5),
        (("evaluator", "report"), "html"),
        (("evaluator", "report", "formats"), ["pdf"]),
        (("evaluator", "report", "formats"), [5]),
        (("evaluator", "bogus"), 1),
        (("runner", "bogus"), 1),
        (("generator", "bogus"), 1),
        (("bogus",), 1),
    ]:
        at = (*loc, 0) if loc == ("evaluator", "report", "formats") else loc
        yield config_case(f"{format_loc(loc)}={json.dumps(value)}", loc, value, at=at)
    yield config_case(
        "runner.params.stop=[1,2]", ("runner", "params", "stop"), [1, 2], at=("runner", "params", "stop", 0)
    )
    yield config_case(
        "runner.params.stop=[lone-surrogate]",
        ("runner", "params", "stop"),
        ["\ud800"],
        at=("runner", "params", "stop", 0),
    )
    yield config_case(
        "runner.options.unknown",
        ("runner", "options"),
        {"no_such_option": 1},
        at=("runner", "options", "no_such_option"),
    )
    yield config_case(
        "runner.rate_limit.rps",
        ("runner", "rate_limit"),
        {"rps": 1},
        at=("runner", "rate_limit", "rps"),
        also=("did you mean 'rpm'",),
    )
    yield config_case(
        "runner.params.extra_body.nan",
        ("runner", "params", "extra_body"),
        {"top_k": NAN},
        at=("runner", "params", "extra_body", "top_k"),
    )
    yield config_case(
        "runner.params.extra_body.inf",
        ("runner", "params", "extra_body"),
        {"top_k": INF},
        at=("runner", "params", "extra_body", "top_k"),
    )
    yield config_case("runner.options.nan", ("runner", "options"), {"x": NAN}, at=("runner", "options", "x"))
    # Missing required sections.
    yield Case("missing-generator", project(dump({"name": "x"})), ("pipeline.yaml:1: generator",))
    yield Case(
        "missing-name", project(dump({"generator": {"source": "data.csv"}})), ("pipeline.yaml:1: name",)
    )
    yield Case(
        "missing-source",
        project(dump({"name": "x", "generator": {"format": "csv"}})),
        ("pipeline.yaml:2: generator.source", "required field is missing"),
    )


def _metric_cases() -> Iterator[Case]:
    def metric(
        case_id: str, entry: Any, at: Loc = (), *also: str, extra: Mapping[str, str] | None = None
    ) -> Case:
        data = with_value(("evaluator", "metrics"), [entry])
        text = dump(data)
        loc = ("evaluator", "metrics", 0, *at)
        files = project(text, **(extra or {}))
        return Case(
            f"metric:{case_id}", files, (f"pipeline.yaml:{line_of(text, loc)}: {format_loc(loc)}", *also)
        )

    yield metric("unknown-type", {"type": "exact_matsh"}, ("type",), "did you mean")
    yield metric("no-type", {"name": "x"}, ("type",))
    yield metric("type-list", {"type": ["exact_match"]}, ("type",))
    yield metric("not-a-mapping", "exact_match")
    yield metric("bad-name", {"type": "exact_match", "name": "my metric"}, ("name",))
    yield metric("unknown-option", {"type": "exact_match", "normalise": ["lower"]}, ("normalise",))
    yield metric("bad-step", {"type": "exact_match", "normalize": ["bogus"]}, ("normalize", 0))
    yield metric("bad-steps-type", {"type": "exact_match", "normalize": 5}, ("normalize",))
    yield metric("contains-case-type", {"type": "contains", "case_sensitive": "maybe"}, ("case_sensitive",))
    for name, threshold, at in [
        ("percent", 80, ("threshold", "min")),
        ("above-range", {"max": 1.5}, ("threshold", "max")),
        ("below-range", {"min": -0.5}, ("threshold", "min")),
        ("nan", NAN, ("threshold", "min")),
        ("inf", {"max": INF}, ("threshold", "max")),
        ("-inf", {"min": -INF}, ("threshold", "min")),
        ("text", "high", ("threshold",)),
        ("empty", {}, ("threshold",)),
        ("min>max", {"min": 0.9, "max": 0.1}, ("threshold",)),
        ("gate", {"min": 0.5, "gate": "maybe"}, ("threshold", "gate")),
        (
            "inconclusive",
            {"min": 0.5, "gate": "confidence", "inconclusive": "skip"},
            ("threshold", "inconclusive"),
        ),
        ("unknown-key", {"minimum": 0.5}, ("threshold", "minimum")),
        ("list", [0.5], ("threshold",)),
    ]:
        yield metric(f"threshold-{name}", {"type": "exact_match", "threshold": threshold}, at)
    yield Case(
        "metric:duplicate-names",
        project(
            dump(with_value(("evaluator", "metrics"), [{"type": "exact_match"}, {"type": "exact_match"}]))
        ),
        ("pipeline.yaml:8: evaluator.metrics", "[0] and [1] are both called 'exact_match'"),
    )
    # regex
    yield metric(
        "regex-unbalanced", {"type": "regex", "pattern": "(a"}, ("pattern",), "invalid regular expression"
    )
    yield metric("regex-empty", {"type": "regex", "pattern": ""}, ("pattern",))
    yield metric("regex-bad-flag", {"type": "regex", "pattern": "a", "flags": ["verbose"]}, ("flags", 0))
    yield metric("regex-pattern-number", {"type": "regex", "pattern": ["a"]}, ("pattern",))
    # contains_any / contains_all / numeric / f1
    yield metric("contains_any-blank", {"type": "contains_any", "values": ["a", " "]}, ("values",))
    yield metric("contains_all-number-list", {"type": "contains_all", "values": {"a": 1}}, ("values",))
    yield metric("numeric-nan", {"type": "numeric", "tolerance": NAN}, ("tolerance",))
    yield metric("numeric-negative", {"type": "numeric", "tolerance": -1}, ("tolerance",))
    yield metric("numeric-pick", {"type": "numeric", "pick": "middle"}, ("pick",))
    yield metric("f1-bad-step", {"type": "f1", "normalize": ["stem"]}, ("normalize", 0))
    yield metric("chrf-word-order", {"type": "chrf", "word_order": 5}, ("word_order",))
    yield metric("rouge-variant", {"type": "rouge", "variant": "rouge9"}, ("variant",))
    yield metric("embedding-pass-at", {"type": "embedding_similarity", "pass_at": 2}, ("pass_at",))
    yield metric("embedding-pass-at-nan", {"type": "embedding_similarity", "pass_at": NAN}, ("pass_at",))
    # json_schema: schema files are read and checked when the pipeline loads.
    yield metric("json_schema-none", {"type": "json_schema"}, (), "give exactly one of")
    yield metric(
        "json_schema-both", {"type": "json_schema", "schema": {"type": "object"}, "schema_file": "s.json"}, ()
    )
    yield metric("json_schema-invalid-inline", {"type": "json_schema", "schema": {"type": 5}}, ())
    yield metric(
        "json_schema-missing-file",
        {"type": "json_schema", "schema_file": "missing.json"},
        ("schema_file",),
        "missing.json",
    )
    yield metric(
        "json_schema-file-not-json",
        {"type": "json_schema", "schema_file": "s.json"},
        ("schema_file",),
        "s.json",
        extra={"s__json": "{not json"},
    )
    yield metric(
        "json_schema-file-invalid-schema",
        {"type": "json_schema", "schema_file": "s.json"},
        ("schema_file",),
        "invalid JSON Schema",
        extra={"s__json": '{"type": 5}'},
    )
    yield metric(
        "json_schema-file-is-dir",
        {"type": "json_schema", "schema_file": "schemas"},
        ("schema_file",),
        extra={"schemas/": ""},
    )
    # python: the function is imported and its parameters checked when the pipeline loads.
    for name, spec, fragment in [
        ("typo", "bi_metrics:scroe", "did you mean 'score'"),
        ("no-module", "bi_no_such_module:score", "bi_no_such_module"),
        ("not-callable", "bi_metrics:CONSTANT", "not a function"),
        ("unknown-parameter", "bi_metrics:wrong_params", "answer_key"),
        ("raises-at-import", "bi_broken_metrics:score", "broken at import"),
        ("syntax-error", "bi_syntax_metrics:score", "SyntaxError"),
        ("no-colon", "bi_metrics.score", "package.module:function"),
        ("empty-attr", "bi_metrics:", "package.module:function"),
    ]:
        yield metric(f"python-{name}", {"type": "python", "function": spec}, ("function",), fragment)
    yield metric("python-no-function", {"type": "python"}, ("function",))
    yield metric(
        "python-binary-type",
        {"type": "python", "function": "bi_metrics:score", "binary": "maybe"},
        ("binary",),
    )
    # llm_judge: the judge's backend, options and prompt are checked when the pipeline loads.
    judge = {"backend": "python", "function": "bi_app:answer"}
    yield metric("judge-no-rubric", {"type": "llm_judge", "judge": judge}, ("rubric",))
    yield metric(
        "judge-unknown-backend",
        {"type": "llm_judge", "rubric": "r", "judge": {"backend": "nope"}},
        ("judge", "backend"),
        "nope",
    )
    yield metric(
        "judge-bad-placeholder",
        {"type": "llm_judge", "rubric": "r", "judge": judge, "prompt": "{answer}"},
        ("prompt",),
        "{answer}",
    )
    yield metric(
        "judge-lone-brace",
        {"type": "llm_judge", "rubric": "r", "judge": judge, "prompt": "{output} }"},
        ("prompt",),
    )
    yield metric(
        "judge-scale",
        {"type": "llm_judge", "rubric": "r", "judge": judge, "min_score": 5, "max_score": 1},
        (),
    )
    yield metric(
        "judge-timeout",
        {"type": "llm_judge", "rubric": "r", "judge": {**judge, "timeout_s": INF}},
        ("judge", "timeout_s"),
    )


def _limit_cases() -> Iterator[Case]:
    for name, value in [
        ("error_rate", 2),
        ("error_rate", -0.1),
        ("error_rate", NAN),
        ("cost_usd", INF),
        ("cost_usd", -1),
        ("latency_p95_ms", "fast"),
        ("latency_p95_ms", {"min": 5}),
    ]:
        loc = ("evaluator", "limits", name)
        at = (*loc, "min") if isinstance(value, dict) else loc
        yield config_case(f"limits.{name}={value}", loc, value, at=at)
    yield config_case("limits.unknown", ("evaluator", "limits", "tokens"), 5)


# --------------------------------------------------------------------------- YAML as text

BASE_TEXT = dump(BASE)


def _yaml_cases() -> Iterator[Case]:
    def text_case(case_id: str, text: str | bytes, *where: str, **files: str | bytes) -> Case:
        return Case(f"yaml:{case_id}", project(text, **files), where)

    head = "name: corpus\ngenerator:\n  source: data.csv\n"
    yield text_case("nul-byte", head + "description: a\x00b\n", "pipeline.yaml:4")
    yield text_case("nul-byte-in-key", head + "runner:\n  back\x00end: python\n", "pipeline.yaml:5")
    yield text_case("bell", head + "description: ring \x07\n", "pipeline.yaml:4")
    yield text_case("escape-char", "\x1b[31mname: corpus\n", "pipeline.yaml:1")
    yield text_case("nul-first-line", "\x00", "pipeline.yaml:1")
    yield text_case(
        "not-utf8", (head + "description: caf\xe9\n").encode("latin-1"), "pipeline.yaml:4", "UTF-8"
    )
    yield text_case("not-utf8-line1", b"name: \xff\xfe\xfd\n", "pipeline.yaml:1", "UTF-8")
    yield text_case("tab-indent", head + "runner:\n\tbackend: python\n", "pipeline.yaml:5")
    yield text_case("unclosed-quote", head + 'description: "open\n', "pipeline.yaml:")
    yield text_case("unclosed-flow", head + "runner: {backend: python\n", "pipeline.yaml:")
    yield text_case("bad-indent", head + "runner:\n  backend: python\n model: x\n", "pipeline.yaml:6")
    yield text_case("two-documents", head + "---\nname: other\n", "pipeline.yaml:4")
    yield text_case("duplicate-key", head + "name: again\n", "pipeline.yaml:4: name: duplicate key")
    yield text_case(
        "duplicate-nested-key",
        head + "runner:\n  backend: python\n  backend: openai\n",
        "pipeline.yaml:6: runner.backend: duplicate key",
    )
    yield text_case("undefined-alias", head + "description: *nowhere\n", "pipeline.yaml:4")
    yield text_case(
        "python-tag", head + "description: !!python/object/apply:os.system ['true']\n", "pipeline.yaml:4"
    )
    yield text_case("unknown-tag", head + "description: !secret x\n", "pipeline.yaml:4")
    yield text_case("impossible-date", head + "description: 2024-13-45\n", "pipeline.yaml:4", "month")
    yield text_case("duplicate-anchor", head + "a: &x 1\nb: &x 2\nc: *x\n", "pipeline.yaml:")
    yield text_case("yaml-2.0-directive", "%YAML 2.0\n---\n" + head, "pipeline.yaml:")
    yield text_case("bad-directive-place", head + "%YAML 1.1\n", "pipeline.yaml:", "document start")
    yield text_case("document-end-then-more", head + "...\nname: x\n", "pipeline.yaml:")
    yield text_case("stray-closing-bracket", head + "description: a]\nrunner: ]\n", "pipeline.yaml:5")
    yield text_case("stray-colon", head + "runner:\n  backend: a: b\n", "pipeline.yaml:5")
    yield text_case("unhashable-key", head + "? [a, b]\n: 1\n", "pipeline.yaml:")
    yield text_case("merge-not-mapping", head + "runner:\n  <<: 5\n", "pipeline.yaml:5")
    yield text_case(
        "merge-alias-of-list", head + "description: &l [1]\nrunner:\n  <<: *l\n", "pipeline.yaml:", "merg"
    )
    yield text_case("list-document", "- name: corpus\n", "pipeline.yaml:1", "must be a mapping")
    yield text_case("scalar-document", "corpus\n", "pipeline.yaml:1", "must be a mapping")
    yield text_case("empty-document", "", "pipeline.yaml", "must be a mapping")
    yield text_case("comment-only", "# nothing here\n", "pipeline.yaml", "must be a mapping")
    yield text_case("int-key", head + "1: one\n", "pipeline.yaml:4")
    yield text_case("null-key", head + "~: nothing\n", "pipeline.yaml:4")
    yield text_case(
        "timestamp-name", "name: 2024-01-01\ngenerator:\n  source: data.csv\n", "pipeline.yaml:1: name"
    )
    yield text_case("binary-not-text", head + "description: !!binary /w==\n", "pipeline.yaml:4: description")
    yield text_case(
        "lone-surrogate-escape", head + 'description: "\\ud800"\n', "pipeline.yaml:4: description"
    )
    yield text_case("nul-escape", head + 'description: "a\\0b"\n', "pipeline.yaml:4: description")
    # Recursion and amplification.
    yield text_case("recursive-alias", head + "description: &a [*a]\n", "pipeline.yaml:4", "recursive")
    yield text_case(
        "recursive-alias-mapping", head + "runner: &r\n  options: *r\n", "pipeline.yaml:5", "recursive"
    )
    yield text_case(
        "deep-flow-list", head + "description: " + "[" * 5000 + "]" * 5000 + "\n", "pipeline.yaml:4", "deep"
    )
    yield text_case(
        "deep-flow-map",
        head + "description: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "pipeline.yaml:4",
        "deep",
    )
    deep_block = "".join("  " * i + "a:\n" for i in range(3000)) + "  " * 3000 + "1\n"
    yield text_case(
        "deep-block-map", head + "runner:\n  options:\n" + _indent(deep_block, 4), "pipeline.yaml:", "deep"
    )
    laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdef":  # 9**6 leaves: enough to show, small enough for the old code to finish
        prev = chr(ord(level) - 1)
        laughs.append(f"{level}: &{level} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = (
        head
        + "runner:\n  backend: python\n  function: bi_app:answer\n  options:\n"
        + _indent("\n".join(laughs) + "\n", 4)
    )
    yield text_case("alias-bomb", bomb, "pipeline.yaml:", "alias")
    wide = head + "x: &x [" + ", ".join(["word"] * 100) + "]\ny: &y [" + ", ".join(["*x"] * 100) + "]\n"
    yield text_case("alias-wide", wide + "z: [" + ", ".join(["*y"] * 30) + "]\n", "pipeline.yaml:", "alias")
    # Malformed ${...} references: each is an error at its line, never the literal text.
    for case_id, value in [
        ("unclosed", "${OPENAI_MODEL"),
        ("digit-first", "${1BAD}"),
        ("colon-without-dash", "${OPENAI_MODEL:gpt-4o}"),
        ("empty", "${}"),
        ("spaces", "${ OPENAI_MODEL }"),
        ("nested", "${A:-${B}}"),
        ("dash-without-colon", "${OPENAI_MODEL-gpt}"),
        ("trailing-unclosed", "gpt-${VERSION"),
        ("dollar-brace-only", "${"),
        ("question-mark", "${OPENAI_MODEL:?required}"),
    ]:
        text = BASE_TEXT.replace("function: bi_app:answer", f"function: bi_app:answer\n  model: '{value}'")
        yield Case(
            f"interpolation:{case_id}",
            project(text),
            (f"pipeline.yaml:{line_of(text, ('runner', 'model'))}: runner.model", "${"),
            env={"OPENAI_MODEL": "gpt-4o", "A": "a", "B": "b", "VERSION": "4"},
        )
    in_list = BASE_TEXT.replace("- type: exact_match", "- type: contains_any\n    values: [ok, '${WORD']")
    yield Case(
        "interpolation:in-list", project(in_list), ("pipeline.yaml:", "evaluator.metrics[0].values[1]")
    )
    yield Case(
        "interpolation:unset",
        project(BASE_TEXT.replace("name: corpus", "name: ${NO_SUCH_VARIABLE_SET}")),
        ("pipeline.yaml:1: name", "NO_SUCH_VARIABLE_SET is not set"),
    )


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


# --------------------------------------------------------------------------- data files


def _data_cases() -> Iterator[Case]:
    def data(
        case_id: str,
        name: str,
        content: str | bytes,
        *where: str,
        gen: Mapping[str, Any] | None = None,
        dry_run: bool = True,
    ) -> Case:
        config = with_value(("generator", "source"), name)
        config["generator"].update(gen or {})
        files: dict[str, str | bytes] = {"pipeline.yaml": dump(config), name: content}
        return Case(f"data:{case_id}", files, where, dry_run=dry_run)

    header = "id,input,expected\n"
    # CSV
    yield data(
        "csv-not-utf8", "data.csv", (header + "1,caf\xe9,x\n").encode("latin-1"), "data.csv:2", "UTF-8"
    )
    yield data(
        "csv-utf16", "data.csv", ("\ufeff" + header + "1,a,b\n").encode("utf-16"), "data.csv:1", "UTF-8"
    )
    yield data("csv-nul", "data.csv", header + "1,a\x00b,x\n", "data.csv:2", "NUL")
    yield data("csv-nul-header", "data.csv", "id,in\x00put,expected\n1,a,b\n", "data.csv:1", "NUL")
    yield data("csv-unclosed-quote", "data.csv", header + '1,"open,x\n2,b,c\n', "data.csv:2")
    yield data("csv-too-many-fields", "data.csv", header + "1,a,b\n2,a,b,c\n", "data.csv:3")
    yield data("csv-too-few-fields", "data.csv", header + "1,a\n", "data.csv:2")
    yield data("csv-duplicate-header", "data.csv", "id,input,input\n1,a,b\n", "data.csv:1", "twice")
    yield data("csv-empty-file", "data.csv", "", "data.csv", "empty")
    yield data("csv-bom-only", "data.csv", "\ufeff", "data.csv", "empty")
    yield data("csv-header-only", "data.csv", header, "data.csv", "no rows")
    yield data("csv-blank-input", "data.csv", header + "1,  ,x\n", "data.csv:2", "'input'")
    yield data("csv-blank-expected", "data.csv", header + "1,a,   \n", "data.csv:2", "blank")
    yield data("csv-zero-width-expected", "data.csv", header + "1,a,\u200b\n", "data.csv:2", "blank")
    yield data("csv-duplicate-id", "data.csv", header + "1,a,b\n2,c,d\n1,e,f\n", "data.csv:4", "duplicate id")
    yield data("csv-blank-id", "data.csv", header + " ,a,b\n", "data.csv:2", "'id'")
    yield data(
        "csv-missing-column",
        "data.csv",
        "id,question,expected\n1,a,b\n",
        "generator.fields.input",
        "'inpt'",
        gen={"fields": {"input": "inpt"}},
    )
    yield data("csv-stray-quote", "data.csv", header + '1,a "quoted" b,"x"y\n', "data.csv:2")
    yield data("csv-is-directory", "data.csv", "", "data.csv")  # replaced below by a folder
    yield data("csv-lone-cr", "data.csv", header + '1,"a\rb",x\n2,c\r3,d\n', "data.csv:")
    yield data("unknown-suffix", "data.txt", header + "1,a,b\n", "data.txt", "generator.format")
    yield data(
        "placeholder",
        "data.csv",
        header + "1,a,b\n",
        "generator.prompt.template",
        "{question}",
        gen={"prompt": {"template": "Q: {question}"}},
    )
    # JSONL
    yield data(
        "jsonl-deep",
        "data.jsonl",
        '{"id": "1", "input": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
        "data.jsonl:1",
        "deep",
    )
    yield data(
        "jsonl-moderately-deep",
        "data.jsonl",
        '{"id": "1", "input": "a", "meta": ' + "[" * 500 + "]" * 500 + "}\n",
        "data.jsonl:1",
        "deep",
    )
    yield data(
        "jsonl-big-int", "data.jsonl", '{"id": 1, "input": ' + "9" * 5000 + "}\n", "data.jsonl:1", "digits"
    )
    yield data(
        "jsonl-big-int-metadata",
        "data.jsonl",
        '{"id": 1, "input": "a", "n": ' + "1" * 4301 + "}\n",
        "data.jsonl:1",
        "digits",
    )
    yield data(
        "jsonl-lone-surrogate",
        "data.jsonl",
        '{"id": "1", "input": "a\\ud800b"}\n',
        "data.jsonl:1",
        "surrogate",
    )
    yield data(
        "jsonl-lone-low-surrogate-key",
        "data.jsonl",
        '{"id": "1", "input": "a", "k\\udc00": 1}\n',
        "data.jsonl:1",
        "surrogate",
    )
    yield data("jsonl-nan", "data.jsonl", '{"id": "1", "input": "a", "score": NaN}\n', "data.jsonl:1", "NaN")
    yield data(
        "jsonl-infinity", "data.jsonl", '{"id": "1", "input": -Infinity}\n', "data.jsonl:1", "Infinity"
    )
    yield data("jsonl-invalid", "data.jsonl", '{"id": "1", "input": "a"}\n{"id": 2,\n', "data.jsonl:2")
    yield data(
        "jsonl-not-object", "data.jsonl", '{"id": "1", "input": "a"}\n["x"]\n', "data.jsonl:2", "a list"
    )
    yield data("jsonl-not-utf8", "data.jsonl", b'{"id": "1", "input": "caf\xe9"}\n', "data.jsonl:1", "UTF-8")
    yield data(
        "jsonl-blank-expected",
        "data.jsonl",
        '{"id": "1", "input": "a", "expected": " "}\n',
        "data.jsonl:1",
        "blank",
    )
    yield data(
        "jsonl-blank-answer",
        "data.jsonl",
        '{"id": "1", "input": "a", "expected": ["x", "\\t"]}\n',
        "data.jsonl:1",
        "blank",
    )
    yield data(
        "jsonl-expected-object",
        "data.jsonl",
        '{"id": "1", "input": "a", "expected": {"x": 1}}\n',
        "data.jsonl:1",
        "an object",
    )
    yield data("jsonl-input-null", "data.jsonl", '{"id": "1", "input": null}\n', "data.jsonl:1", "'input'")
    yield data("jsonl-input-list", "data.jsonl", '{"id": "1", "input": ["a"]}\n', "data.jsonl:1", "a list")
    yield data(
        "jsonl-id-object", "data.jsonl", '{"id": {"a": 1}, "input": "a"}\n', "data.jsonl:1", "an object"
    )
    yield data("jsonl-empty", "data.jsonl", "", "data.jsonl", "no rows")
    yield data("jsonl-blank-lines-only", "data.jsonl", "\n\n  \n", "data.jsonl", "no rows")
    yield data(
        "jsonl-duplicate-id",
        "data.jsonl",
        '{"id": "a", "input": "x"}\n{"id": "a", "input": "y"}\n',
        "data.jsonl:2",
        "duplicate id",
    )
    yield data("jsonl-nul-byte", "data.jsonl", '{"id": "1", "input": "a"}\x00\n', "data.jsonl:1")
    yield data(
        "jsonl-missing-input",
        "data.jsonl",
        '{"id": "1", "input": "a"}\n{"id": "2"}\n',
        "data.jsonl:2",
        "'input'",
    )
    yield data(
        "jsonl-missing-placeholder-column",
        "data.jsonl",
        '{"id": "1", "input": "a", "ctx": "c"}\n{"id": "2", "input": "b"}\n',
        "data.jsonl:2",
        "ctx",
        gen={"prompt": {"template": "{ctx}: {input}"}},
    )
    # JSON
    yield data("json-deep", "data.json", "[" * 100_000 + "]" * 100_000, "data.json:1", "deep")
    yield data(
        "json-deep-later-line",
        "data.json",
        '[\n{"id": "1", "input": "a"},\n' + "[" * 100_000 + "]" * 100_000 + "\n]",
        "data.json:3",
        "deep",
    )
    yield data(
        "json-big-int", "data.json", '[{"id": "1", "input": ' + "7" * 4400 + "}]", "data.json", "digits"
    )
    yield data(
        "json-lone-surrogate", "data.json", '[{"id": "1", "input": "\\udfff"}]', "data.json", "surrogate"
    )
    yield data("json-nan", "data.json", '[{"id": "1", "input": "a", "x": NaN}]', "data.json", "NaN")
    yield data("json-invalid", "data.json", '[\n{"id": "1", "input": "a"},\n]\n', "data.json:3")
    yield data("json-scalar", "data.json", '"just text"', "data.json", "a string")
    yield data("json-list-of-lists", "data.json", '[["a"]]', "data.json: item 1", "a list")
    yield data("json-two-lists", "data.json", '{"a": [], "b": []}', "data.json", "several lists")
    yield data("json-empty-list", "data.json", "[]", "data.json", "no rows")
    yield data("json-empty-file", "data.json", "", "data.json:1")
    yield data("json-not-utf8", "data.json", b'[{"id": "1", "input": "\xff"}]', "data.json:1", "UTF-8")
    yield data(
        "json-blank-expected",
        "data.json",
        '[{"id": "1", "input": "a", "expected": "\\u00a0"}]',
        "data.json: item 1",
        "blank",
    )
    yield data(
        "json-duplicate-id",
        "data.json",
        '[{"id": 1, "input": "a"}, {"id": "1", "input": "b"}]',
        "data.json: item 2",
        "duplicate id",
    )
    yield data("json-trailing-garbage", "data.json", '[{"id": "1", "input": "a"}] x', "data.json:1")


# --------------------------------------------------------------------------- runs and workspaces


def _run_cases() -> Iterator[Case]:
    # The backend is checked before anything is written: a real run (a dry run reports these
    # as NOT READY in its plan).
    for case_id, function, where in [
        ("typo", "bi_app:answr", ("runner.function", "bi_app")),
        ("no-module", "bi_no_such_app:answer", ("runner.function", "bi_no_such_app")),
        ("not-callable", "bi_metrics:CONSTANT", ("runner.function", "not a function")),
        ("no-colon", "bi_app.answer", ("runner.function", "package.module:function")),
    ]:
        yield Case(
            f"backend:function-{case_id}",
            project(dump(with_value(("runner", "function"), function))),
            where,
            dry_run=False,
        )
    seeded = with_value(("evaluator", "metrics"), [{"type": "f1"}])
    seeded["seed"] = -1  # numpy's bootstrap refused it after every call was made
    text = dump(seeded)
    yield Case(
        "run:negative-seed",
        project(text),
        (f"pipeline.yaml:{line_of(text, ('seed',))}: seed",),
        dry_run=False,
    )
    openai = dump(with_value(("runner",), {"backend": "openai", "model": "gpt-4o-mini"}))
    yield Case(
        "backend:openai-no-key", project(openai), ("OPENAI_API_KEY", "runner.api_key_env"), dry_run=False
    )
    text = dump(with_value(("workspace",), "ws"))
    yield Case(
        "workspace:is-a-file",
        project(text, ws="not a folder"),
        (f"pipeline.yaml:{line_of(text, ('workspace',))}: workspace", "not a directory"),
        dry_run=False,
        workspace="ws",
    )
    text = dump(with_value(("workspace",), "ws/inner"))
    yield Case(
        "workspace:under-a-file",
        project(text, ws="not a folder"),
        (f"pipeline.yaml:{line_of(text, ('workspace',))}: workspace", "not a directory"),
        dry_run=False,
        workspace="ws/inner",
    )
    text = dump(with_value(("workspace",), UNWRITABLE))
    yield Case("workspace:unwritable", project(text), (UNWRITABLE,), dry_run=False, workspace=UNWRITABLE)
    yield Case(
        "workspace:--workspace-dir-is-a-file",
        project(BASE_TEXT, wsfile="x"),
        ("wsfile", "not a directory"),
        dry_run=False,
        args=("--workspace-dir", "wsfile"),
        workspace="wsfile",
    )
    yield Case(
        "run:limit-1e30",
        project(dump(with_value(("generator", "limit"), 1e30))),
        ("pipeline.yaml:", "generator.limit"),
        dry_run=False,
    )
    yield Case(
        "run:python-metric-typo",
        project(
            dump(with_value(("evaluator", "metrics"), [{"type": "python", "function": "bi_metrics:scroe"}]))
        ),
        ("pipeline.yaml:", "evaluator.metrics[0].function", "did you mean 'score'"),
        dry_run=False,
    )
    # Overrides get the checks loading does, before any model call.
    for case_id, override, where in [
        ("percent-threshold", "evaluator.metrics.0.threshold=80", ("override", "threshold.min", "0.8")),
        ("metric-type", "evaluator.metrics.0.type=exact_matsh", ("override", "unknown metric 'exact_matsh'")),
        (
            "metric-index-out-of-range",
            "evaluator.metrics.3.threshold=0.5",
            ("override", "evaluator.metrics.3"),
        ),
        ("index-into-mapping", "runner.0=1", ("override", "runner.0")),
        ("index-into-scalar", "name.x=1", ("override", "name.x")),
        ("timeout-inf", "runner.timeout_s=.inf", ("override", "runner.timeout_s")),
        ("limit-huge", "generator.limit=1e30", ("override", "generator.limit")),
        ("backend", "runner.backend=nope", ("override", "runner.backend", "nope")),
        (
            "python-metric",
            "evaluator.metrics.0={type: python, function: 'bi_metrics:scroe'}",
            ("override", "did you mean 'score'"),
        ),
        ("malformed-value", "runner.params=[1", ("--set", "runner.params")),
        ("no-equals", "runner.model", ("--set", "runner.model")),
        ("malformed-interpolation-is-literal", "runner.model=${X", ()),
    ]:
        yield Case(
            f"override:{case_id}",
            project(BASE_TEXT),
            where,
            valid=not where,
            dry_run=False,
            args=("--set", override),
        )


# --------------------------------------------------------------------------- valid inputs


def _valid_cases() -> Iterator[Case]:
    def ok(
        case_id: str,
        pipeline: str | bytes,
        *,
        dry_run: bool = False,
        env: Mapping[str, str] | None = None,
        **files: str | bytes,
    ) -> Case:
        return Case(
            f"valid:{case_id}", project(pipeline, **files), valid=True, dry_run=dry_run, env=env or {}
        )

    csv_source = "generator:\n  source: data.csv\n"
    backend = "runner:\n  backend: python\n  function: bi_app:answer\n"
    yield ok("base", BASE_TEXT)
    yield ok("base-dry-run", BASE_TEXT, dry_run=True)
    yield ok("unicode-data", BASE_TEXT, data__csv="id,input,expected\nα,Qu'est-ce que c'est ? 質問 🙂,Ça\n")
    yield ok(
        "unicode-columns",
        BASE_TEXT.replace(
            "source: data.csv", "source: data.csv\n  fields: {id: 番号, input: 質問, expected: 答え}"
        ),
        data__csv="番号,質問,答え\n1,二足す二は？,四\n",
    )
    yield ok("crlf-yaml", BASE_TEXT.replace("\n", "\r\n"))
    yield ok("crlf-csv", BASE_TEXT, data__csv=GOOD_CSV.replace("\n", "\r\n"))
    yield ok("bom-yaml", "\ufeff" + BASE_TEXT)
    yield ok("bom-yaml-bytes", b"\xef\xbb\xbf" + BASE_TEXT.encode())
    yield ok("utf16-yaml", ("\ufeff" + BASE_TEXT).encode("utf-16-le"))
    yield ok("bom-csv", BASE_TEXT, data__csv="\ufeff" + GOOD_CSV)
    yield ok(
        "bom-crlf-jsonl",
        BASE_TEXT.replace("data.csv", "data.jsonl"),
        data__jsonl='\ufeff{"id": "1", "input": "a", "expected": "4"}\r\n\r\n'
        '{"id": "2", "input": "b", "expected": "c"}\r\n',
    )
    yield ok(
        "quoted-csv-newlines",
        BASE_TEXT,
        data__csv='id,input,expected\n1,"line one\nline two, with a comma",4\n2,"say ""hi""",hi\n',
    )
    yield ok("csv-long-field", BASE_TEXT, data__csv=f"id,input,expected\n1,{'x' * 300_000},4\n")
    yield ok("csv-no-trailing-newline", BASE_TEXT, data__csv=GOOD_CSV.rstrip("\n"))
    yield ok("csv-blank-lines", BASE_TEXT, data__csv="\n" + GOOD_CSV.replace("\n", "\n\n"))
    yield ok(
        "csv-empty-expected",
        BASE_TEXT.replace("- type: exact_match", "- type: json_valid"),
        data__csv="id,input,expected\n1,a,\n",
    )
    yield ok(
        "jsonl-numbers-as-written",
        BASE_TEXT.replace("data.csv", "data.jsonl"),
        data__jsonl='{"id": 1, "input": 1.10, "expected": 4, "n": 1e3, "big": ' + "9" * 100 + "}\n",
    )
    yield ok(
        "jsonl-escapes",
        BASE_TEXT.replace("data.csv", "data.jsonl"),
        data__jsonl='{"id": "\\ud83d\\ude00", "input": "tab\\there \\u0000 nul", "expected": "4"}\n',
    )
    yield ok(
        "jsonl-line-separators",
        BASE_TEXT.replace("data.csv", "data.jsonl"),
        data__jsonl='{"id": "1", "input": "a\u2028b\u2029c\x85d", "expected": "4"}\n',
    )
    yield ok(
        "json-wrapped",
        BASE_TEXT.replace("data.csv", "data.json"),
        data__json='{"meta": "x", "data": [{"id": "1", "input": "a", "expected": ["4", "four"]}]}',
    )
    yield ok(
        "json-nested-metadata",
        BASE_TEXT.replace("data.csv", "data.json"),
        data__json='[{"id": "1", "input": "a", "expected": "4", "meta": ' + "[" * 50 + "1" + "]" * 50 + "}]",
    )
    yield ok(
        "explicit-format",
        BASE_TEXT.replace("source: data.csv", "source: data.txt\n  format: csv"),
        data__txt=GOOD_CSV,
    )
    yield ok(
        "anchors-and-aliases",
        "name: corpus\n" + csv_source + backend + "evaluator:\n  metrics:\n"
        "    - &em {type: exact_match, threshold: &em_t {min: 0.0}}\n"
        "    - {type: contains, threshold: *em_t}\n",
    )
    yield ok(
        "merge-key-override",
        "name: corpus\n" + csv_source + backend + "evaluator:\n  metrics:\n"
        "    - &base_em\n      type: exact_match\n      normalize: [strip, lower]\n"
        "    - <<: *base_em\n      name: em_strict\n      normalize: [strip]\n",
    )
    yield ok(
        "merge-key-list",
        "name: corpus\n" + csv_source + "runner:\n  <<: [{backend: python}, "
        "{function: bi_app:answer, timeout_s: 9}]\n  timeout_s: 5\n",
    )
    yield ok(
        "comments",
        "# a pipeline\nname: corpus  # the name\n"
        + csv_source
        + "# runner next\n"
        + backend
        + "evaluator:\n  metrics:\n    # the metric\n    - type: exact_match\n",
    )
    yield ok(
        "flow-style",
        "{name: corpus, generator: {source: data.csv}, runner: {backend: python, "
        "function: 'bi_app:answer'}, evaluator: {metrics: [{type: exact_match}]}}\n",
    )
    yield ok(
        "dollar-escapes",
        BASE_TEXT.replace(
            "source: data.csv",
            "source: data.csv\n  prompt:\n    template: 'Costs $$5 and $${{LITERAL}} and $$${X:-y} {input}'",
        ),
    )
    yield ok(
        "interpolation",
        BASE_TEXT.replace("name: corpus", "name: ${CORPUS_NAME}-${UNSET_VAR:-x}"),
        env={"CORPUS_NAME": "c"},
    )
    yield ok(
        "interpolation-empty-default",
        BASE_TEXT.replace("backend: python", "backend: python\n  base_url: ${UNSET_URL:-}"),
        dry_run=True,
    )
    yield ok(
        "empty-optional-sections",
        "name: corpus\n" + csv_source + backend + "evaluator:\n  limits: {}\n  report: {}\n",
    )
    yield ok("null-optionals", BASE_TEXT + "description: ~\nseed: 0\n", dry_run=True)
    yield ok(
        "runner-defaults-dry",
        "name: corpus\n" + csv_source + "runner: {model: gpt-4o-mini}\nevaluator: {}\n",
        dry_run=True,
        env={"OPENAI_API_KEY": "sk-test"},
    )
    yield ok(
        "block-scalars",
        BASE_TEXT.replace(
            "source: data.csv",
            "source: data.csv\n  prompt:\n    system: |\n"
            "      Be brief.\n      Very brief.\n    template: >-\n      Answer\n      {input}",
        ),
    )
    yield ok(
        "stop-string",
        BASE_TEXT.replace(
            "function: bi_app:answer", 'function: bi_app:answer\n  params: {stop: "\\n", temperature: 0}'
        ),
    )
    yield ok("cache-off", BASE_TEXT.replace("backend: python", "backend: python\n  cache: off"))
    yield ok(
        "thresholds-and-limits",
        BASE_TEXT.replace(
            "- type: exact_match",
            "- type: exact_match\n"
            "    threshold: 0\n  limits:\n    error_rate: 0\n    latency_p95_ms: {max: 60000}",
        ),
    )
    yield ok(
        "python-metric",
        BASE_TEXT.replace(
            "- type: exact_match",
            "- type: python\n    function: bi_metrics:score\n    binary: true\n    threshold: 0.0",
        ),
    )
    yield ok(
        "json-schema-file",
        BASE_TEXT.replace("- type: exact_match", "- type: json_schema\n    schema_file: s.json"),
        s__json='{"type": "string"}',
    )
    yield ok("workspace-with-spaces", BASE_TEXT + "workspace: my work space\n")
    yield ok(
        "big-but-fine-numbers",
        BASE_TEXT.replace(
            "function: bi_app:answer",
            "function: bi_app:answer\n"
            "  timeout_s: 3600\n  max_cost_usd: 1e6\n  rate_limit: {rpm: 6e5}\n"
            "  params: {max_tokens: 100000, seed: 9223372036854775807}\n"
            "  pricing: {prompt_per_1m: 0, completion_per_1m: 1000}",
        ),
    )
    yield ok("limit-above-rows", BASE_TEXT.replace("source: data.csv", "source: data.csv\n  limit: 1000000"))
    yield ok("long-line-yaml", BASE_TEXT + "description: " + "d" * 200_000 + "\n")
    yield ok(
        "many-metrics-via-alias",
        "name: corpus\n" + csv_source + backend + "evaluator:\n  metrics:\n"
        "    - {type: exact_match, name: m0, normalize: &n [strip, lower]}\n"
        + "".join(f"    - {{type: exact_match, name: m{i}, normalize: *n}}\n" for i in range(1, 200)),
        dry_run=True,
    )
    yield ok("yaml-1.1-booleans", BASE_TEXT.replace("source: data.csv", "source: data.csv\n  shuffle: yes"))
    yield ok("unicode-description", BASE_TEXT + "description: Évaluation — 評価 🙂\n")


# --------------------------------------------------------------------------- all


def _folder_fixups(case: Case) -> Case:
    if case.id == "data:csv-is-directory":
        files = dict(case.files)
        files.pop("data.csv")
        files["data.csv/"] = ""
        return Case(case.id, files, case.where)
    return case


def all_cases() -> list[Case]:
    cases = [
        *_field_cases(),
        *_metric_cases(),
        *_limit_cases(),
        *_yaml_cases(),
        *_data_cases(),
        *_run_cases(),
        *_valid_cases(),
    ]
    cases = [_folder_fixups(case) for case in cases]
    ids = [case.id for case in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    return cases


def write_case(case: Case, folder: Path) -> Path:
    for name, content in case.files.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8", "surrogatepass"))
    return folder / "pipeline.yaml"


def write_shared_modules(folder: Path) -> None:
    for name, content in SHARED_MODULES.items():
        (folder / name).write_text(content, encoding="utf-8")


def command(case: Case, pipeline: Path) -> list[str]:
    args = ["-q", "run", str(pipeline), *case.args]
    return [*args, "--dry-run"] if case.dry_run else args


Check = Callable[[Case, int, str, str, Path], list[str]]


def problems(case: Case, code: int, stdout: str, stderr: str, folder: Path) -> list[str]:
    """What is wrong with how ``case`` was handled; [] when it was handled right."""
    found: list[str] = []
    if code == 3 or "internal error" in stderr:
        found.append("internal error (exit 3)")
    if "Traceback" in stderr or "Traceback" in stdout:
        found.append("traceback")
    if case.valid:
        if code != 0:
            found.append(f"valid input refused (exit {code}): {stderr.strip()[:300]}")
        return found
    if code != 2:
        found.append(f"exit {code}, not 2")
    errors = stderr.count("lm-eval-so: error:")
    if errors != 1:
        found.append(f"{errors} error messages, not 1")
    missing = [f for f in case.where if f not in stderr]
    if missing:
        found.append(f"message lacks {missing}: {stderr.strip()[:300]!r}")
    runs = Path(case.workspace) if Path(case.workspace).is_absolute() else folder / case.workspace
    runs = runs / "runs"
    if runs.is_dir() and any(runs.iterdir()):
        found.append("a run directory was created")
    return found


def _outcome(case: Case, code: int, found: list[str]) -> str:
    """One word for how a case went, the worst thing first."""
    if not found:
        return "handled right"
    if code == 3 or any("internal error" in f or "traceback" in f for f in found):
        return f"{case.kind}: internal error (exit 3)"
    if case.valid:
        return "valid: refused"
    if code == 0:
        return "invalid: accepted (exit 0)"
    if code != 2:
        return f"invalid: exit {code}"
    if any("run directory" in f for f in found):
        return "invalid: exit 2 after a run directory was created"
    return "invalid: exit 2, message not located (or not one message)"


def run_all(selected: list[Case], verbose: bool) -> dict[str, int]:
    """Run ``selected`` in this process (as the test does) and count the outcomes.

    ``PYTHONPATH=/path/to/other/checkout/src python tests/bad_inputs_corpus.py --run`` measures
    another version of lm-eval-so with the same corpus.
    """
    import contextlib
    import io
    import os
    import signal
    import sys
    import tempfile

    from lm_eval_so._internal.cli import main

    def timeout(signum: int, frame: Any) -> None:
        raise TimeoutError("took more than 60 s")

    counts: dict[str, int] = {"handled right": 0}
    root = Path(tempfile.mkdtemp(prefix="bad_inputs_"))
    write_shared_modules(root)
    sys.path.append(str(root))
    for name in [n for n in os.environ if n.startswith(("OPENAI_", "LM_EVAL_SO_"))]:
        del os.environ[name]
    for number, case in enumerate(selected):
        folder = root / f"case{number}"
        folder.mkdir()
        os.chdir(folder)
        saved_env = dict(os.environ)
        os.environ.update(case.env)
        out, err = io.StringIO(), io.StringIO()
        signal.signal(signal.SIGALRM, timeout)
        signal.alarm(60)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(command(case, write_case(case, folder)))
        except SystemExit as exc:
            code = int(exc.code or 0)
        except BaseException as exc:
            code, err = 3, io.StringIO(f"internal error: escaped main: {type(exc).__name__}: {exc}")
        finally:
            signal.alarm(0)
            os.environ.clear()
            os.environ.update(saved_env)
        found = problems(case, code, out.getvalue(), err.getvalue(), folder)
        key = _outcome(case, code, found)
        counts[key] = counts.get(key, 0) + 1
        if found and verbose:
            print(f"{case.id}: {' | '.join(found)}", file=sys.__stdout__)
    return counts


if __name__ == "__main__":
    import sys

    cases = all_cases()
    print(
        f"{len(cases)} cases: {sum(c.valid for c in cases)} valid, {sum(not c.valid for c in cases)} invalid"
    )
    if "--run" in sys.argv:
        wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
        chosen = [c for c in cases if not wanted or any(w in c.id for w in wanted)]
        for outcome, count in sorted(run_all(chosen, "-v" in sys.argv).items()):
            print(f"{count:5d}  {outcome}")
