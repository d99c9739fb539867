"""The dashboard's reuse of what it rendered, and its ETag: never longer than it is right.

- a matching If-None-Match gets 304 (with the same ETag, Cache-Control, Vary and security
  headers), an edit changes the ETag and the page, and so does the next 10-second slot;
- no 304 crosses sessions or views: each signed-in session has its own ETag, the public
  view another;
- the pause buttons of a kept table carry the asking session's CSRF token (another
  session's is refused), and no marker is ever left in a page;
- a flashed message still shows (and that page gets no ETag);
- Cache-Control: private for signed-in pages, never for the public one.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import VALID_MONITOR, post_form
from testkit.http import csrf_from, login

URL = "http://127.0.0.1:9/private-path?token=abc"


def _create_monitor(app, name: str, url: str = URL) -> int:
    """A paused monitor (no first check is asked for), committed and the summary invalidated,
    as every change to monitors does."""
    from app.dashboard import invalidate_summary
    from app.extensions import db
    from app.models import Monitor

    with app.app_context():
        monitor = Monitor(name=name, url=url, method="GET", interval_minutes=5, timeout_seconds=10.0,
                          expected_status_min=200, expected_status_max=299, enabled=False)
        db.session.add(monitor)
        db.session.commit()
        invalidate_summary()
        return monitor.id


def _rename(monitor_id: int, name: str) -> None:
    """Another request's edit: commit, then invalidate (inside an app context)."""
    from app.dashboard import invalidate_summary
    from app.extensions import db
    from app.models import Monitor

    db.session.get(Monitor, monitor_id).name = name
    db.session.commit()
    invalidate_summary()


@pytest.fixture
def monitor_id(app):
    """One monitor, created through the UI (so the summary is invalidated as in production)."""
    client = app.test_client()
    login(client)
    response = post_form(client, "/monitors/new", {**VALID_MONITOR, "name": "Shop", "url": URL},
                         follow_redirects=False)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _signed_in(app):
    """A new login session; the welcome message it flashes is shown (and so gone) once."""
    client = app.test_client()
    login(client)
    client.get("/")
    return client


def _revalidate(client, etag: str):
    return client.get("/", headers={"If-None-Match": etag})


# ---- 304 -------------------------------------------------------------------------------

def test_a_matching_if_none_match_gets_304_with_the_page_headers(app, monitor_id):
    client = app.test_client()
    first = client.get("/")
    assert first.status_code == 200 and "Shop" in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = _revalidate(client, etag)
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "no-cache"
    assert "Cookie" in again.headers["Vary"]
    assert again.headers["Content-Security-Policy"] and again.headers["X-Content-Type-Options"] == "nosniff"
    assert _revalidate(client, f'"other", {etag}').status_code == 304  # one of a list
    assert _revalidate(client, '"other"').status_code == 200
    assert _revalidate(client, etag.removeprefix("W/")).status_code == 304  # weak comparison


def test_an_edit_changes_the_etag_and_the_page(app, monitor_id):
    client = app.test_client()
    before = client.get("/")
    admin = _signed_in(app)
    admin_before = admin.get("/")
    response = post_form(admin, f"/monitors/{monitor_id}/edit",
                         {**VALID_MONITOR, "name": "Shop renamed", "url": URL}, follow_redirects=False)
    assert response.status_code == 302
    for who, old in ((client, before), (admin, admin_before)):
        after = _revalidate(who, old.headers["ETag"])
        assert after.status_code == 200, "a page from before the edit was confirmed"
        assert "Shop renamed" in after.get_data(as_text=True)
        assert after.headers.get("ETag") != old.headers["ETag"]  # (none while a message is flashed)


def test_the_next_time_slot_renders_again(app, monitor_id, monkeypatch):
    """The table's "N seconds ago" texts are rendered once per 10-second slot."""
    from app.web import dashboard

    now = [1_000_000.0]
    monkeypatch.setattr(dashboard.time, "time", lambda: now[0])
    client = app.test_client()
    first = client.get("/")
    assert _revalidate(client, first.headers["ETag"]).status_code == 304
    now[0] += dashboard.SLOT_SECONDS
    later = _revalidate(client, first.headers["ETag"])
    assert later.status_code == 200 and later.headers["ETag"] != first.headers["ETag"]


def test_a_page_is_reused_only_for_its_own_summary_version(app, monitor_id):
    """The kept page is keyed by the summary's version: a new summary (any worker may have
    stored it) is rendered, never answered with the page of the one before."""
    from app.dashboard import refresh_summary

    client = app.test_client()
    first = client.get("/")
    with app.app_context():
        summary = refresh_summary()
    second = client.get("/")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert f'data-generated-at="{summary["generated_at"]}"' in second.get_data(as_text=True)


# ---- sessions and views ----------------------------------------------------------------

def test_no_304_across_sessions_or_views(app, monitor_id):
    anonymous = app.test_client()
    one, two = _signed_in(app), _signed_in(app)  # the same user, two login sessions
    tags = {name: client.get("/").headers["ETag"]
            for name, client in (("anonymous", anonymous), ("one", one), ("two", two))}
    assert len(set(tags.values())) == 3, tags
    assert _revalidate(one, tags["one"]).status_code == 304
    assert _revalidate(two, tags["two"]).status_code == 304
    assert _revalidate(two, tags["one"]).status_code == 200
    assert _revalidate(one, tags["anonymous"]).status_code == 200
    assert _revalidate(anonymous, tags["one"]).status_code == 200
    assert _revalidate(anonymous, tags["anonymous"]).status_code == 304


def test_after_logout_the_signed_in_etag_no_longer_matches(app, monitor_id):
    client = _signed_in(app)
    etag = client.get("/").headers["ETag"]
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    after = _revalidate(client, etag)
    assert after.status_code == 200
    body = after.get_data(as_text=True)
    assert URL not in body and "Sign in" in body


def test_public_and_private_views_differ_and_are_kept_apart(app, monitor_id):
    anonymous = app.test_client()
    admin = _signed_in(app)
    for _ in range(2):  # the second round is served from what the first kept
        public = anonymous.get("/")
        private = admin.get("/")
        public_body, private_body = public.get_data(as_text=True), private.get_data(as_text=True)
        assert URL.replace("&", "&amp;") not in public_body and "token=abc" not in public_body
        assert "/pause" not in public_body and "csrf_token" not in public_body
        assert "token=abc" in private_body and f"/monitors/{monitor_id}/pause" in private_body
        assert public.headers["Cache-Control"] == "no-cache"
        assert private.headers["Cache-Control"] == "private, no-cache"
        assert "Cookie" in public.headers["Vary"] and "Cookie" in private.headers["Vary"]


def test_each_session_gets_its_own_csrf_tokens_in_the_kept_table(app, monitor_id):
    from app.web.dashboard import CSRF_MARKER

    one, two = _signed_in(app), _signed_in(app)
    page_one = one.get("/").get_data(as_text=True)
    page_two = two.get("/").get_data(as_text=True)  # the table one rendered, kept
    assert str(CSRF_MARKER) not in page_one and str(CSRF_MARKER) not in page_two
    pause = f'action="/monitors/{monitor_id}/pause"'
    assert pause in page_one and pause in page_two

    def pause_token(page: str) -> str:
        form = page[page.index(pause):]
        return re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    # Session two's token is refused in session one; session one's own works.
    refused = one.post(f"/monitors/{monitor_id}/pause", data={"csrf_token": pause_token(page_two), "next": "/"})
    assert refused.status_code == 400
    done = one.post(f"/monitors/{monitor_id}/pause", data={"csrf_token": pause_token(page_one), "next": "/"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/")


def test_a_monitor_named_like_the_marker_is_shown_as_text(app):
    from app.web.dashboard import CSRF_MARKER

    _create_monitor(app, str(CSRF_MARKER), url="http://127.0.0.1:9/<vigil-csrf-token>")
    admin = _signed_in(app)
    body = admin.get("/").get_data(as_text=True)
    assert "&lt;vigil-csrf-token&gt;" in body
    assert str(CSRF_MARKER) not in body
    csrf = csrf_from(body)
    assert body.count(csrf) >= 2  # the sign-out form and the pause button: this session's token


# ---- flashes and other pages -----------------------------------------------------------

def test_a_flashed_message_still_shows_and_that_page_gets_no_etag(app, monitor_id):
    admin = _signed_in(app)
    etag = admin.get("/").headers["ETag"]
    token = csrf_from(admin.get("/").get_data(as_text=True))
    response = admin.post(f"/monitors/{monitor_id}/pause", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 302
    flashed = _revalidate(admin, etag)
    assert flashed.status_code == 200
    assert "paused: it is not checked" in flashed.get_data(as_text=True)
    assert "ETag" not in flashed.headers
    after = admin.get("/")
    assert "paused: it is not checked" not in after.get_data(as_text=True)
    assert after.headers.get("ETag")


def test_anonymous_flash_is_shown_too(app, monitor_id):
    """The page kept for anonymous visitors is not served to one with a message waiting."""
    client = app.test_client()
    client.get("/")  # keeps the anonymous page
    client.get("/monitors/new")  # login required: a flash ("Please log in...") and a redirect
    page = client.get("/").get_data(as_text=True)
    assert 'class="flash' in page


def test_signed_in_pages_are_private_and_no_store_stays(app, monitor_id):
    admin = _signed_in(app)
    for path in ("/monitors/new", f"/monitors/{monitor_id}", "/api/v1/monitors"):
        assert admin.get(path).headers["Cache-Control"] == "private", path
    assert admin.get("/account/tokens").headers["Cache-Control"] == "no-store"
    anonymous = app.test_client()
    assert "Cache-Control" not in anonymous.get(f"/monitors/{monitor_id}").headers
    assert "Cache-Control" not in anonymous.get("/healthz").headers


def test_without_a_cache_every_page_is_rendered_and_right(app_factory):
    """VIGIL_CACHE=none: no version is kept, so nothing is reused or confirmed."""
    app = app_factory(VIGIL_CACHE="none")
    _create_monitor(app, "First")
    client = app.test_client()
    first = client.get("/")
    assert "First" in first.get_data(as_text=True)
    _create_monitor(app, "Second")
    second = _revalidate(client, first.headers["ETag"])
    assert second.status_code == 200 and "Second" in second.get_data(as_text=True)


def test_a_cache_outage_serves_a_fresh_page(app, monitor_id, monkeypatch):
    """With the cache failing (every read a miss, as app/cache.py degrades), the page is
    computed from the database each time, never confirmed with a 304."""
    from flask_caching import Cache

    client = app.test_client()
    etag = client.get("/").headers["ETag"]
    monkeypatch.setattr(Cache, "get", lambda self, key: None)
    for _ in range(2):
        response = _revalidate(client, etag)
        assert response.status_code == 200 and "Shop" in response.get_data(as_text=True)
        assert response.headers["ETag"] != etag


# ---- the invalidate-then-recompute race ------------------------------------------------

def _rename_during_the_next_build(app, monitor_id, monkeypatch, new_name):
    """The next summary build reads its rows, then (before it is stored) an edit commits
    and invalidates: what a concurrent request does."""
    from app import dashboard

    real = dashboard.build_summary

    def build_then_edit(*args, **kwargs):
        summary = real(*args, **kwargs)
        monkeypatch.setattr(dashboard, "build_summary", real)
        _rename(monitor_id, new_name)
        return summary

    monkeypatch.setattr(dashboard, "build_summary", build_then_edit)


@pytest.mark.parametrize("rebuild", ["get_summary", "refresh_summary"])
def test_a_summary_computed_before_an_edit_is_not_stored_after_it(app, monitor_id, monkeypatch, rebuild):
    from app import dashboard
    from app.extensions import cache

    with app.app_context():
        dashboard.invalidate_summary()
        _rename_during_the_next_build(app, monitor_id, monkeypatch, "Renamed meanwhile")
        served = getattr(dashboard, rebuild)()
        assert [m["name"] for m in served["monitors"]] == ["Shop"]  # this one request's view
        assert cache.get(dashboard.SUMMARY_KEY) is None  # ...but it was not kept
        assert dashboard.summary_version() is None
        assert [m["name"] for m in dashboard.get_summary()["monitors"]] == ["Renamed meanwhile"]
    assert "Renamed meanwhile" in app.test_client().get("/").get_data(as_text=True)


def test_a_summary_is_stored_when_nothing_changed_meanwhile(app, monitor_id):
    from app import dashboard
    from app.extensions import cache

    with app.app_context():
        dashboard.invalidate_summary()
        summary = dashboard.get_summary()
        assert cache.get(dashboard.SUMMARY_KEY)["version"] == summary["version"]
        assert dashboard.summary_version() == summary["version"]
        assert dashboard.get_summary()["version"] == summary["version"]
