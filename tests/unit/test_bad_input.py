"""Hostile and malformed input to the monitor forms.

Every rejected request must get a 4xx (the form again with 422 and a message
next to the field; 400 for a missing or forged CSRF token; 413 for an oversized
body), never a 5xx, and must leave the database exactly as it was. Accepted
input that looks dangerous (SQL, markup) is stored verbatim and shown escaped.
"""
from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from testkit.http import csrf_from, login
from testkit.monitors import monitor_rows
from tests.conftest import VALID_MONITOR, make_app, post_form

SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SQL = "'; DROP TABLE monitors; --"


# -- helpers ---------------------------------------------------------------------------------

def monitor_by_id(app, monitor_id: int) -> dict:
    from app.extensions import db
    from app.models import Monitor

    with app.app_context():
        row = db.session.execute(sa.select(Monitor.__table__).where(Monitor.id == monitor_id)).one()
        return dict(row._mapping)


def table_names(app) -> set[str]:
    from app.extensions import db

    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def create_monitor(client, **overrides) -> int:
    response = post_form(client, "/monitors/new", {**VALID_MONITOR, **overrides})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    match = re.fullmatch(r"/monitors/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def error_next_to(html: str, field: str) -> str:
    """The text of the element with id="<field>-error" (the macro in _macros.html), or ""."""
    match = re.search(rf'<(\w+)[^>]*\bid="{field}-error"[^>]*>(.*?)</\1>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(2)).strip() if match else ""


def assert_field_error(response, field: str) -> None:
    """The form came back with 422 and an error message rendered next to `field`."""
    html = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, html[:1000])
    assert "Please correct the fields marked below." in html
    assert error_next_to(html, field), f"no error message next to {field!r}"
    control = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field}"[^>]*>', html)
    assert control and 'aria-invalid="true"' in control.group(0), f"{field!r} is not marked invalid"


@pytest.fixture
def existing(admin_client) -> int:
    """A saved monitor (named like VALID_MONITOR) to edit."""
    return create_monitor(admin_client)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One app, signed-in admin and saved monitor shared by the many rejection cases below.

    Sharing is sound because every case asserts that it changed nothing; it saves
    a migration and two password hashes per case.
    """
    from app.commands import ensure_admin
    from app.extensions import db, redis_cache, redis_coord

    with pytest.MonkeyPatch.context() as patch:
        tmp = tmp_path_factory.mktemp("bad-input")
        patch.setenv("VIGIL_INSTANCE_PATH", str(tmp / "instance"))
        app = make_app(tmp)
        with app.app_context():
            ensure_admin()
        client = app.test_client()
        login(client)
        yield SimpleNamespace(app=app, client=client, monitor_id=create_monitor(client))
        with app.app_context():
            db.engine.dispose()
            redis_cache.flushall()
            redis_coord.flushall()


# -- field validation: create and edit -------------------------------------------------------

BAD_FIELDS = [
    # URL: only absolute http(s) with a host, no credentials, no spaces
    ("url", "ftp://example.com/file"),
    ("url", "javascript:alert(1)"),
    ("url", "file:///etc/passwd"),
    ("url", "mailto:ops@example.com"),
    ("url", "data:text/html,hi"),
    ("url", "example.com"),
    ("url", "//example.com/health"),
    ("url", "http://"),
    ("url", "https://"),
    ("url", "http:///path-only"),
    ("url", "http://user:secret@example.com/"),
    ("url", "http://user@example.com/"),
    ("url", "http://exa mple.com/"),
    ("url", "http://example.com/a b"),
    ("url", "http://example.com/\ttab"),
    ("url", "http://example.com:0/"),
    ("url", "http://example.com:99999/"),
    ("url", "http://example.com:port/"),
    ("url", "http://[::1/"),
    ("url", "http://" + "a" * 64 + ".example/"),
    ("url", "http://example.com/" + "a" * 2048),
    ("url", ""),
    ("url", "   "),
    # interval: only the offered choices
    ("interval_minutes", "2"),
    ("interval_minutes", "-1"),
    ("interval_minutes", "0"),
    ("interval_minutes", "abc"),
    ("interval_minutes", "5.0"),
    ("interval_minutes", ""),
    ("interval_minutes", "9" * 400),
    # method: only the offered choices
    ("method", "DELETE"),
    ("method", "PUT"),
    ("method", "get"),
    ("method", ""),
    # timeout: a number from 1 to 60
    ("timeout_seconds", "0"),
    ("timeout_seconds", "0.5"),
    ("timeout_seconds", "61"),
    ("timeout_seconds", "-5"),
    ("timeout_seconds", "nan"),
    ("timeout_seconds", "NaN"),
    ("timeout_seconds", "inf"),
    ("timeout_seconds", "-inf"),
    ("timeout_seconds", "1e400"),
    ("timeout_seconds", "abc"),
    ("timeout_seconds", ""),
    # expected status: 100 to 599, min <= max
    ("expected_status_min", "99"),
    ("expected_status_min", "-1"),
    ("expected_status_min", "abc"),
    ("expected_status_min", ""),
    ("expected_status_min", "2.5e2"),
    ("expected_status_min", "9" * 5000),
    ("expected_status_max", "600"),
    ("expected_status_max", "0"),
    ("expected_status_max", ""),
    # name: required, at most 100 characters, no control characters
    ("name", "n" * 101),
    ("name", ""),
    ("name", "   "),
    ("name", "tab\tinside"),
    ("name", "nul\x00inside"),
    ("name", "line\nbreak"),
    # keyword: optional, at most 200 characters, no control characters
    ("keyword", "k" * 201),
    ("keyword", "bell\x07"),
    # checks in a row before down or up: a whole number from 1 to 20
    ("down_after", "0"),
    ("down_after", "21"),
    ("down_after", "-1"),
    ("down_after", "2.5"),
    ("down_after", "abc"),
    ("down_after", ""),
    ("down_after", "9" * 400),
    ("up_after", "0"),
    ("up_after", "21"),
    ("up_after", "one"),
    ("up_after", ""),
    # reminders: empty (none) or 5 to 1440 minutes
    ("renotify_minutes", "4"),
    ("renotify_minutes", "0"),
    ("renotify_minutes", "1441"),
    ("renotify_minutes", "-5"),
    ("renotify_minutes", "30.5"),
    ("renotify_minutes", "soon"),
    ("renotify_minutes", "1" + "0" * 309),
]


def _case_id(case) -> str:
    field, value = case
    shown = value if len(value) <= 20 else f"{value[:12]}...({len(value)})"
    return f"{field}={shown!r}"


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=[_case_id(c) for c in BAD_FIELDS])
def test_create_rejects_bad_field_with_422_and_adds_nothing(shared, field, value):
    before = monitor_rows(shared.app)
    response = post_form(shared.client, "/monitors/new", {**VALID_MONITOR, field: value})
    assert_field_error(response, field)
    assert monitor_rows(shared.app) == before


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=[_case_id(c) for c in BAD_FIELDS])
def test_edit_rejects_bad_field_with_422_and_changes_nothing(shared, field, value):
    before = monitor_rows(shared.app)
    response = post_form(shared.client, f"/monitors/{shared.monitor_id}/edit", {**VALID_MONITOR, field: value})
    assert_field_error(response, field)
    assert monitor_rows(shared.app) == before


@pytest.mark.parametrize("url", ["http://exa\x00mple.com/", "http://example.com/\x01", "http://example.com/a\x1bb",
                                 "http://example.com/\x7f"], ids=["nul-in-host", "soh", "esc", "del"])
def test_create_rejects_url_with_control_characters(shared, url):
    before = monitor_rows(shared.app)
    response = post_form(shared.client, "/monitors/new", {**VALID_MONITOR, "name": "Control", "url": url})
    assert_field_error(response, "url")
    assert monitor_rows(shared.app) == before


@pytest.mark.parametrize("value", ["1" + "0" * 309, "-" + "9" * 400, "9" * 4000],
                         ids=["1e309", "minus-400-nines", "4000-nines"])
@pytest.mark.parametrize("field", ["expected_status_min", "expected_status_max"])
@pytest.mark.parametrize("target", ["create", "edit"])
def test_status_code_beyond_float_range_is_422_not_500(shared, target, field, value):
    """WTForms' NumberRange calls math.isnan(), which overflows on such ints (it was a 500)."""
    path = "/monitors/new" if target == "create" else f"/monitors/{shared.monitor_id}/edit"
    before = monitor_rows(shared.app)
    response = post_form(shared.client, path, {**VALID_MONITOR, field: value})
    assert_field_error(response, field)
    assert monitor_rows(shared.app) == before


def test_expected_status_min_above_max_is_rejected_on_the_upper_bound(app, admin_client, existing):
    before = monitor_rows(app)
    bad = {**VALID_MONITOR, "expected_status_min": "300", "expected_status_max": "200"}
    for path in ("/monitors/new", f"/monitors/{existing}/edit"):
        response = post_form(admin_client, path, bad)
        assert_field_error(response, "expected_status_max")
        assert "upper bound" in response.get_data(as_text=True)
    assert monitor_rows(app) == before


def test_limits_themselves_are_accepted(app, admin_client):
    """The boundaries of every range are valid, so the rejections above are about the range."""
    monitor_id = create_monitor(
        admin_client, name="n" * 100, url="http://example.com/" + "a" * (2048 - len("http://example.com/")),
        keyword="k" * 200, timeout_seconds="60", expected_status_min="100", expected_status_max="599",
        interval_minutes="60", method="HEAD", down_after="20", up_after="20", renotify_minutes="1440")
    row = monitor_by_id(app, monitor_id)
    assert (row["down_after"], row["up_after"], row["renotify_minutes"]) == (20, 20, 1440)
    low = monitor_by_id(app, create_monitor(admin_client, name="low", down_after="1", up_after="1",
                                            renotify_minutes="5", notify_recovery=""))
    assert (low["down_after"], low["up_after"], low["renotify_minutes"], low["notify_recovery"]) == (1, 1, 5, False)
    assert (len(row["name"]), len(row["url"]), len(row["keyword"])) == (100, 2048, 200)
    assert (row["timeout_seconds"], row["expected_status_min"], row["expected_status_max"]) == (60, 100, 599)
    assert (row["interval_minutes"], row["method"]) == (60, "HEAD")


# -- duplicate names ------------------------------------------------------------------------

def test_create_with_an_existing_name_is_422_and_adds_nothing(app, admin_client, existing):
    before = monitor_rows(app)
    for name in (VALID_MONITOR["name"], f"  {VALID_MONITOR['name']}  "):
        response = post_form(admin_client, "/monitors/new", {**VALID_MONITOR, "name": name,
                                                             "url": "http://127.0.0.1:9/other"})
        assert_field_error(response, "name")
        assert "Another monitor already has this name." in response.get_data(as_text=True)
    assert monitor_rows(app) == before


def test_rename_to_an_existing_name_is_422_and_changes_nothing(app, admin_client, existing):
    other = create_monitor(admin_client, name="Other", url="http://127.0.0.1:9/other")
    before = monitor_rows(app)
    response = post_form(admin_client, f"/monitors/{other}/edit",
                         {**VALID_MONITOR, "name": VALID_MONITOR["name"], "url": "http://127.0.0.1:9/changed"})
    assert_field_error(response, "name")
    assert "Another monitor already has this name." in response.get_data(as_text=True)
    assert monitor_rows(app) == before


def test_saving_a_monitor_under_its_own_name_is_not_a_duplicate(app, admin_client, existing):
    response = post_form(admin_client, f"/monitors/{existing}/edit", {**VALID_MONITOR, "timeout_seconds": "20"})
    assert response.status_code == 302
    assert monitor_by_id(app, existing)["timeout_seconds"] == 20


# -- undecodable and oversized bodies ------------------------------------------------------

def _raw_form_body(token: str, **fields) -> bytes:
    return urlencode({**VALID_MONITOR, **fields, "csrf_token": token}).encode()


@pytest.mark.parametrize("target", ["create", "edit"])
def test_body_with_raw_non_utf8_bytes_is_4xx_and_changes_nothing(app, admin_client, existing, target):
    path = "/monitors/new" if target == "create" else f"/monitors/{existing}/edit"
    token = csrf_from(admin_client.get(path).get_data(as_text=True))
    before = monitor_rows(app)
    body = _raw_form_body(token, name="placeholder").replace(b"placeholder", b"bad\xff\xfe\xc3(")
    response = admin_client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.status_code
    # it once said "Form expired or forged": Werkzeug dropped the undecodable form, token and all
    assert "not valid UTF-8" in response.get_data(as_text=True)
    assert monitor_rows(app) == before


@pytest.mark.parametrize("target", ["create", "edit"])
def test_percent_encoded_non_utf8_is_never_5xx_and_never_stored_garbled(app, admin_client, existing, target):
    """%FF is not UTF-8: the name is kept as the literal escapes (or refused), never as U+FFFD."""
    path = "/monitors/new" if target == "create" else f"/monitors/{existing}/edit"
    token = csrf_from(admin_client.get(path).get_data(as_text=True))
    body = _raw_form_body(token, name="placeholder").replace(b"placeholder", b"bad%FF%FE%C3%28")
    response = admin_client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 422), response.status_code
    names = [monitor_by_id(app, row[0])["name"] for row in monitor_rows(app)]
    assert not any("\ufffd" in name for name in names), names
    if response.status_code == 302:
        assert "bad%FF%FE%C3(" in names


@pytest.mark.parametrize("target", ["create", "edit"])
def test_body_over_max_content_length_is_413_and_changes_nothing(app, admin_client, existing, target):
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    path = "/monitors/new" if target == "create" else f"/monitors/{existing}/edit"
    before = monitor_rows(app)
    response = post_form(admin_client, path, {**VALID_MONITOR, "keyword": "k" * (65 * 1024)})
    assert response.status_code == 413
    assert "The request body is too large." in response.get_data(as_text=True)
    assert monitor_rows(app) == before


# -- CSRF ------------------------------------------------------------------------------------

CSRF_MESSAGE = "security token was missing or invalid"


def _foreign_token(app) -> str:
    """A genuine token, but issued to another browser session."""
    other = app.test_client()
    return csrf_from(other.get("/login").get_data(as_text=True))


@pytest.mark.parametrize("target", ["create", "edit", "delete"])
@pytest.mark.parametrize("token", ["missing", "empty", "forged", "other-session"])
def test_post_without_a_valid_csrf_token_is_400_with_a_message_and_changes_nothing(
        app, admin_client, existing, target, token):
    path = {"create": "/monitors/new", "edit": f"/monitors/{existing}/edit",
            "delete": f"/monitors/{existing}/delete"}[target]
    data = {**VALID_MONITOR, "name": "Changed", "url": "http://127.0.0.1:9/changed"}
    if token == "empty":
        data["csrf_token"] = ""
    elif token == "forged":
        data["csrf_token"] = "IjAxMjM0NTY3ODlhYmNkZWYi.ZZZZZZ.forged-signature-forged-signature"
    elif token == "other-session":
        data["csrf_token"] = _foreign_token(app)
    before = monitor_rows(app)
    response = admin_client.post(path, data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert CSRF_MESSAGE in html
    assert "Traceback" not in html
    assert monitor_rows(app) == before


# -- SQL-looking and markup input ----------------------------------------------------------

def test_sql_looking_strings_are_stored_verbatim_and_tables_survive(app, admin_client):
    tables = table_names(app)
    assert {"monitors", "users", "check_results"} <= tables
    url = "http://example.com/?q=%27;DROP%20TABLE%20monitors;--"
    monitor_id = create_monitor(admin_client, name=SQL, keyword='Robert"); DROP TABLE users;--', url=url)
    row = monitor_by_id(app, monitor_id)
    assert row["name"] == SQL
    assert row["keyword"] == 'Robert"); DROP TABLE users;--'
    assert row["url"] == url
    assert table_names(app) == tables
    # the admin can still sign in, so the users table is intact
    admin_client.post("/logout", data={"csrf_token": csrf_from(admin_client.get("/").get_data(as_text=True))})
    login(admin_client)
    assert len(monitor_rows(app)) == 1


def test_sql_looking_rename_is_stored_verbatim(app, admin_client, existing):
    response = post_form(admin_client, f"/monitors/{existing}/edit", {**VALID_MONITOR, "name": SQL})
    assert response.status_code == 302
    assert monitor_by_id(app, existing)["name"] == SQL
    assert "monitors" in table_names(app)


def test_markup_in_name_keyword_and_url_is_escaped_on_every_page(app, admin_client):
    monitor_id = create_monitor(admin_client, name=SCRIPT, keyword=SCRIPT,
                                url=f"http://example.com/?q={SCRIPT}")
    row = monitor_by_id(app, monitor_id)
    assert (row["name"], row["keyword"]) == (SCRIPT, SCRIPT)  # stored verbatim, escaped on output
    pages = {"dashboard": "/", "detail": f"/monitors/{monitor_id}", "edit": f"/monitors/{monitor_id}/edit"}
    for page, path in pages.items():
        response = admin_client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, page
        assert SCRIPT not in html, f"raw markup on the {page} page"
        assert SCRIPT_ESCAPED in html, f"escaped markup missing on the {page} page"
    # the anonymous view too (public reads are on by default)
    anonymous = app.test_client()
    for path in ("/", f"/monitors/{monitor_id}"):
        html = anonymous.get(path).get_data(as_text=True)
        assert SCRIPT not in html and SCRIPT_ESCAPED in html


def test_attribute_breaking_markup_in_name_is_escaped(app, admin_client):
    name = '"><img src=x onerror=alert(1)>'
    monitor_id = create_monitor(admin_client, name=name)
    for path in ("/", f"/monitors/{monitor_id}", f"/monitors/{monitor_id}/edit"):
        html = admin_client.get(path).get_data(as_text=True)
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_flash_message_after_create_escapes_the_name(app, admin_client):
    response = post_form(admin_client, "/monitors/new", {**VALID_MONITOR, "name": SCRIPT},
                         follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert SCRIPT not in html
    assert f"Monitor “{SCRIPT_ESCAPED}” added." in html


@pytest.mark.parametrize("field", [f for f in VALID_MONITOR if f != "enabled"])
def test_markup_in_any_field_is_escaped_when_the_form_is_shown_again(app, admin_client, field):
    before = monitor_rows(app)
    # the upper bound below the lower one makes the form invalid even where markup is a valid value
    data = {**VALID_MONITOR, "expected_status_max": "100", field: SCRIPT}
    response = post_form(admin_client, "/monitors/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert SCRIPT not in html
    if field in ("name", "url", "keyword", "timeout_seconds", "expected_status_min", "expected_status_max"):
        assert SCRIPT_ESCAPED in html  # echoed back into the input, escaped
    assert monitor_rows(app) == before


# -- login and HTTP method requirements ----------------------------------------------------

@pytest.fixture
def anonymous_with_monitor(app, existing):
    """(anonymous client, id of an existing monitor); `existing` was made by another session."""
    return app.test_client(), existing


def test_anonymous_form_pages_redirect_to_login(anonymous_with_monitor):
    anonymous, monitor_id = anonymous_with_monitor
    for path in ("/monitors/new", f"/monitors/{monitor_id}/edit"):
        response = anonymous.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("target", ["create", "edit", "delete"])
def test_anonymous_post_with_a_valid_token_redirects_to_login_and_changes_nothing(
        app, anonymous_with_monitor, target):
    anonymous, monitor_id = anonymous_with_monitor
    path = {"create": "/monitors/new", "edit": f"/monitors/{monitor_id}/edit",
            "delete": f"/monitors/{monitor_id}/delete"}[target]
    before = monitor_rows(app)
    response = post_form(anonymous, path, {**VALID_MONITOR, "name": "Changed"}, form_path="/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert monitor_rows(app) == before


@pytest.mark.parametrize("target", ["create", "edit", "delete"])
def test_anonymous_post_without_a_token_is_rejected_and_changes_nothing(app, anonymous_with_monitor, target):
    anonymous, monitor_id = anonymous_with_monitor
    path = {"create": "/monitors/new", "edit": f"/monitors/{monitor_id}/edit",
            "delete": f"/monitors/{monitor_id}/delete"}[target]
    before = monitor_rows(app)
    response = anonymous.post(path, data={**VALID_MONITOR, "name": "Changed"})
    assert response.status_code in (302, 400, 401, 403)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
    assert monitor_rows(app) == before


def test_get_on_the_delete_url_only_asks_and_other_methods_are_405(app, admin_client, existing):
    """GET shows the confirmation page (only its POST deletes); PUT is not a way to delete."""
    before = monitor_rows(app)
    assert admin_client.get(f"/monitors/{existing}/delete").status_code == 200
    response = admin_client.put(f"/monitors/{existing}/delete")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "does not accept that kind of request" in response.get_data(as_text=True)
    assert monitor_rows(app) == before


def test_delete_with_login_and_csrf_removes_the_monitor(app, admin_client, existing):
    response = post_form(admin_client, f"/monitors/{existing}/delete", {}, form_path=f"/monitors/{existing}")
    assert response.status_code == 302
    assert monitor_rows(app) == []
    assert admin_client.get(f"/monitors/{existing}").status_code == 404


def test_editing_or_deleting_a_missing_monitor_is_404(app, admin_client, existing):
    before = monitor_rows(app)
    missing = existing + 1000
    assert admin_client.get(f"/monitors/{missing}/edit").status_code == 404
    assert post_form(admin_client, f"/monitors/{missing}/edit", VALID_MONITOR,
                     form_path="/monitors/new").status_code == 404
    assert post_form(admin_client, f"/monitors/{missing}/delete", {},
                     form_path="/monitors/new").status_code == 404
    assert monitor_rows(app) == before
