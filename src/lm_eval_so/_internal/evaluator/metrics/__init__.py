"""Metrics: the contract, and :func:`build_metric` to make one from ``evaluator.metrics[i]``."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from ...common.config import MetricConfig
from ...common.errors import ConfigError, PluginError
from ...common.registry import registry
from .base import Metric, MetricContext, MetricScore, MetricUsage


def build_metric(config: MetricConfig, context: MetricContext | None = None) -> Metric:
    """Look the metric type up in the registry and configure it with its validated options.

    Options and threshold bounds are normally checked when the pipeline loads (with file and
    line); this check covers configs built in code or changed by overrides.
    """
    cls = registry.get("metrics", config.type)
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        info = registry.info("metrics", config.type)
        raise PluginError(f"metric {config.type!r} from {info.dist} ({info.value}) is not a Metric subclass")
    options_model: type[BaseModel] = cls.Options
    try:
        options = options_model.model_validate(config.options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<options>'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"evaluator.metrics: {config.key}: {problems}") from None
    if config.threshold is not None:
        outside = config.threshold.range_problems(cls.score_range_for(options), config.type)
        if outside:
            side, problem = outside[0]
            raise ConfigError(f"evaluator.metrics: {config.key}: threshold.{side}: {problem}")
    metric = cls(options)
    # Set after construction so plugin metrics written as ``__init__(self, options)`` still work.
    if context is not None:
        metric.context = context
    return metric


__all__ = ["Metric", "MetricContext", "MetricScore", "MetricUsage", "build_metric"]
