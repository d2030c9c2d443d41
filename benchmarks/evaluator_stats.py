"""How long the evaluator's statistics take on 100,000 scores (and the bootstrap at its limit).

    python benchmarks/evaluator_stats.py

Prints wall times; asserts nothing (speed is measured here, never in tests/).
"""

from __future__ import annotations

import random
import time

from lm_eval_so._internal.evaluator.bootstrap import (
    MAX_BOOTSTRAP_N,
    bootstrap_mean_interval,
    paired_bootstrap_interval,
)
from lm_eval_so._internal.evaluator.passk import ks_for, mean_pass_at_k
from lm_eval_so._internal.evaluator.stats import summarize


def timed(label: str, action: object) -> None:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    print(f"{label:<58} {time.perf_counter() - start:8.3f} s")


def main() -> None:
    rng = random.Random(0)
    binary = [float(rng.random() < 0.7) for _ in range(100_000)]
    continuous = [rng.betavariate(5, 2) for _ in range(100_000)]
    at_limit = continuous[:MAX_BOOTSTRAP_N]
    counts = [(10, rng.randint(0, 10)) for _ in range(10_000)]  # 10,000 samples x 10 repeats
    import numpy  # noqa: F401  (import time is not the statistics' time)

    timed("summarize 100,000 pass/fail scores (Wilson)", lambda: summarize(binary, binary=True))
    timed(
        "summarize 100,000 continuous scores (normal, n > limit)", lambda: summarize(continuous, binary=False)
    )
    timed(
        f"summarize {MAX_BOOTSTRAP_N:,} continuous scores (bootstrap, 1,000 resamples)",
        lambda: summarize(at_limit, binary=False),
    )
    timed("bootstrap 100,000 scores anyway (1,000 resamples)", lambda: bootstrap_mean_interval(continuous))
    timed(
        "paired bootstrap of 100,000 pairs (compare)", lambda: paired_bootstrap_interval(binary, continuous)
    )
    timed("pass@k for 10,000 samples x 10 repeats", lambda: mean_pass_at_k(counts, ks_for(10)))


if __name__ == "__main__":
    main()
