"""Jinja filters for numbers and times as people read them."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask

from app.models import utcnow
from app.monitoring.stats import format_percent, polyline_points


def percent(value: float | None) -> str:
    return format_percent(value)


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def ago(value: datetime | str | None) -> str:
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    seconds = int((utcnow() - value).total_seconds())
    return "just now" if seconds < 5 else f"{_span(seconds)} ago"


def until(value: datetime | None) -> str:
    if value is None:
        return "–"
    seconds = int((value - utcnow()).total_seconds())
    return "due now" if seconds <= 0 else f"in {_span(seconds)}"


def _span(seconds: int) -> str:
    """'3 hours', '1 minute', '42 seconds': the largest whole unit."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def init_app(app: Flask) -> None:
    app.add_template_filter(until)
    app.add_template_filter(percent)
    app.add_template_filter(ms)
    app.add_template_filter(ago)
    app.add_template_filter(lambda values, w, h: polyline_points(values, width=w, height=h), "polyline")
