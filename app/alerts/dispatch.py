"""Delivering the outbox: claim, send through Apprise, mark; retry with backoff, then fail.

Where it runs (no new moving part):
- check-monitors calls `dispatch` right after its commit, with the time left of its
  deadline, so a state change is announced seconds after the check that saw it (the
  job pod, or in the embedded default the timer process, is the sender);
- the `dispatch-notifications` timer (every DISPATCH_EVERY_S on the one process that
  holds the Lease, or the host's flock) sends retries when they fall due, reminders,
  and whatever a crashed sender left.
Any number of these may run at once, in any pods: the claim makes them share the work.

Guarantees:
- Each row is sent by one dispatcher at a time: the claim is a conditional UPDATE
  (``status`` pending and due, or a claim whose ``claimed_until`` passed) that the
  database applies to a row once; the winner's random ``claim_token`` is how it finds
  its rows and how it marks them, so a dispatcher whose claim was taken over cannot
  overwrite the new owner's result.
- Per monitor and channel, messages go out in the order they were queued: a row is a
  candidate only while no earlier row of its (monitor, channel) is pending or sending.
  A message that keeps failing holds back the later ones of its monitor and channel
  until it is sent or marked failed, so "up" never arrives before its "down".
- A failed send is retried after VIGIL_NOTIFY_RETRY_SECONDS, doubling up to
  VIGIL_NOTIFY_MAX_BACKOFF_SECONDS, each delay drawn between half and all of that ("equal jitter", so
  dispatchers that failed together do not retry together); after
  VIGIL_NOTIFY_MAX_ATTEMPTS attempts the row is marked failed with the last error.
- At least once, and once unless a sender dies between the send and the mark: then
  the claim expires after CLAIM_S and another dispatcher sends it again, with the
  same idempotency key (app.alerts.senders), which a receiver can use to drop it.
"""
from __future__ import annotations

import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.alerts import senders, url_secrets
from app.extensions import db
from app.models.alerting import Notification
from app.models.base import utcnow

log = logging.getLogger(__name__)

DISPATCH_EVERY_S = 5
CLAIM_S = 120          # longer than any one send (Apprise's connect and read timeouts)
BATCH = 50
ACTIVE = ("pending", "sending")


@dataclass
class DispatchStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"


def dispatch(*, budget_s: float) -> DispatchStats:
    """Send what is due until nothing is or `budget_s` has passed."""
    stats = DispatchStats()
    stop_at = time.monotonic() + budget_s
    while time.monotonic() < stop_at:
        token, rows = claim(limit=BATCH)
        if not rows:
            break
        for row in rows:
            if time.monotonic() >= stop_at:
                release(token, row.id)  # not attempted: due again at once, for the next dispatcher
                continue
            _deliver(token, row, stats)
    return stats


def claim(*, limit: int) -> tuple[str, list[Notification]]:
    """Claim up to `limit` due rows, at most one per (monitor, channel); commit the claim."""
    n = Notification.__table__
    earlier = n.alias("earlier")
    now = utcnow()
    claimable = sa.or_(sa.and_(n.c.status == "pending", n.c.next_attempt_at <= now),
                       sa.and_(n.c.status == "sending", n.c.claimed_until < now))
    blocked = sa.exists().where(earlier.c.monitor_id == n.c.monitor_id,
                                earlier.c.channel_id == n.c.channel_id,
                                earlier.c.id < n.c.id, earlier.c.status.in_(ACTIVE))
    db.session.rollback()  # a fresh snapshot: REPEATABLE READ would show an old one
    ids = list(db.session.scalars(
        sa.select(n.c.id).where(n.c.status.in_(ACTIVE), claimable, ~blocked).order_by(n.c.id).limit(limit)))
    if not ids:
        db.session.rollback()
        return "", []
    token = secrets.token_hex(16)
    # The claim: the WHERE is evaluated again on each row's latest version, under its row
    # lock, so of two dispatchers that picked the same row only one changes it.
    db.session.execute(
        sa.update(n).where(n.c.id.in_(ids), claimable)
        .values(status="sending", claim_token=token, claimed_until=now + timedelta(seconds=CLAIM_S),
                attempts=n.c.attempts + 1))
    db.session.commit()
    rows = list(db.session.scalars(
        sa.select(Notification).where(Notification.claim_token == token, Notification.status == "sending")
        .order_by(Notification.id)))
    db.session.rollback()  # hold no snapshot or connection while sending
    return token, rows


def release(token: str, notification_id: int) -> None:
    n = Notification.__table__
    db.session.execute(sa.update(n).where(n.c.id == notification_id, n.c.claim_token == token)
                       .values(status="pending", claim_token=None, claimed_until=None,
                               attempts=n.c.attempts - 1))
    db.session.commit()


def backoff_s(attempts: int, *, base_s: float, max_s: float, rng: random.Random = random) -> float:
    """The delay after the `attempts`-th failed send: base doubling, capped, equal jitter."""
    ceiling = min(max_s, base_s * 2 ** min(max(0, attempts - 1), 30))
    return rng.uniform(ceiling / 2, ceiling)


def _deliver(token: str, row: Notification, stats: DispatchStats) -> None:
    try:
        url = url_secrets.decrypt(row.channel.url_ciphertext)
        result = senders.send(url, title=row.title, body=row.body, idempotency_key=row.idempotency_key)
    except url_secrets.ChannelKeyError as exc:
        result = senders.SendResult(False, str(exc))
    n = Notification.__table__
    now = utcnow()
    if result.ok:
        values = {"status": "sent", "sent_at": now, "last_error": None}
        stats.sent += 1
    elif row.attempts >= current_app.config["VIGIL_NOTIFY_MAX_ATTEMPTS"]:
        values = {"status": "failed", "last_error": result.error}
        stats.failed += 1
        log.warning("notification %s to channel %r failed after %d attempts: %s",
                    row.idempotency_key, row.channel.name, row.attempts, result.error)
    else:
        delay = backoff_s(row.attempts, base_s=current_app.config["VIGIL_NOTIFY_RETRY_SECONDS"],
                          max_s=current_app.config["VIGIL_NOTIFY_MAX_BACKOFF_SECONDS"])
        values = {"status": "pending", "last_error": result.error,
                  "next_attempt_at": now + timedelta(seconds=delay)}
        stats.retrying += 1
    # Only the claim's owner may mark it: a claim taken over after CLAIM_S is not ours.
    db.session.execute(sa.update(n).where(n.c.id == row.id, n.c.claim_token == token)
                       .values(claim_token=None, claimed_until=None, **values))
    db.session.commit()
