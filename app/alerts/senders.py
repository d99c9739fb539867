"""Sending through Apprise: URL validation, a redacted form for people, one send with a result.

Apprise (about 120 services: e-mail, Slack, Teams, Discord, Telegram, ntfy, Pushover,
PagerDuty, JSON/form webhooks...) does the sending; this module only wraps it so that:
- a bad URL is refused with a message before it is saved (`validate`);
- a URL is never shown back in full (`redacted`: Apprise's own privacy form) nor logged:
  Apprise's logger does not propagate to the app's logs, and the error text of a failed
  send (read from Apprise's log capture) has every secret-looking part of the URL masked;
- each message carries its idempotency key: as an ``Idempotency-Key`` header where the
  service takes headers (json://, form://, xml://, mailto://), and as the body's last line
  everywhere, so a receiver can drop the one duplicate a crash between "sent" and "marked
  sent" can cause.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.field_errors import FieldErrors, on_field

IDEMPOTENCY_HEADER = "Idempotency-Key"
# A dotted host name or IPv4 address with no empty label (Apprise's "T...1" masks are not).
_HOST_NAME = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_URL_LENGTH = 2000

# Apprise logs loaded URLs at DEBUG; keep all of it out of the app's log handlers.
logging.getLogger("apprise").propagate = False


class BadChannelUrl(FieldErrors):
    """The URL is not one Apprise can send to; the message is for people."""

    def __init__(self, message: str) -> None:
        super().__init__(on_field("url", message))


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


def validate(url: str) -> str:
    """The scheme (`json`, `mailto`, ...) of a URL Apprise accepts; BadChannelUrl if it does not."""
    url = url.strip()
    if not url:
        raise BadChannelUrl("Enter an Apprise URL, e.g. json://hooks.example.com/vigil or mailto://user:pass@example.com")
    if len(url) > MAX_URL_LENGTH:
        raise BadChannelUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if not scheme:
        raise BadChannelUrl("That is not an Apprise URL: it needs a scheme such as json://, mailto:// or slack://.")
    if _instantiate(url) is None:
        raise BadChannelUrl(f"Apprise cannot send to this {scheme}:// URL: check its parts against "
                            "the service's page at https://github.com/caronc/apprise/wiki.")
    return scheme[:32]


def redacted(url: str) -> str:
    """What people see of a saved URL: Apprise's privacy form (passwords and tokens masked)
    up to the host; the path and query, which often hold a webhook's token, become "…".
    Where the "host" is not a host name (ntfy's topic, Telegram's bot token sit there), only
    the scheme is shown."""
    plugin = _instantiate(url)
    if plugin is None:
        return "(not readable)"
    scheme, _, rest = plugin.url(privacy=True).partition("://")
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2].rsplit(":", 1)[0] if not authority.endswith("]") else authority
    if _HOST_NAME.fullmatch(host) or host == "localhost" or host.startswith("["):
        return f"{scheme}://{authority}/…"
    return f"{scheme}://…"


def send(url: str, *, title: str, body: str, idempotency_key: str) -> SendResult:
    """One delivery attempt; never raises for a failure of the service."""
    plugin = _instantiate(url)
    if plugin is None:
        return SendResult(False, "the channel's URL is no longer accepted by Apprise")
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    body = f"{body}\n\n{IDEMPOTENCY_HEADER}: {idempotency_key}"
    import apprise

    with apprise.LogCapture(level=logging.WARNING) as captured:
        try:
            ok = bool(plugin.notify(title=title, body=body))
        except Exception as exc:  # a plugin bug must not kill the dispatcher
            return SendResult(False, f"the sender failed: {type(exc).__name__}")
    if ok:
        return SendResult(True)
    lines = [line.split(" - ", 2)[-1].strip() for line in captured.getvalue().splitlines() if line.strip()]
    return SendResult(False, scrub(lines[-1] if lines else "the service refused the message", url)[:500])


def scrub(text: str, url: str) -> str:
    """`text` with every part of `url` that could be a secret replaced by ***."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for piece in sorted(set(re.split(r"[/:@?&=#,;+]", url[len(parts.scheme) + 3:])), key=len, reverse=True):
        if len(piece) >= 4 and piece.lower() != host and not piece.isdigit():
            text = text.replace(piece, "***")
    return text


def _instantiate(url: str):
    # Imported here: loading Apprise's ~180 plugins takes a fifth of a second, which every
    # job pod would pay at start-up (bench/jobstart); only senders need it.
    import apprise

    with apprise.LogCapture(level=logging.CRITICAL):
        return apprise.Apprise.instantiate(url)
