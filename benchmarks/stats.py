"""Summaries of timing samples: median, p99 and friends, and ratios between paths."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    """Milliseconds (or any unit the samples had) over ``n`` samples; percentiles by nearest rank."""

    n: int
    p50: float
    p90: float
    p99: float
    mean: float
    min: float
    max: float

    def to_json(self) -> dict[str, float | int]:
        """The summary as plain JSON values, rounded to microseconds."""
        return {
            key: round(value, 3) if isinstance(value, float) else value for key, value in asdict(self).items()
        }


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted samples (``fraction`` in 0..1)."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Sequence[float]) -> Summary:
    """Median, p90, p99, mean and range of ``samples``."""
    ordered = sorted(samples)
    return Summary(
        n=len(ordered),
        p50=percentile(ordered, 0.50),
        p90=percentile(ordered, 0.90),
        p99=percentile(ordered, 0.99),
        mean=sum(ordered) / len(ordered),
        min=ordered[0],
        max=ordered[-1],
    )


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline`` rounded to 3 places, or ``None`` when the baseline is zero."""
    return round(value / baseline, 3) if baseline else None
