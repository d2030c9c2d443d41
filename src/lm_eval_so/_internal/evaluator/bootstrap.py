"""Seeded percentile bootstrap intervals for means and paired mean differences (numpy).

The resampling is done in blocks of resamples so memory stays ``O(block · n)`` whatever ``B``.
A fixed seed makes every interval reproducible: the same scores always give the same report,
in whatever order they come (the values are sorted before resampling, so the interval is a
function of the scores alone, not of the order a run's calls finished or shards were merged).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Resamples per interval. 1,000 percentile resamples put each 2.5% tail on 25 points.
RESAMPLES = 1000
#: Above this many scores the evaluator uses the normal interval instead (see ``stats.summarize``).
MAX_BOOTSTRAP_N = 20_000
_BLOCK_CELLS = 2_000_000  # indices drawn per block: 8 MB of int32


def bootstrap_mean_interval(
    values: Sequence[float] | npt.NDArray[np.float64],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; ``(0, 0)`` for no values."""
    import numpy as np

    # Sorted: the seeded resample then depends on the scores, not on the order they arrived in.
    data = np.sort(np.asarray(values, dtype=np.float64))
    if data.size == 0:
        return (0.0, 0.0)
    means = _resampled_means(data, seed, resamples)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def paired_bootstrap_interval(
    a: Sequence[float], b: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """Interval of ``mean(b - a)`` resampling *pairs*, so per-sample difficulty cancels out."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} and {len(b)})")
    import numpy as np

    diff = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    return bootstrap_mean_interval(diff, seed=seed, resamples=resamples)


def _resampled_means(data: npt.NDArray[np.float64], seed: int, resamples: int) -> npt.NDArray[np.float64]:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = data.size
    means = np.empty(resamples, dtype=np.float64)
    block = max(1, min(resamples, _BLOCK_CELLS // n))
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        index = rng.integers(0, n, size=(rows, n), dtype=np.int32 if n < 2**31 else np.int64)
        means[start : start + rows] = data[index].mean(axis=1)
    return means
