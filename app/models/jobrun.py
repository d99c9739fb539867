"""JobRun: one row per run of a job for a slot. The unique key is what makes runs idempotent.

The key is (job, slot, shard, attempt). A job that is not sharded always runs as shard 0 of
1, attempt 0, so for it the key is (job, slot) as it always was. A sharded job
(check-monitors, an Indexed Job) claims one row per shard, so shards never block each other;
a shard whose attempt failed may be claimed again as the next attempt (the Job's retry of
that index), and the key still lets only one process hold an attempt (app/jobs/runner.py).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UtcDateTime, utcnow

TRIGGERS = ("schedule", "manual", "timer")
STATUSES = ("running", "succeeded", "failed", "skipped", "lost", "interrupted")


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        sa.UniqueConstraint("job", "slot", "shard", "attempt", name="uq_job_runs_job_slot_shard_attempt"),
        sa.Index("ix_job_runs_job_started", "job", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64))
    slot: Mapped[datetime] = mapped_column(UtcDateTime)
    shard: Mapped[int] = mapped_column(default=0, server_default="0")  # k of 0..shards-1
    shards: Mapped[int] = mapped_column(default=1, server_default="1")  # n, as the run was told
    attempt: Mapped[int] = mapped_column(default=0, server_default="0")  # 0, then 1 for a retry, ...
    trigger: Mapped[str] = mapped_column(sa.String(16), default="schedule")
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    duration_s: Mapped[float | None] = mapped_column(sa.Float, default=None)
    host: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    epoch: Mapped[int | None] = mapped_column(default=None)
    message: Mapped[str | None] = mapped_column(sa.Text, default=None)


class RunRequest(Base):
    """A Run now that may not have started yet: one row per job, re-armed by a conditional
    UPDATE only when the previous request has started or expired (app/run_now.py)."""
    __tablename__ = "run_requests"

    job: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
