"""The dashboard's ETag under gunicorn with the shared Redis cache (4 workers).

- every worker computes the same ETag for the same summary version, view and time slot
  (the version comes from Redis), so any worker confirms a page another one served;
- a signed-in session's ETag is its own: no worker confirms it for another session or
  for an anonymous visitor, nor an anonymous page for a signed-in one.
The stale reads after an edit, revalidations included, are tests/integration/test_shared_cache.py's.
"""
from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor

import requests

from testkit.http import create_admin, logged_in_session

PASSWORD = "integration-password-1"


def _server(gunicorn, server_env):
    env = {**server_env, "VIGIL_CACHE": "redis", "VIGIL_CACHE_TTL": "600", "VIGIL_TIMER_BACKEND": "off"}
    create_admin(env, PASSWORD)
    return gunicorn(env, workers=4)


def _gets(base_url: str, count: int, *, headers=None, cookies=None) -> list[requests.Response]:
    """`count` concurrent GETs of / on fresh connections, so that every worker answers some."""
    def get(_):
        with requests.Session() as session:
            if cookies is not None:
                session.cookies.update(cookies)
            return session.get(base_url + "/", headers=headers or {}, timeout=10)
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(get, range(count)))


def _signed_in(base_url: str) -> requests.Session:
    session = logged_in_session(base_url, PASSWORD)
    session.get(base_url + "/", timeout=10)  # shows (and so clears) the sign-in message
    return session


def _until_every_worker(base_url: str, *, headers=None, workers: int = 4) -> list[requests.Response]:
    """Rounds of concurrent GETs until `workers` distinct workers have answered."""
    answers: list[requests.Response] = []
    for _ in range(20):
        answers += _gets(base_url, 24, headers=headers)
        if len({r.headers["X-Vigil-Worker"] for r in answers}) == workers:
            return answers
    raise AssertionError(f"only {len({r.headers['X-Vigil-Worker'] for r in answers})} workers answered")


def test_every_worker_confirms_the_same_page(gunicorn, server_env):
    server = _server(gunicorn, server_env)
    assert requests.get(server.base_url + "/", timeout=10).status_code == 200  # one summary, cached
    for attempt in range(3):  # a 10-second slot may end between the two rounds: then again
        pages = _until_every_worker(server.base_url)
        assert {r.status_code for r in pages} == {200}
        etags = collections.Counter(r.headers["ETag"] for r in pages)
        etag, _ = etags.most_common(1)[0]
        confirmed = _until_every_worker(server.base_url, headers={"If-None-Match": etag})
        by_status = collections.Counter(r.status_code for r in confirmed)
        if len(etags) == 1 and set(by_status) == {304}:
            break
    assert len(etags) == 1, f"workers disagree on the ETag: {etags}"
    assert set(by_status) == {304}, by_status
    assert all(r.headers["ETag"] == etag and r.content == b"" for r in confirmed)


def test_no_worker_confirms_a_page_across_sessions(gunicorn, server_env):
    server = _server(gunicorn, server_env)
    one, two = _signed_in(server.base_url), _signed_in(server.base_url)
    anonymous = requests.get(server.base_url + "/", timeout=10)
    tags = {"one": one.get(server.base_url + "/", timeout=10).headers["ETag"],
            "two": two.get(server.base_url + "/", timeout=10).headers["ETag"],
            "anonymous": anonymous.headers["ETag"]}
    assert len(set(tags.values())) == 3, tags
    crossings = [(two.cookies, tags["one"]), (one.cookies, tags["two"]), (None, tags["one"]),
                 (one.cookies, tags["anonymous"])]
    for cookies, etag in crossings:
        answers = _gets(server.base_url, 24, headers={"If-None-Match": etag}, cookies=cookies)
        assert {r.status_code for r in answers} == {200}
        assert len({r.headers["X-Vigil-Worker"] for r in answers}) >= 2
    for r in _gets(server.base_url, 8, cookies=one.cookies):
        assert r.headers["Cache-Control"] == "private, no-cache"
    assert anonymous.headers["Cache-Control"] == "no-cache"


# ---- rebuilding the summary on MariaDB and Redis ---------------------------------------

def _monitor(db, name: str):
    from app.models import Monitor

    monitor = Monitor(name=name, url="http://127.0.0.1:9/", method="GET", interval_minutes=5,
                      timeout_seconds=5.0, expected_status_min=200, expected_status_max=299, enabled=False)
    db.session.add(monitor)
    db.session.commit()
    return monitor.id


def test_a_rebuild_reads_past_the_request_s_own_snapshot(mysql_app):
    """MariaDB's REPEATABLE READ: a request that already read something holds a snapshot
    from then. The summary is computed in a transaction of its own, so an edit committed
    (and invalidated) after that snapshot is in it."""
    import sqlalchemy as sa

    from app.dashboard import get_summary, invalidate_summary
    from app.extensions import db
    from app.models import Monitor

    monitor_id = _monitor(db, "Before")
    invalidate_summary()
    assert db.session.scalar(sa.select(Monitor.name).where(Monitor.id == monitor_id)) == "Before"
    with db.engine.begin() as other:  # another request's edit
        other.execute(sa.update(Monitor).where(Monitor.id == monitor_id).values(name="After"))
    invalidate_summary()
    assert [m["name"] for m in get_summary()["monitors"]] == ["After"]


def test_a_summary_computed_before_an_edit_is_not_stored_after_it(mysql_app, monkeypatch):
    """The compare-and-set on the generation, on the real Redis (WATCH/MULTI/EXEC)."""
    from app import dashboard
    from app.extensions import cache, db

    monitor_id = _monitor(db, "Before")
    dashboard.invalidate_summary()
    real = dashboard.build_summary

    def build_then_edit(*args, **kwargs):
        summary = real(*args, **kwargs)
        monkeypatch.setattr(dashboard, "build_summary", real)
        from app.models import Monitor

        db.session.get(Monitor, monitor_id).name = "After"  # another request's edit
        db.session.commit()
        dashboard.invalidate_summary()
        return summary

    monkeypatch.setattr(dashboard, "build_summary", build_then_edit)
    assert [m["name"] for m in dashboard.get_summary()["monitors"]] == ["Before"]
    assert cache.get(dashboard.SUMMARY_KEY) is None and dashboard.summary_version() is None
    assert [m["name"] for m in dashboard.get_summary()["monitors"]] == ["After"]
    assert dashboard.summary_version() == cache.get(dashboard.SUMMARY_KEY)["version"]
