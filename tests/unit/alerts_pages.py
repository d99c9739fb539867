"""Helpers of the alerting page tests (tests/unit/test_alerts_*.py): a channel URL that holds
a secret, adding channels and monitors through the pages, and the rows a refused request
must leave as they were."""
from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa
from markupsafe import escape

from tests.conftest import VALID_MONITOR, post_form

SECRET = "tok3n-S3CRET-9f8e7d"
SECRET_URL = f"json://ops:{SECRET}@127.0.0.1:9/hook?token={SECRET}"  # loopback, discard port
CHANNEL = {"name": "Ops hook", "url": SECRET_URL, "is_default": "y"}

def alerting_rows(app) -> list:
    """Channels, monitors and which monitor notifies which channel: compare before and after."""
    from app.extensions import db
    from app.models import Channel, Monitor
    from app.models.alerting import monitor_channels

    with app.app_context():
        return [db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                for table in (Channel.__table__, Monitor.__table__, monitor_channels)]


def add_channel(client, **fields) -> int:
    response = post_form(client, "/channels/new", {**CHANNEL, **fields})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    html = client.get("/channels/").get_data(as_text=True)
    name = re.escape(str(escape(fields.get("name") or CHANNEL["name"])))
    return int(re.search(rf'/channels/(\d+)/edit" aria-label="Edit {name}"', html).group(1))


def add_monitor(client, **fields) -> int:
    response = post_form(client, "/monitors/new", {**VALID_MONITOR, **fields})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def saved_url(app, channel_id: int) -> str:
    from app.alerts import url_secrets
    from app.extensions import db
    from app.models import Channel

    with app.app_context():
        return url_secrets.decrypt(db.session.get(Channel, channel_id).url_ciphertext)


def error_next_to(html: str, field: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{field}-error"[^>]*>(.*?)</\1>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(2))).strip() if match else ""


def assert_refused(response, field: str, message: str | None = None) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, html[:1000])
    assert "Please correct the fields marked below." in html
    shown = error_next_to(html, field)
    assert shown, f"no error message next to {field!r}"
    if message:
        assert message in shown, shown
    assert "Traceback" not in html
