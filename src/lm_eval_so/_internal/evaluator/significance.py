"""McNemar's exact test: did a pass/fail metric change between two runs on the same samples?

Only discordant pairs carry information: ``b`` samples passed in A and failed in B
(regressions), ``c`` failed in A and passed in B (fixes). Under "no change" each discordant
pair is a fair coin, so the two-sided p-value is ``min(1, 2 · P[X <= min(b, c)])`` with
``X ~ Binomial(b + c, 1/2)``.
"""

from __future__ import annotations

import math


def mcnemar_exact(regressions: int, fixes: int) -> float:
    """Two-sided exact McNemar p-value; 1.0 when there are no discordant pairs."""
    if regressions < 0 or fixes < 0:
        raise ValueError("counts must be non-negative")
    n = regressions + fixes
    if n == 0:
        return 1.0
    k = min(regressions, fixes)
    # Exact integer arithmetic: no rounding until the final division.
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return float(min(1.0, 2 * tail / 2**n))
