"""The Monitor aggregate: a monitor, its check results, incidents and hourly rollups."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import Base, UtcDateTime, utcnow
from app.monitor_limits import DEFAULTS, KEYWORD_MAX, NAME_MAX, URL_MAX


def name_key(name: str) -> str:
    """What makes two monitor names the same: case does not count ("API" is "api")."""
    return name.casefold()[:NAME_MAX]


def _name_key_default(context) -> str:
    return name_key(context.get_current_parameters()["name"])


class Monitor(Base):
    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    # Unique, so names are unique whatever their case, on SQLite and MariaDB alike. Set from
    # `name` on every insert (also core inserts) and on every change through the ORM.
    name_key: Mapped[str] = mapped_column(sa.String(NAME_MAX), unique=True, default=_name_key_default)
    url: Mapped[str] = mapped_column(sa.String(URL_MAX))
    # Defaults for rows written without the declaration (seeds, tests, core inserts).
    method: Mapped[str] = mapped_column(sa.String(8), default=DEFAULTS["method"])
    interval_minutes: Mapped[int] = mapped_column(default=DEFAULTS["interval_minutes"])
    timeout_seconds: Mapped[float] = mapped_column(sa.Float, default=DEFAULTS["timeout_seconds"])
    expected_status_min: Mapped[int] = mapped_column(default=DEFAULTS["expected_status"][0])
    expected_status_max: Mapped[int] = mapped_column(default=DEFAULTS["expected_status"][1])
    keyword: Mapped[str | None] = mapped_column(sa.String(KEYWORD_MAX), default=None)
    enabled: Mapped[bool] = mapped_column(default=DEFAULTS["enabled"])
    # Alerting: the state turns down after `down_after` failed checks in a row and up after
    # `up_after` good ones (app/alerts/thresholds.py); reminders every `renotify_minutes`
    # while down (None: never).
    down_after: Mapped[int] = mapped_column(default=DEFAULTS["down_after"], server_default="2")
    up_after: Mapped[int] = mapped_column(default=DEFAULTS["up_after"], server_default="1")
    notify_recovery: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    renotify_minutes: Mapped[int | None] = mapped_column(default=None)
    # Current state, kept by check-monitors: None until the thresholds decide the first state.
    is_up: Mapped[bool | None] = mapped_column(default=None)
    # Checks in a row with the same outcome as the last one: + good, - failed, 0 never checked.
    streak: Mapped[int] = mapped_column(default=0, server_default="0")
    last_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # Of the last check (None if it failed before a response): the metrics' latency gauge.
    last_latency_ms: Mapped[float | None] = mapped_column(sa.Float, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    checks: Mapped[list[CheckResult]] = relationship(
        back_populates="monitor", cascade="all, delete-orphan", passive_deletes=True,
        lazy="dynamic")
    incidents: Mapped[list[Incident]] = relationship(
        back_populates="monitor", cascade="all, delete-orphan", passive_deletes=True,
        lazy="dynamic")
    channels = relationship("Channel", secondary="monitor_channels", lazy="selectin",
                            order_by="Channel.name")

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value

    @property
    def state(self) -> str:
        if not self.enabled:
            return "paused"
        if self.is_up is None:
            return "pending"
        return "up" if self.is_up else "down"


class CheckResult(Base):
    """One check's raw result. On MariaDB the table is partitioned by UTC day of checked_at
    (migration 0008, app/partitions.py): there its primary key is (id, checked_at) and it
    has no foreign key (InnoDB refuses both on a partitioned table), so deleting a monitor
    deletes its results explicitly (app/monitor_service.py delete()). The model keeps the
    key and foreign key of SQLite, which is unchanged; id stays unique on both."""

    __tablename__ = "check_results"
    # Covering (migration 0009): every read of raw results is "these monitors, this time
    # range, ok and latency", answered from the index alone, never a whole day partition.
    __table_args__ = (sa.Index("ix_check_results_monitor_time_ok_latency",
                               "monitor_id", "checked_at", "ok", "latency_ms"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    monitor_id: Mapped[int] = mapped_column(sa.ForeignKey("monitors.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ok: Mapped[bool]
    status_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[float | None] = mapped_column(sa.Float, default=None)
    error: Mapped[str | None] = mapped_column(sa.String(500), default=None)

    monitor: Mapped[Monitor] = relationship(back_populates="checks")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (sa.Index("ix_incidents_monitor_opened", "monitor_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(sa.ForeignKey("monitors.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cause: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    # Opened during a maintenance window: recorded, never notified (nor its recovery).
    in_maintenance: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Last down or reminder notification queued; reminders are claimed by a conditional
    # UPDATE of this column, so one process queues each reminder.
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reminders: Mapped[int] = mapped_column(default=0, server_default="0")

    monitor: Mapped[Monitor] = relationship(back_populates="incidents")


class HourlyRollup(Base):
    """Per monitor and hour (rollup-stats, at minute 5 for the previous hour): what charts
    older than a day read (app/monitor_detail.py) instead of raw results."""

    __tablename__ = "hourly_rollups"
    # By hour too: rollup-stats replaces one hour (DELETE ... WHERE hour = ?) and "the last
    # rolled-up hour" of all monitors is MAX(hour); without it both scan every rollup. It
    # covers the counts (migration 0009): a window of all monitors is one index range.
    __table_args__ = (sa.UniqueConstraint("monitor_id", "hour", name="uq_hourly_rollups_monitor_hour"),
                      sa.Index("ix_hourly_rollups_hour_counts", "hour", "monitor_id", "checks", "failures"))

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(sa.ForeignKey("monitors.id", ondelete="CASCADE"))
    hour: Mapped[datetime] = mapped_column(UtcDateTime)
    checks: Mapped[int]
    failures: Mapped[int]
    p50_ms: Mapped[float | None] = mapped_column(sa.Float, default=None)
    p95_ms: Mapped[float | None] = mapped_column(sa.Float, default=None)
    p99_ms: Mapped[float | None] = mapped_column(sa.Float, default=None)


def failed_checks_sum() -> sa.ColumnElement[int]:
    """SUM of failed checks, as an integer: MySQL and MariaDB return SUM() as DECIMAL, which
    Python's float arithmetic refuses (the detail page answered 500 on MariaDB; SQLite, the
    unit tests' database, returns an int)."""
    return sa.cast(sa.func.sum(sa.case((CheckResult.ok.is_(False), 1), else_=0)), sa.Integer)
