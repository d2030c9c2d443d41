"""``lm-eval-so plugins``: everything registered, with distribution, version and import path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_eval_so._internal.cli import main
from plugin_fake_dists import write_dist


def test_the_table_lists_builtins_with_their_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["kind", "name", "distribution", "version", "import", "path"]
    row = next(line.split() for line in lines if " exact_match " in line)
    assert row[0] == "metric" and row[2] == "lm-eval-so"
    # The core's classes live in internal modules; the table says "built-in" instead.
    assert row[4] == "built-in" and "_internal" not in "\n".join(lines)
    assert {line.split()[0] for line in lines[1:]} >= {"backend", "metric", "reporter", "source"}


def test_json_output_filtered_by_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json", "--kind", "sources"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["kind"] for row in rows} == {"source"}
    csv = next(row for row in rows if row["name"] == "csv")
    assert csv["distribution"] == "lm-eval-so"
    assert csv["import path"] == "lm_eval_so._internal.generator.sources:CsvSource"  # JSON: the real one
    assert csv["version"]


def test_check_reports_a_broken_plugin_and_exits_1(
    plugin_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dist(plugin_path, "lm-eval-so-broken", "0.0.1", {"reporters": {"pdf": "nowhere_xyz:Pdf"}})
    assert main(["plugins", "--kind", "reporters"]) == 0  # listing imports nothing
    assert "lm-eval-so-broken" in capsys.readouterr().out
    assert main(["plugins", "--kind", "reporters", "--check", "--json"]) == 1
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["pdf"]["status"].startswith("failed: ModuleNotFoundError")
    assert rows["html"]["status"] == rows["json"]["status"] == "ok"


def test_a_clash_shows_the_shadowed_distribution(
    plugin_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dist(plugin_path, "lm-eval-so-rival", "0.9", {"sources": {"csv": "rival:Csv"}})
    with pytest.warns(UserWarning, match="lm-eval-so-rival"):
        assert main(["plugins", "--kind", "sources"]) == 0
    line = next(
        line for line in capsys.readouterr().out.splitlines() if line.split()[:2] == ["source", "csv"]
    )
    assert "lm-eval-so " in line and line.endswith("(also in: lm-eval-so-rival 0.9)")
