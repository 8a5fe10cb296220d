"""Benchmarks (run on demand; each has --smoke for the test suite). Shared helpers only."""

import math


def pct(values, p):
    """Nearest-rank percentile: the ceil(p% * n)-th smallest value."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(math.ceil(p / 100.0 * len(ordered))) - 1))
    return ordered[k]
