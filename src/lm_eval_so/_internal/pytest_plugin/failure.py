"""How a gate's outcome reads in a test report: failure text and JUnit properties."""

from __future__ import annotations

from typing import Any

from ..common.config import Gate
from ..common.errors import PipelineFailed
from ..common.records import ThresholdOutcome
from ..orchestrator import PipelineResult
from .keys import PREFIX

SAMPLES_SHOWN = 5


def _clip(text: object, width: int = 60) -> str:
    value = repr(text)
    return value if len(value) <= width else value[: width - 3] + "..."


def outcome_for(result: PipelineResult, gate: Gate) -> ThresholdOutcome:
    assert result.summary is not None
    for outcome in result.summary.thresholds:
        if outcome.name == gate.name:
            return outcome
    raise PipelineFailed(f"the evaluation has no outcome for gate {gate.name!r}")


def describe_failure(result: PipelineResult, gate: Gate, outcome: ThresholdOutcome) -> str:
    assert result.summary is not None
    value = "unknown" if outcome.value is None else f"{outcome.value:.4g}"
    if outcome.gate == "confidence":
        # A confidence gate judges the interval, which may fail (or straddle) either bound.
        wanted = [f">= {gate.min:g}"] if gate.min is not None else []
        wanted += [f"<= {gate.max:g}"] if gate.max is not None else []
        bound = f"its 95% CI {' and '.join(wanted)}"
    else:
        low = gate.min is not None and (outcome.value or 0) < gate.min
        bound = f">= {gate.min:g}" if low or gate.max is None else f"<= {gate.max:g}"
    verdict = "INCONCLUSIVE (counted as failed)" if outcome.status == "inconclusive" else "failed"
    lines = [f"{result.pipeline}: {gate.name} {verdict}: {gate.target} = {value}, needs {bound}"]
    if outcome.reason:
        lines.append(f"  reason: {outcome.reason}")
    metric = result.summary.metrics.get(gate.target) if gate.kind == "metric" else None
    if metric is not None:
        lines.append(
            f"  95% CI [{metric.ci_low:.4g}, {metric.ci_high:.4g}] ({metric.ci_method}), "
            f"n={metric.n}, std={metric.std:.4g}"
        )
    failures = result.failures(gate.target if gate.kind == "metric" else None, limit=SAMPLES_SHOWN)
    if failures:
        lines.append(f"  first failing samples (up to {SAMPLES_SHOWN}):")
        for item in failures:
            got = (
                f"error {item.result.error.type}: {item.result.error.message}"
                if item.result.error
                else _clip(item.result.output)
            )
            lines.append(f"    {item.sample.id}: expected {_clip(item.sample.expected)}, got {got}")
    lines.append(f"  run: {result.run_dir}")
    report = result.report_path("html")
    if report is not None:
        lines.append(f"  report: {report}")
    return "\n".join(lines)


def properties(result: PipelineResult, gate: Gate | None) -> list[tuple[str, Any]]:
    """JUnit ``<properties>`` of one item: the gate's figures and the run's totals."""
    summary = result.summary
    assert summary is not None
    props: list[tuple[str, Any]] = []
    if gate is not None:
        outcome = next((o for o in summary.thresholds if o.name == gate.name), None)
        if outcome is not None:
            props.append((f"{PREFIX}.value", outcome.value))
        metric = summary.metrics.get(gate.target) if gate.kind == "metric" else None
        if metric is not None:
            props += [
                (f"{PREFIX}.{metric.name}.mean", metric.mean),
                (f"{PREFIX}.{metric.name}.ci_low", metric.ci_low),
                (f"{PREFIX}.{metric.name}.ci_high", metric.ci_high),
                (f"{PREFIX}.{metric.name}.n", metric.n),
            ]
    props += [
        (f"{PREFIX}.n_samples", summary.n_samples),
        (f"{PREFIX}.n_results", summary.n_results),
        (f"{PREFIX}.n_cached", summary.n_cached),
        (f"{PREFIX}.error_rate", summary.error_rate),
        (f"{PREFIX}.tokens", summary.usage.total_tokens),
        (f"{PREFIX}.cost_usd", summary.cost_usd),
        (f"{PREFIX}.cost_spent_usd", summary.cost_spent_usd),
        (f"{PREFIX}.cost_replayed_usd", summary.cost_replayed_usd),
        (f"{PREFIX}.run_dir", str(result.run_dir)),
    ]
    # JUnit writes str(value): an unknown figure must read "unknown", never "None".
    return [(name, "unknown" if value is None else value) for name, value in props]
