"""Maintenance windows in the pages (/maintenance) and the JSON API (/api/v1/maintenance-windows).

On Flask's test client and the migrated SQLite app, with CSRF on: one-off and recurring
windows are added, shown (in their own time zone, "Active now" while in force), edited
and deleted; bad input in every field is a 422 with a message on that field and saves
nothing; every page needs a login and every change a CSRF token (pages) or an API token
(API). API responses are checked against the OpenAPI document. What a window does to
alerts is tests/unit/test_alerts_windows_effect.py.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
import sqlalchemy as sa

from testkit.openapi import assert_valid, component, response_schema
from tests.conftest import VALID_MONITOR, post_form

ONE_OFF = {"name": "Database upgrade", "kind": "one_off", "starts_at": "2030-12-06T22:00",
           "ends_at": "2030-12-07T02:00", "timezone": "Europe/Berlin", "all_monitors": "y"}
RECURRING = {"name": "Weekly restart", "kind": "recurring", "cron": "0 2 * * 0", "duration_minutes": "60",
             "timezone": "Europe/Berlin", "all_monitors": "y"}
LIST, ITEM = "/api/v1/maintenance-windows", "/api/v1/maintenance-windows/{window_id}"


def window_rows(app) -> list:
    """Every window and every (window, monitor) pair: what a refused request must leave as it was."""
    from app.extensions import db
    from app.models import MaintenanceWindow
    from app.models.alerting import window_monitors

    with app.app_context():
        return [tuple(row) for table in (MaintenanceWindow.__table__, window_monitors)
                for row in db.session.execute(sa.select(table).order_by(*table.primary_key.columns))]


def stored(app, window_id: int):
    from app.extensions import db
    from app.models import MaintenanceWindow

    with app.app_context():
        window = db.session.get(MaintenanceWindow, window_id)
        return None if window is None else (window, sorted(m.id for m in window.monitors))


def field_errors(html: str) -> dict[str, str]:
    """{field: its messages as text} from the form's error blocks."""
    return {field: unescape(re.sub(r"<[^>]+>", " ", inner)).strip()
            for field, inner in re.findall(r'<div class="error" id="([a-z_]+)-error">(.*?)</div>', html, re.S)}


def wall_clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")  # what <input type="datetime-local"> sends


@pytest.fixture
def monitor_id(admin_client) -> int:
    response = post_form(admin_client, "/monitors/new", VALID_MONITOR)
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def add_window(admin_client, data: dict) -> int:
    response = post_form(admin_client, "/maintenance/new", data)
    assert response.status_code == 302, field_errors(response.get_data(as_text=True))
    assert response.headers["Location"] == "/maintenance/"
    html = admin_client.get("/maintenance/").get_data(as_text=True)
    return max(int(i) for i in re.findall(r'href="/maintenance/(\d+)/edit"', html))


# -- pages --------------------------------------------------------------------------------------

def test_a_one_off_window_is_stored_in_utc_and_shown_in_its_zone(app, admin_client, monitor_id):
    data = {**ONE_OFF, "monitor_ids": [str(monitor_id)]}
    del data["all_monitors"]
    window_id = add_window(admin_client, data)
    window, monitors = stored(app, window_id)
    assert (window.starts_at, window.ends_at) == (datetime(2030, 12, 6, 21), datetime(2030, 12, 7, 1))  # CET
    assert (window.cron, window.duration_minutes, window.all_monitors) == (None, None, False)
    assert monitors == [monitor_id]
    html = admin_client.get("/maintenance/").get_data(as_text=True)
    assert "2030-12-06 22:00 CET to 2030-12-07 02:00 CET" in html and "Next: 2030-12-06 22:00 CET" in html
    assert "Active now" not in html
    edit = admin_client.get(f"/maintenance/{window_id}/edit").get_data(as_text=True)
    assert 'value="2030-12-06T22:00"' in edit and 'value="Europe/Berlin"' in edit


def test_a_recurring_window_is_stored_with_its_cron_and_shows_its_next_start(app, admin_client):
    window_id = add_window(admin_client, {**RECURRING, "cron": "  0 2 * *   0 "})
    window, monitors = stored(app, window_id)
    assert (window.cron, window.duration_minutes, window.timezone) == ("0 2 * * 0", 60, "Europe/Berlin")
    assert (window.starts_at, window.ends_at, window.all_monitors, monitors) == (None, None, True, [])
    html = admin_client.get("/maintenance/").get_data(as_text=True)
    next_start = re.search(r"Next: (\d{4}-\d{2}-\d{2}) 02:00 (CET|CEST)", html)
    assert next_start and datetime.fromisoformat(next_start.group(1)).weekday() == 6  # a Sunday, 02:00 local


def test_windows_in_force_are_marked_active_now(admin_client):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    add_window(admin_client, {**ONE_OFF, "name": "Now", "timezone": "UTC",
                              "starts_at": wall_clock(now - timedelta(hours=1)),
                              "ends_at": wall_clock(now + timedelta(hours=1))})
    add_window(admin_client, {**RECURRING, "name": "Always", "cron": "* * * * *", "duration_minutes": "5"})
    add_window(admin_client, {**ONE_OFF, "name": "Later"})
    html = admin_client.get("/maintenance/").get_data(as_text=True)
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', html, re.S))
    assert "Active now" in rows["Now"] and "Active now" in rows["Always"] and "Active now" not in rows["Later"]
    assert f"until {wall_clock(now + timedelta(hours=1)).replace('T', ' ')} UTC" in rows["Now"]
    assert "Coming up: Later at 2030-12-06 22:00 CET" in html


def test_editing_a_window_can_change_its_kind_and_clears_the_other_kinds_fields(app, admin_client, monitor_id):
    window_id = add_window(admin_client, ONE_OFF)
    changed = {**RECURRING, "name": "Now weekly", "starts_at": "2030-01-01T00:00", "monitor_ids": [str(monitor_id)]}
    del changed["all_monitors"]
    response = post_form(admin_client, f"/maintenance/{window_id}/edit", changed)
    assert response.status_code == 302
    window, monitors = stored(app, window_id)
    assert (window.name, window.cron, window.starts_at, window.ends_at) == ("Now weekly", "0 2 * * 0", None, None)
    assert (window.all_monitors, monitors) == (False, [monitor_id])


# (form data, field, a part of its message)
BAD_FORMS = [
    (ONE_OFF, "name", "", "Give the window a name."),
    (ONE_OFF, "name", "x" * 101, "at most 100 characters"),
    (ONE_OFF, "name", "bell\x07", "Control characters"),
    (ONE_OFF, "kind", "weekly", "Choose one-off or recurring."),
    (ONE_OFF, "starts_at", "", "Enter when the window starts."),
    (ONE_OFF, "starts_at", "tomorrow", "Enter a date and time"),
    (ONE_OFF, "starts_at", "2030-02-30T10:00", "Enter a date and time"),
    (ONE_OFF, "starts_at", "1999-12-31T10:00", "between the years 2000 and 9998"),
    (ONE_OFF, "ends_at", "", "Enter when the window ends."),
    (ONE_OFF, "ends_at", "2030-12-06T22:00", "The end must be after the start."),
    (ONE_OFF, "ends_at", "2031-01-07T22:01", "at most 31 days"),
    (ONE_OFF, "ends_at", "9999-12-31T23:59", "between the years"),
    (RECURRING, "cron", "", "Enter a cron expression"),
    (RECURRING, "cron", "61 * * * *", "cron expression of five fields"),
    (RECURRING, "cron", "@daily", "cron expression of five fields"),
    (RECURRING, "cron", "0 0 30 2 *", "never matches"),
    (RECURRING, "cron", "0 2 * * \x01", "printable"),
    (RECURRING, "cron", "0 " * 60, "at most 100"),
    (RECURRING, "duration_minutes", "", "Enter how long each occurrence lasts"),
    (RECURRING, "duration_minutes", "0", "between 1 and 10080"),
    (RECURRING, "duration_minutes", "10081", "between 1 and 10080"),
    (RECURRING, "duration_minutes", "1.5", "Not a valid integer"),
    (RECURRING, "duration_minutes", "99999999999999999999", "Not a valid integer"),
    (ONE_OFF, "timezone", "", "Enter a time zone"),
    (ONE_OFF, "timezone", "Mars/Olympus", "Unknown time zone"),
    (ONE_OFF, "timezone", "Europe", "Unknown time zone"),  # a directory of the zone database
    (ONE_OFF, "timezone", "../../etc/passwd", "Unknown time zone"),
    (ONE_OFF, "timezone", "x" * 1000, "Unknown time zone"),  # too long for a file name (OSError)
    (ONE_OFF, "timezone", "utc", "Unknown time zone"),
    (ONE_OFF, "monitor_ids", None, "Choose the monitors this window covers, or all monitors."),
    (ONE_OFF, "monitor_ids", ["999"], "There is no monitor with the id 999."),
    (ONE_OFF, "monitor_ids", ["abc"], "numeric ids"),
]


def bad(base: dict, field: str, value) -> dict:
    data = {**base, field: value}
    if field == "monitor_ids":
        del data["all_monitors"]
        if value is None:
            del data["monitor_ids"]
    return data


@pytest.mark.parametrize("base, field, value, message", BAD_FORMS)
def test_bad_input_in_any_field_is_422_with_its_message_and_saves_nothing(app, admin_client, base, field, value,
                                                                           message):
    response = post_form(admin_client, "/maintenance/new", bad(base, field, value))
    assert response.status_code == 422
    errors = field_errors(response.get_data(as_text=True))
    assert message in errors.get(field, ""), errors
    assert window_rows(app) == []


@pytest.mark.parametrize("base, field, value, message", BAD_FORMS[::4])
def test_bad_input_on_edit_is_422_and_changes_nothing(app, admin_client, base, field, value, message):
    window_id = add_window(admin_client, base)
    before = window_rows(app)
    response = post_form(admin_client, f"/maintenance/{window_id}/edit", bad(base, field, value))
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True)).get(field, "")
    assert window_rows(app) == before


def test_unreadable_fields_and_broken_rules_are_reported_together(admin_client):
    response = post_form(admin_client, "/maintenance/new",
                         {**ONE_OFF, "name": "", "starts_at": "soon", "ends_at": "", "timezone": "Nowhere"})
    errors = field_errors(response.get_data(as_text=True))
    assert response.status_code == 422
    assert set(errors) == {"name", "starts_at", "ends_at", "timezone"}
    assert errors["starts_at"] == "Enter a date and time such as 2026-12-06T22:00."  # once, not twice


def test_every_page_needs_a_login_and_an_anonymous_post_changes_nothing(app, admin_client):
    window_id = add_window(admin_client, ONE_OFF)
    before = window_rows(app)
    anonymous = app.test_client()
    pages = ("/maintenance/", "/maintenance/new", f"/maintenance/{window_id}/edit", f"/maintenance/{window_id}/delete")
    for path in pages:
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    for path in pages[1:]:
        response = post_form(anonymous, path, {**ONE_OFF, "name": "Changed"}, form_path="/login")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert window_rows(app) == before


def test_posts_without_a_valid_csrf_token_are_400_and_change_nothing(app, admin_client):
    window_id = add_window(admin_client, ONE_OFF)
    before = window_rows(app)
    for path in ("/maintenance/new", f"/maintenance/{window_id}/edit", f"/maintenance/{window_id}/delete"):
        for token in ({}, {"csrf_token": "forged"}):
            response = admin_client.post(path, data={**ONE_OFF, "name": "Changed", **token})
            assert response.status_code == 400, path
            assert "security token" in response.get_data(as_text=True)
    assert window_rows(app) == before


def test_delete_asks_first_and_only_its_post_deletes(app, admin_client):
    window_id = add_window(admin_client, ONE_OFF)
    page = admin_client.get(f"/maintenance/{window_id}/delete")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Delete the maintenance window “Database upgrade”?" in html
    form = re.search(r'<form method="post" action="(/maintenance/[^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form.group(1) == f"/maintenance/{window_id}/delete" and 'name="csrf_token"' in form.group(2)
    assert 'href="/maintenance/">Cancel</a>' in form.group(2)
    assert stored(app, window_id) is not None
    response = post_form(admin_client, f"/maintenance/{window_id}/delete", {})
    assert response.status_code == 302 and response.headers["Location"] == "/maintenance/"
    assert window_rows(app) == []
    assert "Maintenance window “Database upgrade” deleted." in admin_client.get("/maintenance/").get_data(as_text=True)


def test_a_missing_window_is_404(admin_client):
    for path in ("/maintenance/7/edit", "/maintenance/7/delete", f"/maintenance/{2**64}/edit"):
        assert admin_client.get(path).status_code == 404, path


def test_the_nav_links_to_the_maintenance_page(admin_client):
    html = admin_client.get("/").get_data(as_text=True)
    assert 'href="/maintenance/"' in html


# -- JSON API -----------------------------------------------------------------------------------

@pytest.fixture
def api(app):
    """(client without cookies, bearer header)."""
    from app import api_tokens

    with app.app_context():
        token = api_tokens.issue(username="admin", name="windows")[1]
    return app.test_client(), {"Authorization": f"Bearer {token}"}


API_ONE_OFF = {"name": "Deploy", "starts_at": "2030-12-06T22:00:00+01:00", "ends_at": "2030-12-07T01:00:00Z",
               "timezone": "Europe/Berlin", "all_monitors": True}


@pytest.mark.parametrize("public_reads", [True, False])
def test_api_reads_need_a_login_or_a_token(app_factory, public_reads):
    app = app_factory(VIGIL_PUBLIC_READS=public_reads)
    anonymous = app.test_client()
    for path in (LIST, LIST + "/1"):
        response = anonymous.get(path)
        assert response.status_code == 401 and response.get_json()["error"], path


def test_api_writes_need_a_token_not_a_session(app, admin_client, api):
    client, auth = api
    window_id = client.post(LIST, json=API_ONE_OFF, headers=auth).get_json()["id"]
    before = window_rows(app)
    assert admin_client.get(LIST).status_code == 200  # a session reads
    for method, path in (("POST", LIST), ("PATCH", f"{LIST}/{window_id}"), ("DELETE", f"{LIST}/{window_id}")):
        for caller, headers in ((admin_client, {}), (app.test_client(), {"Authorization": "Bearer vigil_nope"})):
            response = caller.open(path, method=method, json={"name": "Changed"}, headers=headers)
            assert response.status_code == 401, (method, path)
            assert_valid(response.get_json(), component("Error"))
    assert window_rows(app) == before


def test_api_creates_reads_changes_and_deletes_windows(app, api, monitor_id):
    client, auth = api
    created = client.post(LIST, json={**API_ONE_OFF, "all_monitors": False, "monitor_ids": [monitor_id]},
                          headers=auth)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert_valid(body, response_schema(LIST, "201", "post"), formats=True)
    assert created.headers["Location"] == f"{LIST}/{body['id']}"
    assert (body["kind"], body["starts_at"], body["ends_at"]) == ("one_off", "2030-12-06T21:00:00Z",
                                                                  "2030-12-07T01:00:00Z")
    assert (body["monitor_ids"], body["active_now"], body["next_start"]) == ([monitor_id], False, body["starts_at"])

    recurring = client.post(LIST, json={"name": "Nightly", "cron": "*/10 * * * *", "duration_minutes": 10080,
                                        "all_monitors": True}, headers=auth)
    assert recurring.status_code == 201, recurring.get_json()
    nightly = recurring.get_json()
    assert (nightly["kind"], nightly["timezone"], nightly["active_now"]) == ("recurring", "UTC", True)
    assert nightly["active_until"] and nightly["next_start"]

    listed = client.get(LIST, headers=auth).get_json()
    assert_valid(listed, response_schema(LIST), formats=True)
    assert [w["name"] for w in listed["windows"]] == ["Deploy", "Nightly"]

    item = f"{LIST}/{body['id']}"
    changed = client.patch(item, json={"kind": "recurring", "cron": "0 3 * * 1", "duration_minutes": 30}, headers=auth)
    assert changed.status_code == 200, changed.get_json()
    assert_valid(changed.get_json(), response_schema(ITEM, "200", "patch"), formats=True)
    assert {k: changed.get_json()[k] for k in ("name", "kind", "cron", "starts_at", "monitor_ids")} == {
        "name": "Deploy", "kind": "recurring", "cron": "0 3 * * 1", "starts_at": None, "monitor_ids": [monitor_id]}
    assert_valid(client.get(item, headers=auth).get_json(), response_schema(ITEM), formats=True)

    assert client.delete(item, headers=auth).status_code == 204
    missing = client.get(item, headers=auth)
    assert missing.status_code == 404
    assert_valid(missing.get_json(), response_schema(ITEM, "404"))
    assert client.patch(item, json={"name": "x"}, headers=auth).status_code == 404


# (body laid over API_ONE_OFF or replacing it, field, a part of its message)
BAD_BODIES = [
    ({"name": ""}, "name", "Give the window a name."),
    ({"name": 5}, "name", "Must be a string."),
    ({"name": "x" * 101}, "name", "at most 100"),
    ({"name": "a\nb"}, "name", "Control characters"),
    ({"kind": "weekly"}, "kind", 'either "one_off" or "recurring"'),
    ({"starts_at": "2030-12-06T22:00:00"}, "starts_at", "RFC 3339 date-time with an offset or Z"),
    ({"starts_at": "2030-12-06"}, "starts_at", "RFC 3339"),
    ({"starts_at": "tomorrow"}, "starts_at", "RFC 3339"),
    ({"starts_at": "2030-02-30T00:00:00Z"}, "starts_at", "not a date and time that exists"),
    ({"starts_at": "2030-12-06T22:00:00+24:00"}, "starts_at", "not a date and time that exists"),
    ({"starts_at": 1700000000}, "starts_at", "Must be an RFC 3339"),
    ({"starts_at": None}, "starts_at", "Enter when the window starts."),
    ({"ends_at": "2030-12-06T20:00:00Z"}, "ends_at", "The end must be after the start."),
    ({"ends_at": "2031-02-01T00:00:00Z"}, "ends_at", "at most 31 days"),
    ({"kind": "one_off", "cron": "0 2 * * *"}, "cron", 'send "kind": "recurring"'),
    ({"cron": "0 2 * * *", "duration_minutes": 60}, "starts_at", 'send "kind": "one_off"'),  # inferred
    ({"kind": "recurring", "starts_at": None, "ends_at": None, "duration_minutes": 60}, "cron", "Enter a cron"),
    ({"kind": "recurring", "starts_at": None, "ends_at": None, "cron": "0 0 31 4 *", "duration_minutes": 60},
     "cron", "never matches"),
    ({"kind": "recurring", "starts_at": None, "ends_at": None, "cron": 5, "duration_minutes": 60}, "cron",
     "Must be a string or null"),
    ({"kind": "recurring", "starts_at": None, "ends_at": None, "cron": "0 2 * * *"}, "duration_minutes",
     "Enter how long"),
    ({"kind": "recurring", "starts_at": None, "ends_at": None, "cron": "0 2 * * *", "duration_minutes": 10081},
     "duration_minutes", "between 1 and 10080"),
    ({"kind": "recurring", "starts_at": None, "ends_at": None, "cron": "0 2 * * *", "duration_minutes": 60.0},
     "duration_minutes", "Must be an integer or null"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"timezone": None}, "timezone", "Must be a string"),
    ({"all_monitors": "yes"}, "all_monitors", "true or false"),
    ({"all_monitors": False}, "monitor_ids", "Choose the monitors"),
    ({"all_monitors": False, "monitor_ids": [999, 2**70]}, "monitor_ids", "There are no monitors with the ids"),
    ({"all_monitors": False, "monitor_ids": [True]}, "monitor_ids", "a list of monitor ids"),
    ({"id": 3}, "id", "set by Vigil"),
    ({"active_now": True}, "active_now", "set by Vigil"),
    ({"colour": "red"}, "colour", "Unknown field."),
]


@pytest.mark.parametrize("change, field, message", BAD_BODIES)
def test_api_refuses_a_bad_field_with_422_and_saves_nothing(app, api, change, field, message):
    client, auth = api
    response = client.post(LIST, json={**API_ONE_OFF, **change}, headers=auth)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert_valid(body, response_schema(LIST, "422", "post"))
    assert any(message in text for text in body["fields"].get(field, [])), body
    assert window_rows(app) == []


# Less the cases about the kind, which a PATCH infers differently (it keeps the window's).
PATCH_BAD = [case for case in BAD_BODIES[::3] if 'send "kind"' not in case[2]]


@pytest.mark.parametrize("change, field, message", PATCH_BAD)
def test_api_patch_with_a_bad_field_changes_nothing(app, api, change, field, message):
    client, auth = api
    window_id = client.post(LIST, json=API_ONE_OFF, headers=auth).get_json()["id"]
    before = window_rows(app)
    response = client.patch(f"{LIST}/{window_id}", json=change, headers=auth)
    assert response.status_code == 422 and field in response.get_json()["fields"], response.get_json()
    assert window_rows(app) == before


@pytest.mark.parametrize("data", [b"{", b"[1, 2]", b'"text"', b'{"name": "a", "name": "b"}', b"\xff\xfe"])
def test_api_bodies_that_are_not_a_json_object_are_400(app, api, data):
    client, auth = api
    response = client.post(LIST, data=data, content_type="application/json", headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]
    assert window_rows(app) == []
