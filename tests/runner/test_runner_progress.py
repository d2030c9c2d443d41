"""Progress: a bar on a terminal, log lines otherwise, silence unless someone asked."""

from __future__ import annotations

import io
import logging

import pytest

from lm_eval_so._internal.common.records import ErrorInfo, RunResult
from lm_eval_so._internal.runner.progress import Progress, progress_reporter


def feed(progress: Progress, n_ok: int, n_errors: int) -> None:
    for i in range(n_ok):
        progress(RunResult(sample_id=f"ok{i}", output="x", cost_usd=0.01, cached=i == 0))
    for i in range(n_errors):
        error = ErrorInfo(type="RateLimitError", message="slow down", status_code=429)
        progress(RunResult(sample_id=f"bad{i}", error=error, cost_usd=0.0))


def test_the_bar_shows_rate_eta_errors_and_cost() -> None:
    stream = io.StringIO()
    progress = Progress(100, stream, interactive=True)
    feed(progress, 30, 2)

    progress.draw(progress.started + 4.0)  # as if 4 s had passed: 8 results/s

    drawn = stream.getvalue().rsplit("\r", 1)[-1]
    assert "32/100" in drawn and " 32%" in drawn
    assert "8.0/s" in drawn and "ETA 8s" in drawn  # 68 left at 8/s
    assert "errors 2" in drawn and "cached 1" in drawn and "cost $0.3000" in drawn
    assert drawn.startswith("\x1b[2K[" + "#" * 7)
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[2K")  # cleared before the summary


def test_without_a_terminal_progress_is_plain_log_lines() -> None:
    stream = io.StringIO()
    progress = Progress(10, stream, interactive=False)
    feed(progress, 5, 0)
    progress.draw(progress.started + 1.0)
    assert stream.getvalue() == (
        "lm-eval-so: runner: [############------------] 5/10  50% 5.0/s ETA 1s "
        "errors 0 cached 1 cost $0.0500\n"
    )
    assert "\r" not in stream.getvalue()


def test_an_unknown_cost_shows_as_unknown() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream, interactive=False)
    progress(RunResult(sample_id="a", output="x", cost_usd=None))
    progress.draw(progress.started + 1.0)
    assert "cost unknown" in stream.getvalue()


def test_quiet_unless_info_logging_is_on(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("lm_eval_so")
    assert progress_reporter(10) is None  # pytest's default: nobody asked for progress
    with caplog.at_level(logging.INFO, logger="lm_eval_so"):
        assert isinstance(progress_reporter(10), Progress)
    assert not logger.isEnabledFor(logging.INFO)
