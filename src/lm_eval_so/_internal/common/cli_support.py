"""What every command-line entry point shares: error handling and exit codes.

Exit codes: 0 ran and thresholds met, 1 thresholds not met, 2 usage or config error,
3 internal error (a bug: report it). Errors a user can cause print one message, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from .errors import LmEvalError

EXIT_OK, EXIT_THRESHOLDS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
#: The reader of our output went away (``lm-eval-so runs list | head``): 128 + SIGPIPE, the
#: status a shell reports for a writer cut off that way.
EXIT_BROKEN_PIPE = 141


def guarded(action: Callable[[], int]) -> int:
    """Run a command body; turn our errors into a message and exit code 2."""
    try:
        return action()
    except LmEvalError as exc:
        print(f"lm-eval-so: error: {_shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("lm-eval-so: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # nobody's fault, nothing to report
        return stdout_gone()
    except Exception as exc:  # a bug, not the user's fault: say so, keep the trace on request
        if os.environ.get("LM_EVAL_SO_DEBUG"):
            traceback.print_exc()
        else:
            print(
                f"lm-eval-so: internal error: {type(exc).__name__}: {_shown(exc)}\n"
                "(set LM_EVAL_SO_DEBUG=1 for the traceback, and please report it)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL


def _shown(exc: BaseException) -> str:
    """The error's message without any secret of the environment: a server may echo a key
    back in an error the message quotes, and stderr ends up in CI logs."""
    from .redact import Redactor, environment_secrets

    return Redactor(environment_secrets()).text(str(exc))


def stdout_gone() -> int:
    """Point stdout at /dev/null (so the interpreter's last flush cannot fail again) and
    return :data:`EXIT_BROKEN_PIPE`."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (captured in-process): nothing to do
        pass
    return EXIT_BROKEN_PIPE


def standalone_main(
    prog: str,
    description: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """``main()`` of a sub-command run on its own (``lm-eval-so <command>``).

    The same ``add_arguments``/``run`` pair is mounted as a sub-command of ``lm-eval-so``;
    usage errors exit 2 from argparse itself, our errors through :func:`guarded`.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return guarded(lambda: run(args))


_quiet = False
_owns_process = False


def own_process() -> None:
    """Say that this process is the ``lm-eval-so`` command's own (not pytest's, not a notebook's)."""
    global _owns_process
    _owns_process = True


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """While the body runs, the cyclic GC skips every object alive when it began, if the
    process is ours (:func:`own_process`); a no-op inside a library call.

    Modules, classes, pydantic's schemas, the backend's client or model: without this, each full
    collection during a run walks all of them again (measured: ~80 ms of CPU in a 1,000-sample
    run, 6% of its wall time at C=128). They are unfrozen afterwards, so what a finished run
    released (a matrix cell's model, say) can be collected again. A library call
    (``run_pipeline``) leaves the host process's collector alone.
    """
    if not _owns_process:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def set_quiet(quiet: bool) -> None:
    """``-q``: from now on :func:`info` prints nothing; errors still do."""
    global _quiet
    _quiet = quiet


def info(message: str) -> None:
    """Progress and status go to stderr; stdout carries only what a script may capture."""
    if not _quiet:
        print(message, file=sys.stderr, flush=True)


def positive_int(text: str) -> int:
    """argparse ``type=`` for a count: a whole number of at least 1, or a usage error (exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value
