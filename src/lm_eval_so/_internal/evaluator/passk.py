"""pass@k and per-sample variance for runs with ``runner.repeats > 1``.

pass@k uses the unbiased estimator of Chen et al. (2021, "Evaluating Large Language Models
Trained on Code"): with ``n`` attempts of which ``c`` passed,
``pass@k = 1 - C(n - c, k) / C(n, k)``, averaged over samples. It estimates the chance that at
least one of ``k`` fresh attempts passes, without the bias of "did any of the first k pass".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one sample with ``c`` passes in ``n`` attempts (``k <= n``)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n (got n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0  # every k-subset holds at least one pass
    # The product form avoids huge binomials: C(n-c, k)/C(n, k) = prod_{i=n-c+1..n} (1 - k/i).
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def ks_for(n: int) -> list[int]:
    """The k values worth reporting for ``n`` repeats: 1, 2, 5, 10, 20, 50, ... and n itself."""
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if k <= n]
    return ks if n in ks else [*ks, n]


def mean_pass_at_k(counts: Iterable[tuple[int, int]], ks: Sequence[int]) -> dict[str, float]:
    """pass@k averaged over samples, for each ``k`` every sample has enough attempts for."""
    pairs = list(counts)
    if not pairs:
        return {}
    smallest = min(n for n, _ in pairs)
    return {str(k): math.fsum(pass_at_k(n, c, k) for n, c in pairs) / len(pairs) for k in ks if k <= smallest}


def mean_within_sample_variance(groups: Mapping[str, Sequence[float]]) -> float:
    """Average over samples of the sample variance of their repeated scores.

    It measures how much one prompt's answer changes between attempts (sampling noise), as
    opposed to the spread between prompts. Samples with a single attempt are left out.
    """
    variances = []
    for scores in groups.values():
        n = len(scores)
        if n < 2:
            continue
        centre = math.fsum(scores) / n
        variances.append(math.fsum((s - centre) ** 2 for s in scores) / (n - 1))
    return math.fsum(variances) / len(variances) if variances else 0.0
