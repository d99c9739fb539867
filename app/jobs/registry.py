"""The job registry: every job is declared once, next to its function.

    @job("rollup-stats", cron="5 * * * *", deadline=600, description="...")
    def rollup_stats(ctx: JobContext) -> str | None: ...

From this one registry come the CLI (`python -m app.jobs`), the chart's job values
(`export`; the chart renders them as CronJobs), the timers of the web process and the
jobs page.

Guarantees: names are unique and DNS-label safe (they become CronJob names);
a cron job has a five-field schedule that APScheduler can parse; a timer has a
positive interval. Declaring a job imports nothing heavy, so `python -m app.jobs
list` stays fast.

Sharded jobs (``sharded=True``, cron only; check-monitors): the chart runs them as an
Indexed Job of ``shards`` pods (its `jobs.<name>.shards` value, default 1); shard k of n
gets ``ctx.shard`` and ``ctx.shards`` and does its part of the work. Each shard claims its
own run (app/jobs/runner.py), and a shard whose attempt failed may run again as the next
attempt (the Job retries that index).
"""
from __future__ import annotations

import importlib
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Literal

log = logging.getLogger(__name__)

CRON_STARTUP_ALLOWANCE_S = 15
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")

# Modules holding the built-in declarations; VIGIL_EXTRA_JOBS adds more (comma-separated).
BUILTIN_MODULES = ("app.jobs.check_monitors", "app.jobs.maintenance", "app.jobs.notifications")


@dataclass(frozen=True)
class JobContext:
    """What a job body gets: its slot, trigger, run id and the timer's fencing epoch."""
    name: str
    slot: datetime
    trigger: str
    run_id: int
    epoch: int | None
    deadline_s: float
    log: logging.Logger
    shard: int = 0  # k, of 0..shards-1 (always 0 of 1 for a job that is not sharded)
    shards: int = 1
    attempt: int = 0  # 0, or the retry number of this shard's run for this slot


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts inside one run: `retries` more after the first, `backoff_s` doubling."""
    retries: int = 0
    backoff_s: float = 1.0


@dataclass(frozen=True)
class Job:
    name: str
    kind: Literal["cron", "timer"]
    func: Callable[[JobContext], str | None] = field(repr=False)
    description: str
    deadline_s: float
    schedule: str | None = None
    interval_s: float | None = None
    retry: RetryPolicy = RetryPolicy()
    sharded: bool = False

    @property
    def period_s(self) -> float:
        """Shortest time between two slots (for CronJob deadlines and the reaper)."""
        if self.kind == "timer":
            return float(self.interval_s)
        from app.jobs.schedule import period_seconds

        return period_seconds(self.schedule)


REGISTRY: dict[str, Job] = {}


class UnknownJob(KeyError):
    def __str__(self) -> str:
        return f"unknown job {self.args[0]!r}; known jobs: {', '.join(sorted(REGISTRY)) or 'none'}"


def job(name: str, *, description: str, deadline: float, cron: str | None = None,
        every: float | None = None, retries: int = 0, backoff: float = 1.0, sharded: bool = False):
    """Declare a job: `cron` (five-field schedule, UTC) or `every` (timer interval in seconds).
    `sharded`: the job can split its work into shards (see the module docstring)."""
    if not _NAME.match(name):
        raise ValueError(f"job name {name!r} must be a DNS label of at most 42 characters")
    if (cron is None) == (every is None):
        raise ValueError(f"job {name!r}: give exactly one of cron= or every=")
    if every is not None and every <= 0:
        raise ValueError(f"job {name!r}: the interval must be positive")
    if deadline <= 0:
        raise ValueError(f"job {name!r}: the deadline must be positive")
    if sharded and cron is None:
        raise ValueError(f"job {name!r}: only cron jobs can be sharded (an Indexed Job per slot)")
    if cron is not None:
        from app.jobs.schedule import period_seconds, validate_cron

        validate_cron(cron)
        # Room for pod start-up (export.STARTUP_ALLOWANCE_S) inside activeDeadlineSeconds,
        # which stays below the period: the run's own deadline must fire first.
        if deadline + CRON_STARTUP_ALLOWANCE_S > period_seconds(cron) - 5:
            raise ValueError(f"job {name!r}: a deadline of {deadline:g}s leaves no room for pod start-up "
                             f"within its {period_seconds(cron):g}s period")

    def register(func: Callable[[JobContext], str | None]):
        if name in REGISTRY and REGISTRY[name].func is not func:
            raise ValueError(f"job {name!r} is declared twice")
        REGISTRY[name] = Job(name=name, kind="cron" if cron else "timer", func=func,
                             description=description, deadline_s=float(deadline), schedule=cron,
                             interval_s=float(every) if every else None,
                             retry=RetryPolicy(retries=retries, backoff_s=backoff), sharded=sharded)
        return func

    return register


def load_jobs() -> dict[str, Job]:
    """Import every module that declares jobs and return the registry."""
    extra = [m.strip() for m in os.environ.get("VIGIL_EXTRA_JOBS", "").split(",") if m.strip()]
    for module in (*BUILTIN_MODULES, *extra):
        importlib.import_module(module)
    return REGISTRY


def get_job(name: str) -> Job:
    jobs = load_jobs()
    if name not in jobs:
        raise UnknownJob(name)
    return jobs[name]


def cron_jobs() -> list[Job]:
    return sorted((j for j in load_jobs().values() if j.kind == "cron"), key=lambda j: j.name)


def timer_jobs() -> list[Job]:
    return sorted((j for j in load_jobs().values() if j.kind == "timer"), key=lambda j: j.name)
