"""The one registry of backends, metrics, reporters and sources.

Built-ins and third-party plugins register the same way: an entry point in the groups
``lm_eval_so.backends``, ``lm_eval_so.metrics``, ``lm_eval_so.reporters`` and
``lm_eval_so.sources``. Entry points are listed once and loaded lazily by name, so a broken
plugin only affects pipelines that use it. Code (and tests) may also :meth:`Registry.register`
an object directly.
"""

from __future__ import annotations

import importlib.metadata as md
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from .errors import PluginError

Kind = Literal["backends", "metrics", "reporters", "sources"]
KINDS: tuple[Kind, ...] = ("backends", "metrics", "reporters", "sources")
CORE_DIST = "lm-eval-so"


class PluginWarning(UserWarning):
    """A plugin clashed with another or failed to load."""


@dataclass
class PluginInfo:
    kind: Kind
    name: str
    dist: str
    version: str
    value: str  # "module:attr" or repr of a registered object
    _entry_point: md.EntryPoint | None = None
    _obj: Any = None
    _loaded: bool = False


class Registry:
    def __init__(self) -> None:
        self._plugins: dict[Kind, dict[str, PluginInfo]] | None = None

    # ------------------------------------------------------------------ discovery

    def _table(self, kind: Kind) -> dict[str, PluginInfo]:
        if self._plugins is None:
            self._plugins = {k: self._discover(k) for k in KINDS}
        return self._plugins[kind]

    @staticmethod
    def _discover(kind: Kind) -> dict[str, PluginInfo]:
        found: dict[str, PluginInfo] = {}
        for ep in md.entry_points(group=f"lm_eval_so.{kind}"):
            dist = ep.dist.name if ep.dist else "<unknown>"
            version = ep.dist.version if ep.dist else "?"
            info = PluginInfo(kind, ep.name, dist, version, ep.value, _entry_point=ep)
            other = found.get(ep.name)
            if other is not None and other.dist != dist:
                # The core keeps its names; between two plugins the first one found wins.
                keep, drop = (other, info) if other.dist == CORE_DIST or dist != CORE_DIST else (info, other)
                warnings.warn(
                    f"lm-eval-so: {kind[:-1]} {ep.name!r} is provided by both {keep.dist} and "
                    f"{drop.dist}; using the one from {keep.dist}",
                    PluginWarning,
                    stacklevel=2,
                )
                info = keep
            found[ep.name] = info
        return found

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
            installed = ", ".join(self.names(kind)) or "none"
            raise PluginError(f"unknown {kind[:-1]} {name!r}; installed: {installed}")
        return info

    def get(self, kind: Kind, name: str) -> Any:
        """The object registered as ``name``, importing its plugin on first use."""
        info = self.info(kind, name)
        if not info._loaded:
            assert info._entry_point is not None
            try:
                info._obj = info._entry_point.load()
            except Exception as exc:
                raise PluginError(
                    f"{kind[:-1]} {name!r} from {info.dist} {info.version} failed to load "
                    f"({info.value}): {type(exc).__name__}: {exc}"
                ) from exc
            info._loaded = True
        return info._obj


registry = Registry()
"""The process-wide registry."""
