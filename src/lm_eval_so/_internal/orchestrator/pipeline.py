"""Run Generator -> Runner -> Evaluator for one pipeline. Adapters (CLI, Python, pytest) call this."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, overload

from ..common.config import PipelineConfig, load_config
from ..common.errors import BackendError, ConfigError
from ..common.matrix import Experiment, load_pipeline
from ..common.secrets import check_prompts_hold_no_secret
from ..common.shard import Shard, parse_shard
from ..common.workspace import Workspace
from ..evaluator import evaluate_run
from ..evaluator.evaluate import preflight
from ..generator import build_dataset, generate_dataset
from ..generator.generate import BuiltDataset
from ..models.lookup import backend_class
from ..runner import check_backend, run_stage
from ..runner.cache import cache_mode
from ..runner.estimate import estimate_run
from .result import ExperimentResult, PipelineResult, Plan

log = logging.getLogger("lm_eval_so")

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | PipelineConfig


def prepare(
    config: ConfigSource,
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[PipelineConfig, Workspace]:
    """Load and validate the config, apply overrides, pick the workspace."""
    source = config if isinstance(config, (Mapping, PipelineConfig)) else Path(config)
    loaded = load_config(source)
    if overrides:
        loaded = loaded.with_overrides(**dict(overrides))
    missing = loaded.missing_env()
    if missing:
        where = loaded.path.name if loaded.path else "config"
        raise ConfigError(f"{where}: requires_env: {', '.join(missing)} not set")
    check_prompts_hold_no_secret(loaded)
    return loaded, Workspace(workspace_dir if workspace_dir is not None else loaded.workspace)


@overload
async def run_pipeline_async(
    config: PipelineConfig | Mapping[str, Any],
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: str | Shard | None = None,
) -> PipelineResult: ...


@overload
async def run_pipeline_async(
    config: str | os.PathLike[str],
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: str | Shard | None = None,
) -> PipelineResult | ExperimentResult: ...


async def run_pipeline_async(
    config: ConfigSource,
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: str | Shard | None = None,
) -> PipelineResult | ExperimentResult:
    """Run one pipeline end to end and return its :class:`PipelineResult`.

    ``config`` is a path to ``pipeline.yaml`` (or its directory), a dict, or a
    :class:`PipelineConfig`. ``overrides`` maps dotted fields to values
    (``{"runner.model": "gpt-4o-mini"}``). ``dry_run`` validates and plans; it calls no model
    and writes nothing. ``resume`` is an interrupted run directory of the same config: it is
    continued in place (finished samples are not asked again) instead of starting a new run.

    A pipeline.yaml with a ``matrix:`` returns an :class:`ExperimentResult` (every cell run and
    compared with the baseline); ``lm-eval-so run --cell NAME`` runs one cell.

    ``shard`` runs only that shard of the dataset x repeats: ``"I/N"`` (0-based), ``"auto/N"``
    or ``"auto"`` as for ``run --shard``, or a :class:`Shard`:
    the result has the run directory and no summary, because a shard is scored and gated by
    ``lm-eval-so merge`` once every shard is in.
    """
    if isinstance(shard, str):
        shard = parse_shard(shard)
    if isinstance(config, (str, os.PathLike)):
        loaded = load_pipeline(config)
        if isinstance(loaded, Experiment):
            if resume is not None:
                raise ConfigError(f"{loaded.where()}: --resume takes one cell's run directory, not a matrix")
            if shard is not None:
                raise ConfigError(
                    f"{loaded.where()}: --shard runs one pipeline; a matrix pipeline's cells are "
                    "not sharded (run each cell's pipeline on its own, or without --shard)"
                )
            experiment = loaded.with_overrides(overrides)
            from .experiment import run_experiment_async  # only matrix pipelines pay for it

            return await run_experiment_async(experiment, workspace_dir=workspace_dir, dry_run=dry_run)
        config = loaded
    return await run_one_async(
        config, workspace_dir=workspace_dir, dry_run=dry_run, overrides=overrides, resume=resume, shard=shard
    )


async def run_one_async(
    config: ConfigSource,
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: Shard | None = None,
) -> PipelineResult:
    """One pipeline (or one cell of a matrix) end to end: the body of :func:`run_pipeline_async`."""
    if resume is not None and workspace_dir is None:
        workspace_dir = Path(resume).resolve().parent.parent  # <workspace>/runs/<run_id>
    cfg, workspace = prepare(config, workspace_dir=workspace_dir, overrides=overrides)
    if dry_run:
        with build_dataset(cfg) as built:
            return PipelineResult(cfg.name, cfg.config_hash(), True, plan=make_plan(cfg, workspace, built))

    # What can fail without a model call fails before anything is written or asked.
    check_backend(cfg)
    # Nothing of the built dataset outlives this call: the runner reads dataset.jsonl itself.
    dataset = generate_dataset(cfg, workspace)
    preflight(cfg, dataset.path)
    log.info(
        "dataset %s: %d samples (%s)",
        dataset.dataset_id,
        dataset.n_samples,
        "reused" if dataset.reused else "created",
    )
    outcome = await run_stage(cfg, dataset.path, workspace, resume=resume, shard=shard)
    log.info(
        "run %s: %d requests, %d errors",
        outcome.run.run_id,
        outcome.stats.n_requests,
        outcome.stats.n_errors,
    )
    if outcome.shard is not None:
        # A shard holds part of the results: scoring and gates wait for `lm-eval-so merge`.
        return PipelineResult(
            cfg.name, cfg.config_hash(), False, run_dir=outcome.run.path, dataset_path=dataset.path
        )
    with _interruptible():
        summary = evaluate_run(cfg, outcome.run, dataset.path, run_id=outcome.run.run_id)
    return PipelineResult(
        cfg.name,
        cfg.config_hash(),
        False,
        run_dir=outcome.run.path,
        dataset_path=dataset.path,
        summary=summary,
    )


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt at once while the body, synchronous code, runs.

    Scoring is synchronous and runs inside ``asyncio.run``, whose SIGINT handler only cancels
    the main task: a cancellation the loop sees once scoring returns. With a judge waiting on a
    server that hangs, Ctrl-C was ignored until every retry had timed out. Only asyncio's own
    handler is swapped (in the main thread): a host application's handler is left alone.
    """
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main else None
    owner = getattr(getattr(previous, "func", None), "__self__", None)
    runner = getattr(asyncio, "Runner", None)  # 3.11+; before, asyncio.run left SIGINT alone
    if runner is None or not isinstance(owner, runner):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@overload
def run_pipeline(
    config: PipelineConfig | Mapping[str, Any],
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: str | Shard | None = None,
) -> PipelineResult: ...


@overload
def run_pipeline(
    config: str | os.PathLike[str],
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: str | Shard | None = None,
) -> PipelineResult | ExperimentResult: ...


def run_pipeline(
    config: ConfigSource,
    *,
    workspace_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
    resume: str | os.PathLike[str] | None = None,
    shard: str | Shard | None = None,
) -> PipelineResult | ExperimentResult:
    """Synchronous twin of :func:`run_pipeline_async`.

    Works inside a running event loop too (e.g. Jupyter) by running in a helper thread.
    """
    coro_args: dict[str, Any] = {
        "workspace_dir": workspace_dir,
        "dry_run": dry_run,
        "overrides": overrides,
        "resume": resume,
        "shard": shard,
    }
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_pipeline_async(config, **coro_args))
    return _run_in_thread(config, coro_args)


def _run_in_thread(config: ConfigSource, kwargs: dict[str, Any]) -> PipelineResult | ExperimentResult:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(run_pipeline_async(config, **kwargs))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="lm-eval-so-pipeline")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: PipelineResult | ExperimentResult = box["result"]
    return result


def make_plan(cfg: PipelineConfig, workspace: Workspace, built: BuiltDataset) -> Plan:
    try:
        check_backend(cfg)
        credentials = "ok"
    except BackendError as exc:
        credentials = f"NOT READY: {exc}"
    metrics = [m.key for m in cfg.evaluator.metrics]
    gates = [gate.name for gate in cfg.gates()]
    n = built.n_samples
    estimate = estimate_run(cfg, built.iter_samples())
    return Plan(
        pipeline=cfg.name,
        config_path=str(cfg.path) if cfg.path else None,
        workspace=str(workspace.root),
        stages=["generator", "runner", "evaluator"],
        dataset_id=built.dataset_id,
        dataset_hash=built.content_hash,
        n_samples=n,
        backend=cfg.runner.backend,
        model=cfg.runner.model,
        mode=cfg.runner.mode,
        repeats=cfg.runner.repeats,
        n_requests=n * cfg.runner.repeats,
        concurrency=cfg.runner.concurrency,
        credentials=credentials,
        metrics=metrics,
        gates=gates,
        reports=list(cfg.evaluator.report.formats),
        est_prompt_tokens=estimate.prompt_tokens,
        est_completion_tokens=estimate.completion_tokens,
        est_cost_usd=estimate.cost_usd,
        max_cost_usd=cfg.runner.max_cost_usd,
        cache=cache_mode(cfg.runner, backend_class(cfg)),
        imports_code=cfg.runner.backend == "python" or any(m.type == "python" for m in cfg.evaluator.metrics),
    )
