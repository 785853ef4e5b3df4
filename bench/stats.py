"""Percentiles and summaries of timings: pure functions, no Django."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation between closest ranks, as numpy's
    default does: the 50th of [1, 2, 3, 4] is 2.5, the 100th is the maximum."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, p99, max and mean of `values` (in whatever unit they are)."""
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def rate(times: Sequence[float], trim: float = 0.1) -> float:
    """Events per second over the middle of a burst: the first and last `trim` fraction of the
    sorted event times are left out, so warm-up and drain do not count."""
    ordered = sorted(times)
    cut = int(len(ordered) * trim)
    middle = ordered[cut : len(ordered) - cut] if cut else ordered
    if len(middle) < 2 or middle[-1] == middle[0]:
        raise ValueError("too few distinct event times for a rate")
    return (len(middle) - 1) / (middle[-1] - middle[0])
