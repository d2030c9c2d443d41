"""The one registry of backends, metrics, reporters and sources.

Built-ins and third-party plugins register the same way: an entry point in the groups
``lm_eval_so.backends``, ``lm_eval_so.metrics``, ``lm_eval_so.reporters`` and
``lm_eval_so.sources``. Entry points are listed once and loaded lazily by name, so a broken
plugin only affects pipelines that use it. Code (and tests) may also :meth:`Registry.register`
an object directly.

Two rules keep a bad plugin from hurting anyone else:

* a **name clash** keeps one entry (the core's, or else the first distribution found) and warns
  with a :class:`PluginWarning` naming both distributions;
* a plugin that **fails to import** raises :class:`~lm_eval_so._internal.common.errors.PluginError` for the
  pipeline that names it (and warns once, naming its distribution); nothing else imports it.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import PluginError

if TYPE_CHECKING:
    from .config import PipelineConfig

Kind = Literal["backends", "metrics", "reporters", "sources"]
KINDS: tuple[Kind, ...] = ("backends", "metrics", "reporters", "sources")
CORE_DIST = "lm-eval-so"
GROUP_PREFIX = "lm_eval_so."


class PluginWarning(UserWarning):
    """A plugin clashed with another or failed to load."""


@dataclass
class PluginInfo:
    """One registered name: where it comes from, and (once loaded) the object itself."""

    kind: Kind
    name: str
    dist: str
    version: str
    value: str  # "module:attr" or repr of a registered object
    #: Distributions that also declared this name and lost the clash.
    shadowed: list[str] = field(default_factory=list)
    #: Why loading failed ("ImportError: ..."); None until a load fails.
    error: str | None = None
    _entry_point: md.EntryPoint | None = None
    _obj: Any = None
    _loaded: bool = False
    _module: Any = None  # the module object the entry point was loaded from

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def provenance(self) -> str:
        """``"lm-eval-so 0.1.0"``: what a manifest records for this plugin."""
        return f"{self.dist} {self.version}".strip()


class Registry:
    def __init__(self) -> None:
        self._plugins: dict[Kind, dict[str, PluginInfo]] | None = None

    # ------------------------------------------------------------------ discovery

    def _table(self, kind: Kind) -> dict[str, PluginInfo]:
        if self._plugins is None:
            self._plugins = _discover()
        return self._plugins[kind]

    def refresh(self) -> None:
        """Forget what was discovered (and registered): the next look-up scans entry points again.

        For a process that installs a plugin while it runs (tests, notebooks).
        """
        self._plugins = None

    # ------------------------------------------------------------------ public

    def register(self, kind: Kind, name: str, obj: Any, *, dist: str = "<runtime>") -> None:
        """Register ``obj`` under ``name`` in this process (replaces an existing entry)."""
        version = getattr(obj, "__version__", "")
        self._table(kind)[name] = PluginInfo(kind, name, dist, version, repr(obj), _obj=obj, _loaded=True)

    def unregister(self, kind: Kind, name: str) -> None:
        self._table(kind).pop(name, None)

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._table(kind))

    def infos(self, kind: Kind | None = None) -> list[PluginInfo]:
        kinds = KINDS if kind is None else (kind,)
        return [self._table(k)[n] for k in kinds for n in sorted(self._table(k))]

    def info(self, kind: Kind, name: str) -> PluginInfo:
        info = self._table(kind).get(name)
        if info is None:
            names = self.names(kind)
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PluginError(f"unknown {kind[:-1]} {name!r}{hint}; installed: {', '.join(names) or 'none'}")
        return info

    def get(self, kind: Kind, name: str) -> Any:
        """The object registered as ``name``, importing its plugin on first use."""
        info = self.info(kind, name)
        if not info._loaded or _module_replaced(info):
            info._obj = _load(info)
            info._loaded = True
            if info._entry_point is not None:
                info._module = sys.modules.get(info._entry_point.module)
        return info._obj


def _module_replaced(info: PluginInfo) -> bool:
    """True when the plugin's module was unloaded or re-imported since we loaded it.

    Tools that restore ``sys.modules`` (pytester, importlib.reload) leave us holding classes
    from a module object nobody else uses; handing those out breaks ``isinstance`` checks.
    """
    ep = info._entry_point
    return ep is not None and sys.modules.get(ep.module) is not info._module


def _discover() -> dict[Kind, dict[str, PluginInfo]]:
    # One scan of the installed distributions for all four groups, and one METADATA parse per
    # distribution that has our entry points: ``ep.dist.name`` and ``.version`` each re-parse
    # the file, which cost a plain run ~40 ms of start-up when done per entry point and group.
    tables: dict[Kind, dict[str, PluginInfo]] = {kind: {} for kind in KINDS}
    facts: dict[int, tuple[str, str]] = {}
    everything = md.entry_points()  # 3.10/3.11: SelectableGroups; both have a quiet .select()
    for kind, ep in ((k, ep) for k in KINDS for ep in everything.select(group=GROUP_PREFIX + k)):
        dist, version = _dist_facts(ep, facts)
        info = PluginInfo(kind, ep.name, dist, version, ep.value, _entry_point=ep)
        found = tables[kind]
        other = found.get(ep.name)
        # The same distribution can be seen twice (a source tree and its install): not a clash.
        if other is not None and other.dist != dist:
            info = _settle_clash(other, info)
        found[ep.name] = info
    return tables


def _dist_facts(ep: md.EntryPoint, seen: dict[int, tuple[str, str]]) -> tuple[str, str]:
    """``(name, version)`` of the distribution declaring ``ep``, parsed once per distribution."""
    dist = ep.dist
    if dist is None:
        return "<unknown>", ""
    known = seen.get(id(dist))
    if known is None:
        metadata = dist.metadata
        known = seen[id(dist)] = (metadata["Name"], metadata["Version"])
    return known


def _settle_clash(first: PluginInfo, second: PluginInfo) -> PluginInfo:
    """The core keeps its names; between two plugins the first one found wins."""
    keep, drop = (second, first) if second.dist == CORE_DIST else (first, second)
    keep.shadowed.append(f"{drop.dist} {drop.version}".strip())
    warnings.warn(
        f"lm-eval-so: {keep.kind[:-1]} {keep.name!r} is provided by both {keep.dist} and "
        f"{drop.dist} ({drop.value}); using the one from {keep.dist}. "
        f"Uninstall one of them, or ask {drop.dist} to rename its entry point.",
        PluginWarning,
        stacklevel=4,
    )
    return keep


def _load(info: PluginInfo) -> Any:
    assert info._entry_point is not None  # only entry points are ever unloaded
    try:
        return info._entry_point.load()
    except Exception as exc:
        first_failure = info.error is None
        info.error = f"{type(exc).__name__}: {exc}"
        message = (
            f"{info.kind[:-1]} {info.name!r} from {info.provenance} failed to load "
            f"({info.value}): {info.error}"
        )
        if first_failure:
            # Warn once; the PluginError below reaches only the pipeline that named the plugin.
            warnings.warn(f"lm-eval-so: {message}", PluginWarning, stacklevel=4)
        raise PluginError(message) from exc


# --------------------------------------------------------------------------- manifest


def plugin_versions(config: PipelineConfig, reg: Registry | None = None) -> dict[str, str]:
    """``{"backend:openai": "lm-eval-so 0.1.0", "metric:...": ..., ...}`` for a run manifest.

    Every plugin the pipeline uses: its backend, metric types, report formats and source
    format. Keys carry the kind because names repeat across kinds (``json`` is a source and a
    reporter). Names that are not registered are left out rather than failing the run.
    """
    reg = reg or registry
    used: list[tuple[Kind, str]] = [("backends", config.runner.backend)]
    used += [("metrics", metric.type) for metric in config.evaluator.metrics]
    used += [("reporters", fmt) for fmt in config.evaluator.report.formats]
    source = config.generator.format or _source_by_suffix(reg, config.generator.source.name)
    if source is not None:
        used.append(("sources", source))
    versions: dict[str, str] = {}
    for kind, name in used:
        info = reg._table(kind).get(name)
        if info is not None:
            versions[f"{kind[:-1]}:{name}"] = info.provenance
    return versions


def _source_by_suffix(reg: Registry, filename: str) -> str | None:
    # Mirrors generator.sources.resolve_source (longest suffix wins, the core on a tie); kept
    # here because common/ may not import the generator layer.
    lowered, best = filename.lower(), None
    for info in reg.infos("sources"):
        try:
            suffixes = getattr(reg.get("sources", info.name), "suffixes", ())
        except PluginError:
            continue
        for suffix in suffixes:
            if lowered.endswith(suffix.lower()):
                claim = (len(suffix), info.dist == CORE_DIST, info.name)
                best = max(best, claim) if best else claim
    return best[2] if best else None


registry = Registry()
"""The process-wide registry."""
