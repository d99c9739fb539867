"""Channel reads and writes shared by the UI and the JSON API.

Guarantees: a URL is validated by Apprise before it is saved (BadChannelUrl, with a
message for people) and stored only encrypted; what leaves this module for display is
the redacted form; names are unique (DuplicateChannelName); a channel marked default
is attached to monitors created afterwards (monitor_service), not to existing ones.
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import records
from app.alerts import senders, url_secrets
from app.alerts.senders import BadChannelUrl, SendResult
from app.extensions import db
from app.field_errors import NameTaken
from app.models.alerting import Channel, Notification, monitor_channels

__all__ = ["BadChannelUrl", "DuplicateChannelName", "list_channels", "save", "delete", "send_test",
           "shown_url", "get_or_none", "get_or_404"]

TEST_TITLE = "Vigil test message"


class DuplicateChannelName(NameTaken):
    def __init__(self) -> None:
        super().__init__("channel")


def list_channels() -> list[Channel]:
    return list(db.session.scalars(sa.select(Channel).order_by(Channel.name)))


def get_or_none(channel_id: int) -> Channel | None:
    return records.get_or_none(Channel, channel_id)


def get_or_404(channel_id: int) -> Channel:
    return records.get_or_404(Channel, channel_id)


def save(channel: Channel, *, name: str, url: str | None, is_default: bool) -> Channel:
    """Create or change `channel`; `url` None keeps the saved one (editing without re-typing it)."""
    if channel.id is None and not url:
        raise BadChannelUrl("Enter the channel's Apprise URL.")
    clash = db.session.scalar(sa.select(Channel.id).where(sa.func.lower(Channel.name) == name.lower()))
    if clash is not None and clash != channel.id:
        raise DuplicateChannelName()
    if url:
        channel.kind = senders.validate(url)
        channel.url_ciphertext = url_secrets.encrypt(url.strip())
    channel.name = name
    channel.is_default = is_default
    db.session.add(channel)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DuplicateChannelName() from None
    return channel


def delete(channel: Channel) -> None:
    """Delete the channel, its notification log and its place on every monitor."""
    # Bulk deletes first: MySQL's ON DELETE CASCADE does it too, SQLite only with a pragma
    # (without them a later channel that reused the id would inherit the monitors).
    db.session.execute(sa.delete(Notification).where(Notification.channel_id == channel.id))
    db.session.execute(sa.delete(monitor_channels).where(monitor_channels.c.channel_id == channel.id))
    db.session.delete(channel)
    db.session.commit()
    db.session.expire_all()  # monitors loaded in this session still list the channel


def shown_url(channel: Channel) -> str:
    """The URL as people may see it: redacted; a note instead if no key opens it."""
    try:
        return senders.redacted(url_secrets.decrypt(channel.url_ciphertext))
    except url_secrets.ChannelKeyError as exc:
        return f"(unreadable: {exc})"


def send_test(channel: Channel) -> SendResult:
    """Send a test message now (not through the outbox) and say how it went."""
    try:
        url = url_secrets.decrypt(channel.url_ciphertext)
    except url_secrets.ChannelKeyError as exc:
        return SendResult(False, str(exc))
    return senders.send(url, title=TEST_TITLE,
                        body=f"This is a test of the channel “{channel.name}”. It works.",
                        idempotency_key=f"vigil-test-{channel.id}-{secrets.token_hex(8)}")
