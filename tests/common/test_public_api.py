"""The public surface is exactly what ``lm_eval_so.__all__`` says; changing it is deliberate."""

from __future__ import annotations

import lm_eval_so

EXPECTED = {
    "ArtifactError",
    "Comparison",
    "BackendError",
    "ConfigError",
    "DatasetError",
    "DatasetSample",
    "ExperimentResult",
    "LmEvalError",
    "MetricSummary",
    "PipelineConfig",
    "PipelineResult",
    "Plan",
    "PluginError",
    "RunResult",
    "ScoreRecord",
    "Shard",
    "Summary",
    "ThresholdOutcome",
    "Usage",
    "Workspace",
    "__version__",
    "compare_runs",
    "load_config",
    "registry",
    "run_pipeline",
    "run_pipeline_async",
}


def test_all_is_pinned() -> None:
    assert set(lm_eval_so.__all__) == EXPECTED
    for name in lm_eval_so.__all__:
        assert hasattr(lm_eval_so, name), name


def test_error_tree() -> None:
    for name in ("ArtifactError", "BackendError", "ConfigError", "DatasetError", "PluginError"):
        assert issubclass(getattr(lm_eval_so, name), lm_eval_so.LmEvalError)


def test_plugin_import_stays_light() -> None:
    # Every pytest session of a project with lm-eval-so installed imports the plugin: it must
    # not pull in pydantic models, the SDK or the model runtime until a pipeline is collected.
    import subprocess
    import sys

    code = (
        "import sys, lm_eval_so._internal.pytest_plugin.plugin\n"
        "heavy = [m for m in ('pydantic', 'openai', 'llama_cpp', 'jinja2') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


PUBLIC_MODULES = {"lm_eval_so", "lm_eval_so.__main__", "lm_eval_so.plugins", "lm_eval_so.plugins.testing"}


def _all_modules() -> list[str]:
    import pkgutil

    names = ["lm_eval_so"]
    for info in pkgutil.walk_packages(lm_eval_so.__path__, "lm_eval_so."):
        names.append(info.name)
    return names


def test_every_other_module_is_marked_internal() -> None:
    # What __init__ says ("the public API lives here and in lm_eval_so.plugins") is what the
    # module names say: anything else has a leading underscore somewhere in its path.
    exposed = [
        name
        for name in _all_modules()
        if name not in PUBLIC_MODULES and not any(part.startswith("_") for part in name.split("."))
    ]
    assert len(_all_modules()) > 50  # the walk really saw the package
    assert exposed == []


def test_every_exception_class_is_in_the_one_tree() -> None:
    import importlib
    import inspect

    defined = []
    for name in _all_modules():
        if name == "lm_eval_so.__main__":  # importing it runs the CLI
            continue
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            # Warnings are not errors: PluginWarning is a UserWarning, by design.
            if issubclass(value, Exception) and not issubclass(value, Warning) and value.__module__ == name:
                defined.append(value)
    assert len(defined) > 20
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in defined
        if not issubclass(cls, lm_eval_so.LmEvalError)
    ]
    assert outside == []


def _named_classes(hint: object) -> set[type]:
    import typing

    found: set[type] = set()
    if isinstance(hint, type):
        found.add(hint)
    for arg in typing.get_args(hint):
        found |= _named_classes(arg)
    return found


def _unexported_in(function: object) -> list[str]:
    """Classes of lm_eval_so named in ``function``'s type hints that no public module exports."""
    import typing

    import lm_eval_so.plugins as plugins

    exported = {getattr(lm_eval_so, name) for name in lm_eval_so.__all__} | {
        getattr(plugins, name) for name in plugins.__all__
    }
    return [
        cls.__name__
        for hint in typing.get_type_hints(function).values()
        for cls in _named_classes(hint)
        if cls.__module__.startswith("lm_eval_so") and cls not in exported
    ]


def test_what_plugin_contracts_take_and_return_is_importable_from_plugins() -> None:
    # A plugin author subclassing Backend/Metric/Reporter/Source must never need _internal for
    # the types in the methods they implement or call.
    import lm_eval_so.plugins as plugins

    missing = set()
    for contract in (plugins.Backend, plugins.Metric, plugins.Reporter, plugins.Source):
        for name, member in vars(contract).items():
            function = getattr(member, "__func__", member)
            if (name.startswith("_") and name != "__init__") or not callable(function):
                continue
            missing |= {f"{contract.__name__}.{name}: {cls}" for cls in _unexported_in(function)}
    assert missing == set()


def test_what_the_public_functions_take_and_return_is_public() -> None:
    import inspect

    functions = [(name, getattr(lm_eval_so, name)) for name in lm_eval_so.__all__]
    public = [(name, value) for name, value in functions if inspect.isfunction(value)]
    assert len(public) >= 4  # run_pipeline(_async), load_config, compare_runs
    missing = {f"{name}: {cls}" for name, value in public for cls in _unexported_in(value)}
    assert missing == set()
