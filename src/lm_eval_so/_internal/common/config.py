"""``pipeline.yaml`` as pydantic models, and the loader that turns it into one.

Every model forbids unknown keys; :func:`load_config` turns pydantic's errors into
``pipeline.yaml:14: runner.params.temperature: must be <= 2 (got 7)``.
Paths in the file are relative to the file; :class:`PipelineConfig` keeps them absolute.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError, PluginError
from .redact import hide_userinfo
from .registry import Kind
from .text import is_blank
from .yaml_source import Loc, YamlSource, format_loc, load_yaml, parse_yaml

SafeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

#: Whole numbers that identify a seed fit in 64 bits (numpy's and every API's seeds do).
INT64_MAX = 2**63 - 1
#: The longest a single call may be given (a day): longer cannot be meant, and a timeout
#: beyond ~292 years does not even fit the operating system's clock.
MAX_TIMEOUT_S = 86_400.0


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# --------------------------------------------------------------------------- generator


class FieldMap(StrictModel):
    """Which source columns become the sample's ``id``, ``input`` and ``expected``."""

    id: str | None = Field(None, description="Column with a unique id; row numbers when absent.")
    input: str = Field("input", description="Column with the model input.")
    expected: str | None = Field("expected", description="Column with the reference answer.")


class PromptConfig(StrictModel):
    """How a sample becomes a prompt. ``{name}`` placeholders may be any source column."""

    system: str | None = Field(None, description="System prompt (chat) or preamble (completion).")
    template: str = Field("{input}", description="User prompt; `{{` and `}}` are literal braces.")

    @field_validator("template")
    @classmethod
    def _visible(cls, value: str) -> str:
        if is_blank(value):
            raise ValueError("the template is blank: every prompt would be empty; write {input} at least")
        return value


class GeneratorConfig(StrictModel):
    source: Path = Field(description="CSV, JSONL or JSON file, relative to pipeline.yaml.")
    format: str | None = Field(None, description="Source format; inferred from the suffix.")
    dataset_id: SafeName | None = Field(None, description="Dataset name; the source stem by default.")
    fields: FieldMap = Field(default_factory=FieldMap)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    limit: int | None = Field(None, gt=0, le=10**12, description="Keep at most this many samples.")
    shuffle: bool = Field(False, description="Shuffle (with `seed`) before applying `limit`.")
    seed: int | None = Field(
        None, ge=0, le=INT64_MAX, description="Shuffle seed; the pipeline seed by default."
    )

    @property
    def resolved_dataset_id(self) -> str:
        return self.dataset_id or _safe_name(self.source.stem)


# --------------------------------------------------------------------------- runner


class GenerationParams(StrictModel):
    """Sampling parameters sent with every request. ``None`` leaves the backend's default."""

    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    max_tokens: int | None = Field(None, gt=0, le=2**31 - 1)
    stop: list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=INT64_MAX)
    presence_penalty: float | None = Field(None, ge=-2, le=2, allow_inf_nan=False)
    frequency_penalty: float | None = Field(None, ge=-2, le=2, allow_inf_nan=False)
    extra_body: dict[str, Any] | None = Field(None, description="Sent as-is to OpenAI-compatible servers.")

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def to_request(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Pricing(StrictModel):
    """US dollars per million tokens."""

    prompt_per_1m: float = Field(ge=0, allow_inf_nan=False)
    completion_per_1m: float = Field(ge=0, allow_inf_nan=False)


class RateLimit(StrictModel):
    """Client-side limits, per minute; tokens are estimated before the call."""

    rpm: float | None = Field(None, gt=0, allow_inf_nan=False, description="Requests per minute.")
    tpm: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Tokens per minute (prompt + max_tokens)."
    )


class RunnerConfig(StrictModel):
    backend: str = Field("openai", description="openai, llamacpp, python, or a plugin's name.")
    model: str | None = Field(
        None, description="Model name; llamacpp: a .gguf path (packaged Gemma by default)."
    )
    base_url: str | None = Field(
        None, description="Any OpenAI-compatible server; OPENAI_BASE_URL by default."
    )
    api_key_env: str | None = Field("OPENAI_API_KEY", description="Name of the variable holding the key.")
    mode: Literal["chat", "completion"] | None = Field(None, description="Backend default when unset.")
    function: str | None = Field(None, description="python backend: `package.module:function`.")
    params: GenerationParams = Field(default_factory=GenerationParams)
    concurrency: int = Field(8, ge=1, le=4096)
    timeout_s: float = Field(60.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)
    max_retries: int = Field(2, ge=0, le=20)
    repeats: int = Field(1, ge=1, le=1000, description="Calls per sample (pass@k, variance).")
    pricing: Pricing | None = Field(None, description="Overrides the built-in price table.")
    options: dict[str, Any] = Field(default_factory=dict, description="Backend-specific options.")
    cache: Literal["read_write", "read_only", "off"] = Field(
        "read_write", description="Response cache; read_only = strict replay (a miss is an error)."
    )
    rate_limit: RateLimit | None = Field(None, description="Client-side requests/tokens per minute.")
    max_cost_usd: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Budget: stop before the run would spend more than this."
    )

    @field_validator("cache", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `cache: off` as the boolean false.
        return "off" if value is False else value

    @field_validator("base_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `base_url: ${OPENAI_BASE_URL:-}` means "the SDK default" when the variable is empty.
        return None if value == "" else value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            problem = base_url_problem(value)
            if problem:
                raise ValueError(problem)
        return value


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an HTTP endpoint's base URL, or None when it can.

    ``http``/``https`` with a host and a valid port, and no query string or fragment: the
    clients join paths onto the base, and a query string (often a key) would be dropped by one
    and mangled by another, and would reach logs; keys go in ``api_key_env``.
    """
    from urllib.parse import urlsplit

    shown = hide_userinfo(url)  # a message may quote the URL; never its password
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL: {shown!r} ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https:// (got {shown!r})"
    if not parts.hostname:
        return f"has no host (got {shown!r})"
    if port is not None and not 0 < port < 65536:
        return f"port must be 1..65535 (got {port})"
    if parts.username is not None or parts.password is not None:
        # The clients would send it as a second Authorization header beside the key, and the
        # URL is copied into the run's pipeline.yaml, manifest and reports.
        return f"must not carry user:password@ (got {shown!r}); put the key in api_key_env, not the URL"
    if parts.query or parts.fragment:
        return "must not carry a query string or fragment; put the key in api_key_env, not the URL"
    return None


# --------------------------------------------------------------------------- evaluator


class Threshold(StrictModel):
    """Bounds on a metric's mean: finite, and (checked once the metric is known) inside its
    ``score_range``, so no bound can pass every run (``nan``, ``-inf``) or fail every run
    (``min: 80`` on a 0..1 metric)."""

    min: float | None = Field(None, allow_inf_nan=False, description="The mean must be at least this.")
    max: float | None = Field(None, allow_inf_nan=False, description="The mean must be at most this.")
    gate: Literal["point", "confidence"] = Field(
        "point",
        description="point: the mean must clear the bound; confidence: the 95% interval must.",
    )
    inconclusive: Literal["fail", "pass"] = Field(
        "fail", description="confidence gates: what an interval straddling the bound counts as."
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def describe(self, name: str) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{name}>={self.min:g}")
        if self.max is not None:
            parts.append(f"{name}<={self.max:g}")
        return ",".join(parts)

    def range_problems(self, score_range: tuple[float, float] | None, metric: str) -> list[tuple[str, str]]:
        """``(bound, problem)`` for each bound outside ``score_range`` (None: any finite bound).

        A bound at the edge of the range is allowed (``min: 1`` demands a perfect score).
        """
        if score_range is None:
            return []
        low, high = score_range
        problems = []
        for side, bound in (("min", self.min), ("max", self.max)):
            if bound is not None and not low <= bound <= high:
                problem = f"must be within the score range of {metric}, {low:g} to {high:g} (got {bound:g})"
                if _percent_like(bound, score_range):
                    problem += f"; scores are fractions: did you mean {bound / 100:g}?"
                problems.append((side, problem))
        return problems


def _percent_like(bound: float, score_range: tuple[float, float]) -> bool:
    """A bound such as 80 on a 0..1 metric: almost certainly meant as a percentage."""
    return score_range == (0.0, 1.0) and 1 < bound <= 100


def _threshold_shorthand(value: Any) -> Any:
    # ``threshold: 0.8`` is shorthand for ``threshold: {min: 0.8}``.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"min": value}
    return value


class MetricConfig(BaseModel):
    """A metric. Keys other than these are the metric's own options, checked by the metric."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Metric name in the registry: exact_match, contains, regex, ...")
    name: SafeName | None = Field(None, description="Name in reports; the type by default.")
    threshold: Threshold | None = None

    _normalize_threshold = field_validator("threshold", mode="before")(
        classmethod(lambda cls, v: _threshold_shorthand(v))
    )

    @property
    def key(self) -> str:
        return self.name or self.type

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Limit(StrictModel):
    """A run-level maximum: a finite number, at least 0 (``error_rate``: at most 1 as well)."""

    max: float = Field(ge=0, allow_inf_nan=False)

    def describe(self, name: str) -> str:
        return f"{name}<={self.max:g}"


def _limit_shorthand(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"max": value}
    return value


class Limits(StrictModel):
    """Run-level limits; each is a test of its own under pytest."""

    error_rate: Limit | None = Field(None, description="Share of calls that failed (0..1).")
    cost_usd: Limit | None = Field(None, description="Total cost of the run in US dollars.")
    latency_p95_ms: Limit | None = Field(None, description="95th percentile call latency.")

    @field_validator("error_rate", "cost_usd", "latency_p95_ms", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _limit_shorthand(value)

    @field_validator("error_rate")
    @classmethod
    def _a_share(cls, value: Limit | None) -> Limit | None:
        # A share of calls: a maximum above 1 can never be exceeded, so it would gate nothing.
        if value is not None and value.max > 1:
            raise ValueError(f"max must be <= 1: error_rate is a share of calls, 0 to 1 (got {value.max:g})")
        return value

    def items(self) -> list[tuple[str, Limit]]:
        return [(name, lim) for name in type(self).model_fields if (lim := getattr(self, name))]


class ReportConfig(StrictModel):
    formats: list[str] = Field(default_factory=lambda: ["html", "json"])


class EvaluatorConfig(StrictModel):
    metrics: list[MetricConfig] = Field(
        default_factory=lambda: [MetricConfig(type="exact_match")], min_length=1
    )
    limits: Limits = Field(default_factory=Limits)
    report: ReportConfig = Field(default_factory=ReportConfig)

    @field_validator("metrics")
    @classmethod
    def _unique_names(cls, metrics: list[MetricConfig]) -> list[MetricConfig]:
        seen: dict[str, int] = {}
        for index, metric in enumerate(metrics):
            if metric.key in seen:
                raise ValueError(
                    f"[{seen[metric.key]}] and [{index}] are both called {metric.key!r}; give one a `name`"
                )
            seen[metric.key] = index
        return metrics


# --------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class Gate:
    """A threshold on a metric's mean or a run-level limit, e.g. ``exact_match>=0.8``."""

    name: str
    kind: Literal["metric", "limit"]
    target: str
    min: float | None
    max: float | None


class PipelineConfig(StrictModel):
    name: SafeName
    description: str | None = None
    workspace: Path = Field(Path("workspace"), description="Relative to pipeline.yaml.")
    seed: int = Field(0, ge=0, le=INT64_MAX, description="Drives shuffling and sampling seeds.")
    requires_env: list[EnvName] = Field(
        default_factory=list,
        description="Variables that must be set to run; pytest skips the pipeline without them.",
    )
    generator: GeneratorConfig
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    evaluator: EvaluatorConfig = Field(default_factory=EvaluatorConfig)

    # Where the config came from; not part of the schema.
    _path: Path | None = None
    _secrets: frozenset[str] = frozenset()
    _lines: dict[Loc, int] = {}  # pydantic copies private defaults per instance

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def base_dir(self) -> Path:
        return self._path.parent if self._path else Path.cwd()

    def line_of(self, *loc: str | int) -> int | None:
        """The line in pipeline.yaml where ``loc`` (or its nearest parent) is written."""
        for end in range(len(loc), 0, -1):
            if (line := self._lines.get(loc[:end])) is not None:
                return line
        return None

    def gate_line(self, gate: Gate) -> int | None:
        if gate.kind == "limit":
            return self.line_of("evaluator", "limits", gate.target)
        index = next(i for i, m in enumerate(self.evaluator.metrics) if m.key == gate.target)
        return self.line_of("evaluator", "metrics", index, "threshold")

    @property
    def secrets(self) -> frozenset[str]:
        """Values interpolated from secret-looking variables; redacted from every artifact."""
        return self._secrets

    def config_hash(self) -> str:
        """Hash of what the experiment *is*: independent of the workspace location."""
        # runner.cache is how answers are fetched, not what the experiment is: a strict replay
        # (read_only) must hash like the run that recorded it.
        payload = self.model_dump(
            mode="json", exclude={"workspace": True, "description": True, "runner": {"cache"}}
        )
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def gates(self) -> list[Gate]:
        """Every threshold and limit, named as reports and pytest items name them."""
        gates = [
            Gate(m.threshold.describe(m.key), "metric", m.key, m.threshold.min, m.threshold.max)
            for m in self.evaluator.metrics
            if m.threshold is not None
        ]
        gates += [
            Gate(limit.describe(name), "limit", name, None, limit.max)
            for name, limit in self.evaluator.limits.items()
        ]
        return gates

    def missing_env(self) -> list[str]:
        return [name for name in self.requires_env if not os.environ.get(name)]

    def with_overrides(self, **changes: Any) -> PipelineConfig:
        """A copy with dotted-path overrides (``{"runner.model": "x"}``), re-validated.

        The one override mechanism of the CLI (``--set``, ``--model``, ``--limit``,
        ``--cache``), the pytest options and the ``lm_eval`` fixture. A number indexes a list
        (``evaluator.metrics.0.threshold``). The copy gets every check loading gives (plugins,
        metric functions and files, threshold bounds, finite numbers), so an override cannot
        slip past them. Raises :class:`ConfigError` naming the override and the field.
        """
        # Only what was set, so defaults stay defaults (``model_fields_set`` keeps its meaning).
        data = self.model_dump(mode="python", exclude_unset=True)
        defaults = self.model_dump(mode="python")
        # A URL's password is never echoed (``--set runner.base_url=http://u:pw@host``).
        where = ", ".join(f"{k}={_shown_value(v)!r}" for k, v in changes.items())
        source = YamlSource(path=None, data=data)  # an override has no line in the file
        try:
            for dotted, value in changes.items():
                _set_dotted(data, defaults, dotted, value)
            _check_text_values(data, (), source)
            try:
                clone = type(self).model_validate(data)
            except ValidationError as exc:
                raise ConfigError(format_validation_error(exc, source, PipelineConfig)) from None
            clone._path, clone._secrets, clone._lines = self._path, self._secrets, self._lines
            _check_loaded(clone, source)
        except ConfigError as exc:
            detail = str(exc).replace("<config>: ", "")
            raise ConfigError(f"override {where}: {detail}") from None
        return clone


def _shown_value(value: Any) -> Any:
    return hide_userinfo(value) if isinstance(value, str) else value


def _set_dotted(data: dict[str, Any], defaults: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``dotted`` in ``data``; a list missing from ``data`` (left at its default) is copied
    from ``defaults`` so it can be indexed, any other missing section starts empty."""
    parts = dotted.split(".")
    target: Any = data
    default: Any = defaults
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the config"
        last = depth == len(parts) - 1
        if isinstance(target, dict):
            if last:
                target[part] = value
                return
            if part not in target:
                fallback = default.get(part) if isinstance(default, dict) else None
                target[part] = copy.deepcopy(fallback) if isinstance(fallback, list) else {}
            target, default = target[part], default.get(part) if isinstance(default, dict) else None
        elif isinstance(target, list):
            if not part.isdigit() or int(part) >= len(target):
                raise ConfigError(
                    f"{dotted}: {here} is a list of {len(target)}; index it with 0 to {len(target) - 1} "
                    f"(got {part!r})"
                )
            index = int(part)
            if last:
                target[index] = value
                return
            target = target[index]
            default = default[index] if isinstance(default, list) and index < len(default) else None
        else:
            raise ConfigError(f"{dotted}: {here} is {_kind(target)}, it has no {part!r}")


def _kind(value: Any) -> str:
    return "empty" if value is None else f"a {type(value).__name__} ({value!r})"


def _safe_name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in text).strip("._-")
    return (cleaned or "dataset")[:64]


# --------------------------------------------------------------------------- loading


def load_config(
    source: str | Path | Mapping[str, Any] | PipelineConfig,
    *,
    env: Mapping[str, str] | None = None,
) -> PipelineConfig:
    """Load and validate a pipeline from a path, a dict or an existing config.

    Raises :class:`ConfigError` naming file, line and field.
    """
    if isinstance(source, PipelineConfig):
        return source
    if isinstance(source, Mapping):
        return _validate(YamlSource(path=None, data=dict(source)), Path.cwd())
    path = Path(source)
    if path.is_dir():
        for candidate in ("pipeline.yaml", "pipeline.yml"):
            if (path / candidate).is_file():
                path = path / candidate
                break
    path = path.resolve()
    return _validate(load_yaml(path, env), path.parent, path)


def config_from_text(text: str, path: Path, env: Mapping[str, str] | None = None) -> PipelineConfig:
    return _validate(parse_yaml(text, path, env), path.parent, path)


def _validate(source: YamlSource, base_dir: Path, path: Path | None = None) -> PipelineConfig:
    if not isinstance(source.data, dict):
        raise ConfigError(
            f"{source.where(())}: the pipeline must be a mapping of keys (name, generator, ...)"
        )
    try:
        config = PipelineConfig.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, PipelineConfig)) from None
    config._path, config._secrets, config._lines = path, frozenset(source.secrets), source.lines
    config.workspace = _absolute(config.workspace, base_dir)
    config.generator.source = _absolute(config.generator.source, base_dir)
    _check_loaded(config, source)
    return config


def _check_loaded(config: PipelineConfig, source: YamlSource) -> None:
    """Every check that needs more than the schema, run by loading and by every override.

    Nothing here calls a model: plugins exist and accept their options, metric functions
    import and take known arguments, metric files read, bounds fit the metric's range,
    free-form settings hold finite numbers, the workspace is not a file.
    """
    problems = _free_form_problems(config, source)
    problems += _workspace_problems(config, source)
    problems += _plugin_problems(config, source)
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))


def _check_text_values(value: Any, loc: Loc, source: YamlSource) -> None:
    """A config given as a mapping, or changed by an override, holds text, as a file must.

    (:mod:`.yaml_source` checks what comes from a file, before interpolation.)
    """
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text_values(item, (*loc, key), source)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_text_values(item, (*loc, index), source)
    elif isinstance(value, (str, Path)):
        text = str(value)
        if "\0" in text or any("\ud800" <= c <= "\udfff" for c in text):
            kind = "a NUL character" if "\0" in text else "an unpaired surrogate, which is not text"
            raise ConfigError(f"{source.where(loc)}: {format_loc(loc)}: the value holds {kind}; remove it")


def _free_form_problems(config: PipelineConfig, source: YamlSource) -> list[str]:
    """Non-finite numbers in settings with no schema of their own (``extra_body``, backend
    ``options``, a metric's options): ``.nan``/``.inf`` is no request's or plugin's value."""
    problems: list[str] = []

    def walk(value: Any, loc: Loc) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            where = f"{source.where(loc)}: {format_loc(loc)}"
            problems.append(f"{where}: must be a finite number (got {value!r})")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*loc, key))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, (*loc, index))

    walk(config.runner.params.extra_body, ("runner", "params", "extra_body"))
    walk(config.runner.options, ("runner", "options"))
    for index, metric in enumerate(config.evaluator.metrics):
        walk(metric.options, ("evaluator", "metrics", index))
    return problems


def _workspace_problems(config: PipelineConfig, source: YamlSource) -> list[str]:
    """The workspace, or a folder on its way, must not be a file (it is created when missing)."""
    where = f"{source.where(('workspace',))}: workspace"
    try:
        for folder in (config.workspace, *config.workspace.parents):
            if folder.exists():
                if folder.is_dir():
                    return []
                part = "" if folder == config.workspace else f" ({folder} on its way)"
                return [f"{where}: {config.workspace}{part} is a file, not a directory"]
    except OSError as exc:
        return [f"{where}: cannot use {config.workspace}: {exc.strerror or exc}"]
    return []


def _plugin_problems(config: PipelineConfig, source: YamlSource) -> list[str]:
    """Check every named plugin exists and accepts its options, at load time, with lines.

    Metric thresholds are checked here against the metric's ``score_range`` too: only now is
    the metric class known. So are a metric's own load-time checks (``check_at_load``: a
    python metric's function imports and takes known arguments, a schema file reads), and any
    backend a metric names in its options (``llm_judge``'s ``judge``), as ``runner``'s is.
    """
    # Imported here: the registry loads plugin modules, which import this module.
    from .registry import registry

    problems: list[str] = []

    def lookup(kind: Kind, name: str, loc: Loc) -> Any:
        try:
            return registry.get(kind, name)
        except PluginError as exc:
            problems.append(f"{source.where(loc)}: {format_loc(loc)}: {exc}")
            return None

    def check_options(model: Any, options: dict[str, Any], loc: Loc) -> BaseModel | None:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        try:
            return model.model_validate(options)
        except ValidationError as exc:
            problems.append(format_validation_error(exc, source, model, loc))
            return None

    def check_threshold(metric: MetricConfig, cls: Any, options: BaseModel | None, index: int) -> None:
        if metric.threshold is None:
            return
        scale = getattr(cls, "score_range", None)
        if options is not None and callable(getattr(cls, "score_range_for", None)):
            scale = cls.score_range_for(options)
        for side, problem in metric.threshold.range_problems(scale, metric.type):
            loc = ("evaluator", "metrics", index, "threshold", side)
            problems.append(f"{source.where(loc)}: {format_loc(loc)}: {problem}")

    def check_backend(runner: RunnerConfig, loc: Loc) -> None:
        backend = lookup("backends", runner.backend, (*loc, "backend"))
        if backend is not None:
            check_options(getattr(backend, "Options", None), runner.options, (*loc, "options"))

    def check_metric_options(cls: Any, options: BaseModel, loc: Loc) -> None:
        for name, info in type(options).model_fields.items():
            value = getattr(options, name)
            if isinstance(value, RunnerConfig):
                check_backend(value, (*loc, info.alias or name))
        hook = getattr(cls, "check_at_load", None)
        if not callable(hook):
            return
        try:
            found = list(hook(options, config.base_dir))
        except Exception as exc:  # a plugin's check that breaks is that plugin's problem
            problems.append(f"{source.where(loc)}: {format_loc(loc)}: the metric's load-time check failed: "
                            f"{type(exc).__name__}: {exc}")  # fmt: skip
            return
        for sub, problem in found:
            at = (*loc, *((sub,) if isinstance(sub, (str, int)) else sub))
            problems.append(f"{source.where(at)}: {format_loc(at)}: {problem}")

    check_backend(config.runner, ("runner",))
    for index, metric in enumerate(config.evaluator.metrics):
        loc = ("evaluator", "metrics", index)
        cls = lookup("metrics", metric.type, (*loc, "type"))
        if cls is not None:
            model = getattr(cls, "Options", None)
            options = check_options(model, metric.options, loc)
            if options is not None or not (isinstance(model, type) and issubclass(model, BaseModel)):
                check_threshold(metric, cls, options, index)
            if options is not None:
                check_metric_options(cls, options, loc)
    for index, fmt in enumerate(config.evaluator.report.formats):
        lookup("reporters", fmt, ("evaluator", "report", "formats", index))
    if config.generator.format is not None:
        lookup("sources", config.generator.format, ("generator", "format"))
    return problems


def _absolute(path: Path, base_dir: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


# --------------------------------------------------------------------------- error messages


def format_validation_error(
    exc: ValidationError, source: YamlSource, root: type[BaseModel], prefix: Loc = ()
) -> str:
    """One line per problem: ``file:line: field.path: message (got value)``."""
    lines = []
    data = _at(source.data, prefix)
    for error in exc.errors(include_url=False):
        loc = (*prefix, *_clean_loc(error["loc"], data))
        lines.append(
            f"{source.where(loc)}: {format_loc(loc) or '<top>'}: {_message(error, root, loc, prefix)}"
        )
    return "\n".join(dict.fromkeys(lines))


def _at(data: Any, loc: Loc) -> Any:
    for part in loc:
        found = isinstance(data, dict) and part in data
        indexed = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (found or indexed):
            return None
        data = data[part]
    return data


def _clean_loc(loc: tuple[Any, ...], data: Any = None) -> Loc:
    """``loc`` without pydantic's pseudo-locations for unions and validators
    (``function-after[...]``, ``list[str]``); a key that is in the data (``max-tokens``) stays."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            data = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
        elif isinstance(data, dict) and part in data:
            out.append(part)
            data = data[part]
        elif "[" not in part and "-" not in part:
            out.append(part)
            data = None
    return tuple(out)


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _message(error: Any, root: type[BaseModel], loc: Loc, prefix: Loc) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _fields_at(root, loc[len(prefix) : -1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = f"; allowed keys: {', '.join(sorted(allowed))}" if allowed and not close else ""
        return f"unknown key {key!r}{hint}{known}"
    if kind == "missing":
        return "required field is missing"
    if kind == "int_parsing_size":  # a float or digits beyond 64 bits, before any bound is checked
        return f"is far too large (got {value!r})"
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()))
        return f"must be {_BOUNDS[kind]} {limit} (got {value!r})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {value!r})"
    if kind == "string_pattern_mismatch":
        return f"{value!r} may only use letters, digits, '.', '_' and '-' (at most 64)"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if value is not None and not isinstance(value, (dict, list)) and kind != "value_error":
        message += f" (got {value!r})"
    return message


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model``, or [] if none."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = [a for a in typing.get_args(current) if a is not type(None)]
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            current = info.annotation if info else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else args[0]
        else:
            return annotation
