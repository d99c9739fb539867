"""Deleting a monitor asks first, without JavaScript: GET /monitors/<id>/delete is a page
with a CSRF-protected POST form and Cancel; only that POST deletes."""
from __future__ import annotations

import re

import pytest

from testkit.http import csrf_from
from tests.conftest import VALID_MONITOR, post_form


@pytest.fixture
def monitor_id(admin_client) -> int:
    response = post_form(admin_client, "/monitors/new", VALID_MONITOR)
    assert response.status_code == 302
    return int(re.search(r"/monitors/(\d+)$", response.headers["Location"]).group(1))


def monitor_count(app) -> int:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Monitor

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Monitor))


def test_the_detail_page_links_to_the_confirmation(admin_client, monitor_id):
    html = admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    assert f'href="/monitors/{monitor_id}/delete"' in html
    assert 'action="/monitors/%d/delete"' % monitor_id not in html, "no one-click delete form any more"


def test_get_shows_a_confirmation_and_deletes_nothing(app, admin_client, monitor_id):
    response = admin_client.get(f"/monitors/{monitor_id}/delete")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Delete the monitor “Example”?" in html
    form = re.search(r'<form method="post" action="(/monitors/[^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form and form.group(1) == f"/monitors/{monitor_id}/delete"
    assert csrf_from(form.group(2))
    assert re.search(r'<button type="submit"[^>]*>Delete monitor</button>', form.group(2))
    assert f'href="/monitors/{monitor_id}">Cancel</a>' in form.group(2)
    assert monitor_count(app) == 1
    assert admin_client.head(f"/monitors/{monitor_id}/delete").status_code == 200
    assert monitor_count(app) == 1


def test_the_confirmation_form_deletes_and_goes_to_the_dashboard(app, admin_client, monitor_id):
    path = f"/monitors/{monitor_id}/delete"
    response = post_form(admin_client, path, {}, headers={"Referer": f"http://localhost{path}"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/", "never back to the confirmation of a deleted monitor"
    assert monitor_count(app) == 0
    assert "Monitor “Example” deleted." in admin_client.get("/").get_data(as_text=True)
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize("token", [None, "forged"])
def test_the_post_still_needs_the_csrf_token(app, admin_client, monitor_id, token):
    data = {} if token is None else {"csrf_token": token}
    assert admin_client.post(f"/monitors/{monitor_id}/delete", data=data).status_code == 400
    assert monitor_count(app) == 1


def test_anonymous_visitors_are_sent_to_login(app, monitor_id):
    anonymous = app.test_client()
    for method in ("get", "post"):
        response = getattr(anonymous, method)(f"/monitors/{monitor_id}/delete")
        assert response.status_code in (302, 400), method
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/login")
    assert monitor_count(app) == 1


def test_the_confirmation_of_a_missing_monitor_is_404(admin_client, monitor_id):
    assert admin_client.get(f"/monitors/{monitor_id + 1000}/delete").status_code == 404
