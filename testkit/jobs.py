"""Jobs for tests, loaded with VIGIL_EXTRA_JOBS=testkit.jobs.

They exercise the runner's outcomes (success, failure, deadline, SIGTERM) and
give the timer tests a one-second tick. Each run appends a line to the file
named by VIGIL_TEST_JOB_LOG, so a test can count executions independently of
the JobRun rows it is checking.
"""
from __future__ import annotations

import os
import time

from app.jobs.registry import JobContext, job


def _note(ctx: JobContext) -> None:
    path = os.environ.get("VIGIL_TEST_JOB_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{ctx.name} {ctx.slot.isoformat()} {os.getpid()} {ctx.epoch}\n")


@job("test-ok", cron="* * * * *", deadline=20, description="Succeeds.")
def test_ok(ctx: JobContext) -> str:
    _note(ctx)
    time.sleep(float(os.environ.get("VIGIL_TEST_SLEEP", "0")))
    return "fine"


@job("test-fail", cron="* * * * *", deadline=20, retries=1, backoff=0.1, description="Always raises.")
def test_fail(ctx: JobContext) -> None:
    _note(ctx)
    raise RuntimeError("this job always fails")


@job("test-slow", cron="* * * * *", deadline=1, description="Outlives its 1 s deadline.")
def test_slow(ctx: JobContext) -> None:
    _note(ctx)
    time.sleep(30)


@job("test-tick", every=1, deadline=5, description="A one-second timer.")
def test_tick(ctx: JobContext) -> str:
    _note(ctx)
    return "tick"
