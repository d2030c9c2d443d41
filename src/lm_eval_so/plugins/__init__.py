"""Everything a plugin author imports, in one place.

A plugin package adds backends, metrics, report formats or dataset sources by declaring entry
points; it needs no change to lm-eval-so::

    [project.entry-points."lm_eval_so.backends"]
    reverse = "lm_eval_so_example.backend:ReverseBackend"

    [project.entry-points."lm_eval_so.metrics"]
    max_words = "lm_eval_so_example.metric:MaxWords"

The contracts (base classes to subclass) and the record models they consume and return are
re-exported here so plugins depend on one stable module rather than on internal paths.
:mod:`lm_eval_so.plugins.testing` checks a plugin against its contract from the plugin's own tests.
"""

from __future__ import annotations

from .._internal.common.config import Pricing, RunnerConfig
from .._internal.common.errors import BackendError, DatasetError, EmptyAnswer, InvalidAnswer, PluginError
from .._internal.common.records import (
    DatasetSample,
    ErrorInfo,
    LatencySummary,
    Message,
    RunResult,
    ScoreRecord,
    Summary,
    Usage,
)
from .._internal.common.registry import KINDS, Kind, PluginInfo, PluginWarning, registry
from .._internal.evaluator.metrics.base import Metric, MetricContext, MetricScore, MetricUsage
from .._internal.evaluator.reports.base import ReportData, Reporter, RowList, SampleRow, SampleRows
from .._internal.generator.sources import Source, SourceRow, read_text
from .._internal.models.base import (
    Backend,
    BackendContext,
    Completion,
    Mode,
    NoOptions,
    Request,
    answer_text,
)

__all__ = [
    "KINDS",
    "Backend",
    "BackendContext",
    "BackendError",
    "Completion",
    "DatasetError",
    "DatasetSample",
    "EmptyAnswer",
    "ErrorInfo",
    "InvalidAnswer",
    "Kind",
    "LatencySummary",
    "Message",
    "Metric",
    "MetricContext",
    "MetricScore",
    "MetricUsage",
    "Mode",
    "NoOptions",
    "PluginError",
    "PluginInfo",
    "PluginWarning",
    "Pricing",
    "ReportData",
    "Reporter",
    "Request",
    "RowList",
    "RunResult",
    "RunnerConfig",
    "SampleRow",
    "SampleRows",
    "ScoreRecord",
    "Source",
    "SourceRow",
    "Summary",
    "Usage",
    "answer_text",
    "read_text",
    "registry",
]
