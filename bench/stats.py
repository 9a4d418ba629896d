"""Robust summaries of timing samples: medians and quartiles, never means (noisy machine)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def quantile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between order statistics."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and range of one series of samples (in the samples' unit)."""

    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(
            n=len(samples),
            median=statistics.median(samples),
            q1=quantile(samples, 0.25),
            q3=quantile(samples, 0.75),
            low=min(samples),
            high=max(samples),
        )

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (e.g. seconds to milliseconds)."""
        return Summary(
            self.n,
            self.median * factor,
            self.q1 * factor,
            self.q3 * factor,
            self.low * factor,
            self.high * factor,
        )

    def iqr_text(self, digits: int = 0) -> str:
        return f"{self.q1:.{digits}f}\u2013{self.q3:.{digits}f}"


def paired_ratios(values: Sequence[float], baselines: Sequence[float]) -> Summary:
    """Ratios of samples taken side by side (same round), so slow drifts in load cancel."""
    if len(values) != len(baselines):
        raise ValueError("paired samples must have the same length")
    return Summary.of(
        [v / b if b else float("inf") for v, b in zip(values, baselines, strict=True)]
    )
