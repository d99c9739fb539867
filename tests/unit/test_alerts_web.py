"""Alerting in the UI, the channel pages: list, add, edit, delete, Send test, and the one
rule above the others: a channel's URL (its secret) appears in no page, form, flash,
error page or log. The monitor pages' alert parts are in test_alerts_monitor_pages.py.

Send test goes to a real JSON webhook receiver on loopback (testkit/alerts.py).
"""
from __future__ import annotations

import logging
import re

import pytest

from testkit.alerts import WebhookReceiver
from testkit.http import csrf_from
from tests.conftest import post_form
from tests.unit.alerts_pages import (CHANNEL, SECRET, SECRET_URL, add_channel, add_monitor, alerting_rows,
                                     assert_refused, saved_url)


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


# -- channel pages ---------------------------------------------------------------------------

@pytest.mark.parametrize("public_reads", [True, False])
def test_every_channel_page_needs_a_login_reads_too(app_factory, public_reads):
    app = app_factory(VIGIL_PUBLIC_READS=public_reads)
    client = app.test_client()
    for path in ("/channels/", "/channels/new", "/channels/1/edit", "/channels/1/delete"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for path in ("/channels/new", "/channels/1/edit", "/channels/1/delete", "/channels/1/test"):
        response = client.post(path, data={**CHANNEL, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert 'href="/channels/"' not in client.get("/login").get_data(as_text=True)


def test_add_then_list_shows_name_kind_redacted_url_and_default(app, admin_client):
    assert 'href="/channels/"' in admin_client.get("/").get_data(as_text=True)  # the nav link
    channel_id = add_channel(admin_client)
    add_channel(admin_client, name="Second", url="json://127.0.0.1:9/other", is_default="")
    html = admin_client.get("/channels/").get_data(as_text=True)
    row = re.search(r"<tr>\s*<th scope=\"row\">Ops hook</th>(.*?)</tr>", html, re.S).group(1)
    assert "<code>json</code>" in row and "json://ops:****@127.0.0.1:9/…" in row and "Yes" in row
    assert "No" in re.search(r"<th scope=\"row\">Second</th>(.*?)</tr>", html, re.S).group(1)
    assert saved_url(app, channel_id) == SECRET_URL  # stored whole, shown redacted


def test_edit_with_the_url_left_empty_keeps_it_and_a_new_url_replaces_it(app, admin_client):
    channel_id = add_channel(admin_client)
    form = admin_client.get(f"/channels/{channel_id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="url"[^>]*value=""', form), "the URL field must render empty"
    assert "Saved: json://ops:****@127.0.0.1:9/…" in form
    response = post_form(admin_client, f"/channels/{channel_id}/edit", {"name": "Renamed", "url": ""})
    assert response.status_code == 302
    assert saved_url(app, channel_id) == SECRET_URL
    html = admin_client.get("/channels/").get_data(as_text=True)
    assert "Renamed" in html and "Channel “Renamed” saved." in html
    assert "Yes" not in html  # is_default unticked by that post
    post_form(admin_client, f"/channels/{channel_id}/edit", {"name": "Renamed", "url": "json://127.0.0.1:9/new"})
    assert saved_url(app, channel_id) == "json://127.0.0.1:9/new"


BAD_CHANNEL_FIELDS = [
    ("name", "", "Give the channel a name."),
    ("name", "   ", "Give the channel a name."),
    ("name", "n" * 101, "at most 100"),
    ("name", "tab\tinside", "Control characters"),
    ("url", "", "Enter the channel's Apprise URL."),
    ("url", "nope://example.com", "Apprise cannot send to this nope:// URL"),
    ("url", "hooks.example.com/vigil", "needs a scheme"),
    ("url", "json://", "Apprise cannot send"),
    ("url", "json://host/\x01", "Control characters"),
    ("url", "json://example.com/" + "a" * 2000, "at most 2000"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_CHANNEL_FIELDS,
                         ids=[f"{f}={v[:20]!r}" for f, v, _ in BAD_CHANNEL_FIELDS])
def test_bad_channel_input_is_422_next_to_the_field_and_changes_nothing(app, admin_client, field, value, message):
    existing = add_channel(admin_client)
    before = alerting_rows(app)
    response = post_form(admin_client, "/channels/new", {**CHANNEL, "name": "New", field: value})
    assert_refused(response, field, message)
    if not (field == "url" and value == ""):  # an empty URL on an edit keeps the saved one
        response = post_form(admin_client, f"/channels/{existing}/edit", {**CHANNEL, field: value})
        assert_refused(response, field, message)
    assert alerting_rows(app) == before


def test_a_taken_name_whatever_its_case_is_422_on_the_name(app, admin_client):
    add_channel(admin_client)
    other = add_channel(admin_client, name="Other", url="json://127.0.0.1:9/other")
    before = alerting_rows(app)
    assert_refused(post_form(admin_client, "/channels/new", {**CHANNEL, "name": "OPS HOOK"}), "name",
                   "Another channel already has this name.")
    assert_refused(post_form(admin_client, f"/channels/{other}/edit", {**CHANNEL, "url": ""}), "name",
                   "Another channel already has this name.")
    assert alerting_rows(app) == before


def test_send_test_reaches_the_receiver_and_says_so(app, admin_client, webhook):
    channel_id = add_channel(admin_client, url=webhook.url)
    response = post_form(admin_client, f"/channels/{channel_id}/test", {}, form_path="/channels/")
    assert response.status_code == 302 and response.headers["Location"] == "/channels/"
    assert "Test message sent to “Ops hook”." in admin_client.get("/channels/").get_data(as_text=True)
    [delivery] = webhook.deliveries
    assert delivery.title == "Vigil test message" and delivery.key.startswith("vigil-test-")


def test_a_refused_test_shows_the_error_without_the_secret(app, admin_client, webhook):
    webhook.status = 503
    channel_id = add_channel(admin_client, url=f"json://ops:{SECRET}@127.0.0.1:{webhook.port}/hook?token={SECRET}")
    response = post_form(admin_client, f"/channels/{channel_id}/test", {}, form_path="/channels/",
                         follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The test message to “Ops hook” failed:" in html
    assert SECRET not in html


def test_send_test_needs_a_csrf_token_and_an_existing_channel(app, admin_client, webhook):
    channel_id = add_channel(admin_client, url=webhook.url)
    assert admin_client.post(f"/channels/{channel_id}/test").status_code == 400
    assert admin_client.get(f"/channels/{channel_id}/test").status_code == 405
    assert post_form(admin_client, f"/channels/{channel_id + 1}/test", {}, form_path="/channels/").status_code == 404
    assert webhook.deliveries == []


def test_delete_asks_first_then_deletes_and_detaches(app, admin_client):
    channel_id = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    page = admin_client.get(f"/channels/{channel_id}/delete").get_data(as_text=True)
    assert "Delete the channel “Ops hook”?" in page and 'href="/channels/"' in page
    assert admin_client.post(f"/channels/{channel_id}/delete").status_code == 400  # no CSRF token
    response = post_form(admin_client, f"/channels/{channel_id}/delete", {})
    assert response.status_code == 302 and response.headers["Location"] == "/channels/"
    assert admin_client.get(f"/channels/{channel_id}/edit").status_code == 404
    assert "Ops hook" not in admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)


# -- the secret never leaves ------------------------------------------------------------------

def test_the_channel_secret_is_in_no_response_and_no_log(app, admin_client, caplog, webhook):
    caplog.set_level(logging.DEBUG)
    responses = []

    def keep(response):
        responses.append(response)
        return response

    keep(post_form(admin_client, "/channels/new", {**CHANNEL, "name": ""}))  # 422: the typed URL is not echoed
    keep(post_form(admin_client, "/channels/new", {**CHANNEL, "url": SECRET_URL + "\x01"}))
    channel_id = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    for path in ("/channels/", f"/channels/{channel_id}/edit", f"/channels/{channel_id}/delete", "/monitors/new",
                 f"/monitors/{monitor_id}", f"/monitors/{monitor_id}/edit", "/", "/api/v1/channels",
                 f"/api/v1/channels/{channel_id}", f"/api/v1/monitors/{monitor_id}",
                 f"/api/v1/monitors/{monitor_id}/notifications", "/api/v1/openapi.json"):
        keep(admin_client.get(path))
    keep(post_form(admin_client, f"/channels/{channel_id}/edit", {**CHANNEL, "name": "n" * 101}))
    keep(post_form(admin_client, f"/channels/{channel_id}/test", {}, form_path="/channels/", follow_redirects=True))
    keep(admin_client.post(f"/channels/{channel_id}/edit", data={"url": SECRET_URL}))  # CSRF error page
    for response in responses:
        assert response.status_code < 500, response.request.path
        body = response.get_data(as_text=True)
        assert SECRET not in body, f"the secret is in {response.request.path} ({response.status_code})"
        assert "127.0.0.1:9/hook" not in body, response.request.path  # not even the URL's path
    assert SECRET not in caplog.text


def test_deleting_leaves_no_link_behind_even_on_sqlite(app, admin_client):
    """SQLite enforces no ON DELETE CASCADE here: a channel that later reuses a deleted
    channel's id must not inherit its monitors."""
    first = add_channel(admin_client)
    monitor_id = add_monitor(admin_client, channel_ids=str(first))
    post_form(admin_client, f"/channels/{first}/delete", {})
    again = add_channel(admin_client, name="Newcomer", url="json://127.0.0.1:9/new", is_default="")
    assert again == first  # the id was reused: the case this test is about
    assert "Newcomer" not in admin_client.get(f"/monitors/{monitor_id}").get_data(as_text=True)
    assert alerting_rows(app)[2] == []


def test_markup_in_a_channel_name_is_escaped_everywhere(app, admin_client):
    name = '<script>alert(1)</script>'
    channel_id = add_channel(admin_client, name=name)
    monitor_id = add_monitor(admin_client, channel_ids=str(channel_id))
    for path in ("/channels/", f"/channels/{channel_id}/edit", f"/channels/{channel_id}/delete", "/monitors/new",
                 f"/monitors/{monitor_id}", f"/monitors/{monitor_id}/edit"):
        html = admin_client.get(path).get_data(as_text=True)
        assert name not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
