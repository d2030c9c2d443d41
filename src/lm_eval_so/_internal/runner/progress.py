"""Progress of a run on stderr: a bar on a terminal, a log line now and then otherwise.

Shown only when the ``lm_eval_so`` logger logs INFO: the CLI sets that up (``-q`` silences
it), a library user or pytest does not, so runs there are quiet unless asked for (e.g.
``pytest --log-level=INFO``). The bar is a hand-written line redrawn at most ten times a
second: cheap enough for the hot path (one counter update per result) and no dependency.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from ..common.records import RunResult
from ..common.text import usd
from ..models.pricing import add_cost
from .engine import OnResult

REDRAW_EVERY_S = 0.1
LOG_EVERY_S = 5.0
BAR_WIDTH = 24


def progress_reporter(total: int, *, done: int = 0) -> OnResult | None:
    """A callback for the engine, or None when nobody asked to see progress."""
    if not logging.getLogger("lm_eval_so").isEnabledFor(logging.INFO):
        return None
    stream = sys.stderr
    interactive = stream.isatty()
    return Progress(total, stream, interactive=interactive, done=done)


class Progress:
    """Counts results; renders rate, ETA, errors and the running cost."""

    def __init__(self, total: int, stream: TextIO, *, interactive: bool, done: int = 0) -> None:
        self.total, self.stream, self.interactive = total, stream, interactive
        self.start_done = self.done = done
        self.errors = self.cached = 0
        self.cost: float | None = 0.0
        self.started = time.monotonic()
        self.next_draw = self.started + (REDRAW_EVERY_S if interactive else LOG_EVERY_S)
        self.drawn = False

    def __call__(self, result: RunResult) -> None:
        self.done += 1
        self.errors += result.error is not None
        self.cached += result.cached
        self.cost = add_cost(self.cost, result.cost_usd)
        now = time.monotonic()
        if now >= self.next_draw:
            self.next_draw = now + (REDRAW_EVERY_S if self.interactive else LOG_EVERY_S)
            self.draw(now)

    def draw(self, now: float) -> None:
        line = self.line(now)
        if self.interactive:
            self.stream.write(f"\r\x1b[2K{line}")
            self.drawn = True
        else:
            self.stream.write(f"lm-eval-so: runner: {line}\n")
        self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = (self.done - self.start_done) / elapsed
        left = max(self.total - self.done, 0)
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        cost = usd(self.cost)
        fraction = min(self.done / self.total, 1.0) if self.total else 0.0
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return (
            f"[{bar}] {self.done}/{self.total} {fraction:4.0%} {rate:.1f}/s ETA {eta} "
            f"errors {self.errors} cached {self.cached} cost {cost}"
        )

    def close(self) -> None:
        """Clear the bar so the summary that follows starts on a clean line."""
        if self.interactive and self.drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
