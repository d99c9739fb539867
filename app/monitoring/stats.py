"""Uptime and latency arithmetic, and the geometry of the inline SVG charts.

Pure functions over plain numbers: no database, no Flask.
"""
from __future__ import annotations

import math
from typing import Sequence


def uptime_percent(total: int, failures: int) -> float | None:
    """Share of successful checks, in percent; None when nothing was checked."""
    if total <= 0:
        return None
    failures = min(max(failures, 0), total)
    return 100.0 * (total - failures) / total


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation, as numpy's default."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def polyline_points(values: Sequence[float | None], *, width: float, height: float,
                    pad: float = 2.0) -> str:
    """SVG polyline points for `values` scaled into a width x height box.

    Missing values (failed checks without a latency) are skipped, keeping their
    place on the x axis so gaps stay visible in time.
    """
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = []
    for index, value in enumerate(values):
        if value is None:
            continue
        x = pad + index * step
        y = height - pad - (value - low) / span * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def format_percent(value: float | None) -> str:
    """'99.95%' for people; a dash when there is no data."""
    if value is None:
        return "–"
    if value >= 99.995 or value == 0:
        return f"{value:.0f}%"
    return f"{value:.2f}%"
