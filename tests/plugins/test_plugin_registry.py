"""Entry-point discovery: clashes and broken plugins warn, name their distribution, harm no one else."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from lm_eval_so._internal.common.config import load_config
from lm_eval_so._internal.common.errors import ConfigError, PluginError
from lm_eval_so._internal.common.registry import PluginWarning, Registry, plugin_versions, registry
from plugin_fake_dists import write_dist

METRIC_SOURCE = """
from lm_eval_so.plugins import Metric, MetricScore

class Shouty(Metric):
    name = "shouty"
    requires_expected = False

    def score(self, sample, result):
        return MetricScore(float(result.output.isupper()), result.output.isupper())
"""


def _pipeline(tmp_path: Path, metric: str) -> dict[str, object]:
    (tmp_path / "raw.csv").write_text("input,expected\na,a\n")
    return {
        "name": "p",
        "generator": {"source": str(tmp_path / "raw.csv")},
        "runner": {"backend": "python", "function": "x:y"},
        "evaluator": {"metrics": [{"type": metric}]},
    }


def test_a_plugin_distribution_is_discovered_and_loaded_lazily(plugin_path: Path) -> None:
    write_dist(
        plugin_path,
        "lm-eval-so-shouty",
        "2.3.4",
        {"metrics": {"shouty": "shouty_mod:Shouty"}},
        {"shouty_mod": METRIC_SOURCE},
    )
    fresh = Registry()
    info = fresh.info("metrics", "shouty")
    assert (info.dist, info.version, info.value) == ("lm-eval-so-shouty", "2.3.4", "shouty_mod:Shouty")
    assert not info.loaded  # listing imported nothing
    assert fresh.get("metrics", "shouty").__name__ == "Shouty" and info.loaded


def test_a_clash_with_a_builtin_keeps_the_builtin_and_names_both(plugin_path: Path) -> None:
    write_dist(plugin_path, "lm-eval-so-rival", "0.9", {"metrics": {"exact_match": "rival:Exact"}})
    with pytest.warns(PluginWarning) as caught:
        info = Registry().info("metrics", "exact_match")
    assert info.dist == "lm-eval-so" and info.shadowed == ["lm-eval-so-rival 0.9"]
    message = str(caught[0].message)
    assert "'exact_match' is provided by both lm-eval-so and lm-eval-so-rival" in message
    assert "using the one from lm-eval-so" in message


def test_a_clash_between_two_plugins_keeps_one_and_warns(plugin_path: Path) -> None:
    write_dist(plugin_path, "lm-eval-so-aa", "1.0", {"backends": {"twin": "aa:Twin"}})
    write_dist(plugin_path, "lm-eval-so-bb", "2.0", {"backends": {"twin": "bb:Twin"}})
    with pytest.warns(
        PluginWarning, match=r"'twin' is provided by both lm-eval-so-(aa|bb) and lm-eval-so-(aa|bb)"
    ):
        info = Registry().info("backends", "twin")
    loser = {"lm-eval-so-aa": "lm-eval-so-bb 2.0", "lm-eval-so-bb": "lm-eval-so-aa 1.0"}[info.dist]
    assert info.shadowed == [loser]


def test_a_broken_plugin_fails_only_where_it_is_named(plugin_path: Path, tmp_path: Path) -> None:
    write_dist(
        plugin_path,
        "lm-eval-so-broken",
        "0.0.1",
        {"metrics": {"broken": "broken_mod:Nope"}},
        {"broken_mod": "raise ImportError('needs libfoo')\n"},
    )
    # An unrelated pipeline loads and validates as if the broken plugin were not there.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_config(_pipeline(tmp_path, "exact_match")).evaluator.metrics[0].type == "exact_match"
    # The pipeline that names it gets one clear error naming the distribution and the cause.
    with pytest.warns(PluginWarning, match="lm-eval-so-broken 0.0.1"), pytest.raises(ConfigError) as err:
        load_config(_pipeline(tmp_path, "broken"))
    assert "metric 'broken' from lm-eval-so-broken 0.0.1 failed to load (broken_mod:Nope)" in str(err.value)
    assert "ImportError: needs libfoo" in str(err.value)
    assert registry.info("metrics", "broken").error == "ImportError: needs libfoo"
    # It warns once per process, but every look-up still fails.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PluginError, match="failed to load"):
            registry.get("metrics", "broken")


def test_a_missing_plugin_lists_what_is_installed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_pipeline(tmp_path, "no_such_metric"))
    assert "evaluator.metrics[0].type: unknown metric 'no_such_metric'; installed: " in str(err.value)
    assert "exact_match" in str(err.value) and "contains" in str(err.value)


def test_plugin_versions_names_every_plugin_the_pipeline_uses(tmp_path: Path) -> None:
    data = _pipeline(tmp_path, "contains")
    data["evaluator"] = {"metrics": [{"type": "contains"}], "report": {"formats": ["json", "html"]}}
    versions = plugin_versions(load_config(data))
    assert set(versions) == {
        "backend:python",
        "metric:contains",
        "reporter:json",
        "reporter:html",
        "source:csv",
    }
    assert all(value.startswith("lm-eval-so ") for value in versions.values())


def test_plugin_versions_follows_an_explicit_source_format(tmp_path: Path) -> None:
    data = _pipeline(tmp_path, "contains")
    data["generator"] = {"source": str(tmp_path / "raw.csv"), "format": "jsonl"}
    assert "source:jsonl" in plugin_versions(load_config(data))


def test_a_broken_source_plugin_does_not_stop_suffix_resolution(plugin_path: Path, tmp_path: Path) -> None:
    # Resolving a format by suffix imports every source plugin: the broken one is skipped, loudly.
    from lm_eval_so._internal.generator.sources import CsvSource, resolve_source

    write_dist(
        plugin_path,
        "lm-eval-so-badsrc",
        "1.0",
        {"sources": {"parquet": "badsrc_mod:Parquet"}},
        {"badsrc_mod": "import not_installed_dependency_xyz\n"},
    )
    with pytest.warns(PluginWarning, match=r"source 'parquet' from lm-eval-so-badsrc 1.0 failed to load"):
        assert isinstance(resolve_source(tmp_path / "raw.csv", None), CsvSource)
    assert plugin_versions(load_config(_pipeline(tmp_path, "exact_match")))["source:csv"].startswith(
        "lm-eval-so "
    )


def test_a_misspelt_plugin_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown metric 'exact_mach' \(did you mean 'exact_match'\?\); installed: "
    ):
        load_config(_pipeline(tmp_path, "exact_mach"))
