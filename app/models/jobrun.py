"""JobRun: one row per (job, slot). The unique key is what makes runs idempotent."""
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
        sa.UniqueConstraint("job", "slot", name="uq_job_runs_job_slot"),
        sa.Index("ix_job_runs_job_started", "job", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64))
    slot: Mapped[datetime] = mapped_column(UtcDateTime)
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
