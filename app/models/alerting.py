"""The alerting aggregate: notification channels, the outbox of notifications, maintenance windows.

The outbox (``notifications``) is written in the same transaction as the state change
that causes it (app/jobs/check_monitors.py), one row per (incident event, channel); its
unique ``idempotency_key`` makes a second insert for the same event impossible, and the
dispatchers (app/alerts/dispatch.py) move each row pending -> sending -> sent or failed
with conditional UPDATEs.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UtcDateTime, utcnow

monitor_channels = sa.Table(
    "monitor_channels", Base.metadata,
    sa.Column("monitor_id", sa.ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("channel_id", sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
)

window_monitors = sa.Table(
    "maintenance_window_monitors", Base.metadata,
    sa.Column("window_id", sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("monitor_id", sa.ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True),
)


class Channel(Base):
    """Where notifications go: an Apprise URL, stored encrypted (app/alerts/secrets.py)."""
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # The Apprise URL, encrypted with VIGIL_CHANNEL_KEYS (Fernet); never shown back in full.
    url_ciphertext: Mapped[str] = mapped_column(sa.Text)
    # The scheme only (`json`, `mailto`, `slack`...): the metrics' channel_type label and
    # what the UI shows; holds no secret.
    kind: Mapped[str] = mapped_column(sa.String(32))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Notification(Base):
    """One message for one channel: the outbox row and, once handled, the notification log."""
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_status_due", "status", "next_attempt_at"),
        sa.Index("ix_notifications_order", "monitor_id", "channel_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    monitor_id: Mapped[int] = mapped_column(sa.ForeignKey("monitors.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), default=None)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channels.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(16))  # down, up, reminder
    # Stable for the event: a receiver drops a second delivery with the same key.
    idempotency_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(250))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")  # pending sending sent failed
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Set with status=sending by the dispatcher that claimed the row; a claim that outlives
    # claimed_until (a dispatcher that died mid-send) may be taken by another.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(sa.String(500), default=None)

    channel: Mapped[Channel] = relationship(lazy="joined")


class MaintenanceWindow(Base):
    """A time when nothing is sent: one-off (starts_at..ends_at) or recurring (cron + duration)."""
    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # One-off: both set, naive UTC. Recurring: `cron` (five fields) in `timezone`, each
    # occurrence lasting duration_minutes.
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cron: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    duration_minutes: Mapped[int | None] = mapped_column(default=None)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    all_monitors: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    monitors = relationship("Monitor", secondary=window_monitors, lazy="selectin")
