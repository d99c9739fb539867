"""Cron arithmetic on APScheduler's CronTrigger (UTC), and the slot a run belongs to.

A slot names one scheduled occurrence of a job; (job, slot) is the idempotency
key of a run. The default slot, in order of preference:
1. the schedule time of the Kubernetes Job that started this pod. A CronJob names
   its Jobs ``<cronjob>-<minutes since the epoch of the scheduled time>``, and the
   chart passes the pod's ``batch.kubernetes.io/job-name`` label in through the
   downward API as ``VIGIL_JOB_NAME``; so a retried pod keeps its slot;
2. else the schedule's most recent fire time at or before now.
APScheduler has no "previous fire time", so it is found by stepping forward
from a window before now, widening the window until a fire time falls in it.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger

_JOB_SUFFIX = re.compile(r"-(\d{7,10})$")


class BadSlot(ValueError):
    pass


def trigger(expression: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=timezone.utc)


def validate_cron(expression: str) -> None:
    if len(expression.split()) != 5:
        raise ValueError(f"cron schedule {expression!r} must have five fields")
    trigger(expression)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def previous_fire_time(expression: str, now: datetime) -> datetime:
    """The latest fire time <= now (naive UTC)."""
    now = _aware(now)
    cron = trigger(expression)
    window = timedelta(minutes=2)
    while window <= timedelta(days=800):
        moment = cron.get_next_fire_time(None, now - window)
        latest = None
        while moment is not None and moment <= now:
            latest = moment
            moment = cron.get_next_fire_time(moment, moment + timedelta(seconds=1))
        if latest is not None:
            return latest.replace(tzinfo=None)
        window *= 4
    raise ValueError(f"cron schedule {expression!r} never fires")


def next_fire_time(expression: str, now: datetime) -> datetime:
    moment = trigger(expression).get_next_fire_time(None, _aware(now) + timedelta(microseconds=1))
    return moment.replace(tzinfo=None)


def period_seconds(expression: str, *, samples: int = 48) -> float:
    """The shortest gap between fire times, sampled over the next `samples` fires."""
    cron = trigger(expression)
    moment = cron.get_next_fire_time(None, datetime(2030, 1, 1, tzinfo=timezone.utc))
    shortest = float("inf")
    for _ in range(samples):
        following = cron.get_next_fire_time(moment, moment + timedelta(seconds=1))
        shortest = min(shortest, (following - moment).total_seconds())
        moment = following
    return shortest


def slot_from_job_name(job_name: str | None) -> datetime | None:
    """The scheduled time a CronJob encoded in its Job's name, if it did."""
    match = _JOB_SUFFIX.search(job_name or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) * 60, tz=timezone.utc).replace(tzinfo=None)


def floor_to_interval(moment: datetime, interval_s: float) -> datetime:
    """The timer slot of `moment`: the start of its interval since the epoch (naive UTC)."""
    aware = _aware(moment)
    epoch_s = aware.timestamp()
    floored = epoch_s - (epoch_s % interval_s)
    return datetime.fromtimestamp(floored, tz=timezone.utc).replace(tzinfo=None)


def parse_slot(text: str) -> datetime:
    """An ISO 8601 time (naive means UTC) or 'now'; BadSlot with a readable message."""
    if text == "now":
        return datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadSlot(f"bad slot {text!r}: use an ISO 8601 time such as 2026-01-31T12:00:00Z, or 'now'") from None
    return _aware(moment).replace(tzinfo=None)
