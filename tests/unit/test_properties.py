"""Property-based sweeps (hypothesis) over the monitor forms and the API's paths.

Forms: any mix of arbitrary values (unicode text, huge and negative numbers,
NaN and infinities, empty strings, missing fields), posted as a signed-in admin
with a valid CSRF token, never gives a 5xx; it either creates exactly one
monitor whose stored values satisfy every rule of the form (302), or changes
nothing (4xx). The edit form is swept the same way.

API: arbitrary strings as monitor ids and as paths under /api/v1 never give a 5xx.
"""
from __future__ import annotations

import math
import re
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.monitor_limits import INTERVALS_MINUTES, METHODS
from testkit.http import csrf_from
from testkit.monitors import monitor_rows
from tests.conftest import VALID_MONITOR, post_form

SWEEP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SQLITE_MAX_INT = 2**63 - 1
FIELDS = tuple(VALID_MONITOR)

# -- strategies -----------------------------------------------------------------------------

# Surrogate-free text (a browser cannot send lone surrogates in UTF-8), including controls.
any_text = st.text(st.characters(codec="utf-8"), max_size=300)
numberish_text = st.text(st.sampled_from("0123456789-+.eE_ infINFnaNx"), max_size=40)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
)
near_valid = st.sampled_from(["GET", "HEAD", "POST", "get", "1", "5", "15", "60", "100", "599", "600", "99",
                              "y", "false", "http://example.com/", "https://example.com:8443/x?y=1",
                              "http://[::1]:8080/", "http://localhost", "https://", "ftp://x/"])
field_value = st.one_of(any_text, numbers.map(str), numberish_text, near_valid, st.just(""))
OMIT = object()


@st.composite
def monitor_forms(draw) -> dict:
    """VALID_MONITOR with any subset of its fields replaced by an arbitrary value or left out."""
    data = dict(VALID_MONITOR)
    for field in draw(st.sets(st.sampled_from(FIELDS))):
        value = draw(st.one_of(field_value, st.just(OMIT)))
        if value is OMIT:
            del data[field]
        else:
            data[field] = value
    return data


# -- helpers --------------------------------------------------------------------------------

def assert_obeys_the_form_rules(row: dict) -> None:
    """What the form promises about any stored monitor."""
    assert row["name"] and row["name"] == row["name"].strip() and len(row["name"]) <= 100
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in row["name"])
    parts = urlsplit(row["url"])
    assert parts.scheme in ("http", "https") and parts.hostname, row["url"]
    assert not parts.username and not parts.password
    assert len(row["url"]) <= 2048 and not any(ch.isspace() for ch in row["url"])
    assert row["method"] in METHODS
    assert row["interval_minutes"] in INTERVALS_MINUTES
    assert math.isfinite(row["timeout_seconds"]) and 1 <= row["timeout_seconds"] <= 60
    assert 100 <= row["expected_status_min"] <= row["expected_status_max"] <= 599
    assert row["keyword"] is None or (0 < len(row["keyword"]) <= 200 and row["keyword"] == row["keyword"].strip())
    assert row["enabled"] in (True, False)


def forget_flashes(client) -> None:
    """Each save flashes a message into the cookie session; drop it so the cookie stays small."""
    with client.session_transaction() as session:
        session.pop("_flashes", None)


# -- the forms --------------------------------------------------------------------------------

def test_arbitrary_create_forms_never_5xx_and_create_one_valid_monitor_or_none(app, admin_client):
    token = csrf_from(admin_client.get("/monitors/new").get_data(as_text=True))
    counter = iter(range(10**9))

    @SWEEP
    @given(form=monitor_forms())
    @example(form={**VALID_MONITOR, "timeout_seconds": "nan"})
    @example(form={**VALID_MONITOR, "expected_status_min": "9" * 5000})
    @example(form={**VALID_MONITOR, "expected_status_max": "1" + "0" * 400})
    @example(form={**VALID_MONITOR, "interval_minutes": str(10**400)})
    @example(form={**VALID_MONITOR, "name": "\u3000"})
    @example(form={k: v for k, v in VALID_MONITOR.items() if k not in ("method", "interval_minutes")})
    def check(form):
        if form.get("name") == VALID_MONITOR["name"]:
            form = {**form, "name": f"Sweep {next(counter)}"}  # keep otherwise-valid forms creatable
        before = monitor_rows(app, as_dicts=True)
        response = admin_client.post("/monitors/new", data={**form, "csrf_token": token})
        after = monitor_rows(app, as_dicts=True)
        assert response.status_code < 500, (response.status_code, form)
        if response.status_code == 302:
            forget_flashes(admin_client)
            assert re.fullmatch(r"/monitors/\d+", response.headers["Location"])
            assert len(after) == len(before) + 1 and after[:-1] == before
            assert_obeys_the_form_rules(after[-1])
        else:
            assert response.status_code in (400, 413, 422), (response.status_code, form)
            assert after == before

    check()


def test_arbitrary_edit_forms_never_5xx_and_either_save_valid_values_or_change_nothing(app, admin_client):
    response = post_form(admin_client, "/monitors/new", VALID_MONITOR)
    assert response.status_code == 302
    other = post_form(admin_client, "/monitors/new", {**VALID_MONITOR, "name": "Other"})
    assert other.status_code == 302
    path = response.headers["Location"] + "/edit"
    token = csrf_from(admin_client.get(path).get_data(as_text=True))

    @SWEEP
    @given(form=monitor_forms())
    @example(form={**VALID_MONITOR, "name": "Other"})
    @example(form={**VALID_MONITOR, "timeout_seconds": "inf"})
    def check(form):
        before = monitor_rows(app, as_dicts=True)
        response = admin_client.post(path, data={**form, "csrf_token": token})
        after = monitor_rows(app, as_dicts=True)
        assert response.status_code < 500, (response.status_code, form)
        assert len(after) == len(before) == 2
        if response.status_code == 302:
            forget_flashes(admin_client)
            edited = next(row for row in after if path.startswith(f"/monitors/{row['id']}/"))
            assert_obeys_the_form_rules(edited)
            assert [r for r in after if r is not edited] == [r for r in before if r["id"] != edited["id"]]
        else:
            assert response.status_code in (400, 413, 422), (response.status_code, form)
            assert after == before

    check()


# -- the API's paths -----------------------------------------------------------------------

id_like = st.one_of(any_text, st.integers().map(str), st.from_regex(r"[0-9]{1,19}", fullmatch=True),
                    numbers.map(str), st.sampled_from(["0", "-1", "01", "1.0", "1e3", " 1", "١", "%00", "..", ".",
                                                       "1;DROP TABLE monitors", "1/", "1?x=1", "1#x"]))


@pytest.fixture
def api_client(app, admin_client):
    response = post_form(admin_client, "/monitors/new", VALID_MONITOR)
    assert response.status_code == 302
    return app.test_client()


def test_arbitrary_monitor_ids_in_the_api_never_5xx(app, api_client):
    @SWEEP
    @given(segment=id_like)
    @example(segment=str(SQLITE_MAX_INT))
    @example(segment=str(SQLITE_MAX_INT + 1))
    @example(segment="9" * 400)
    def check(segment):
        response = api_client.get("/api/v1/monitors/" + quote(segment, safe=""))
        assert response.status_code < 500, (response.status_code, segment)
        assert response.status_code in (200, 404), (response.status_code, segment)
        assert response.is_json

    check()


def test_arbitrary_paths_methods_and_queries_under_the_api_never_5xx(app, api_client):
    methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

    @SWEEP
    @given(path=any_text, method=methods, query=st.dictionaries(any_text, any_text, max_size=3))
    @example(path="monitors", method="POST", query={})
    @example(path="monitors/1", method="DELETE", query={})
    @example(path="openapi.json", method="GET", query={"x": "\x00"})
    @example(path="../monitors/1/edit", method="GET", query={})
    def check(path, method, query):
        response = api_client.open("/api/v1/" + quote(path, safe="/"), method=method, query_string=query)
        assert response.status_code < 500, (response.status_code, method, path, query)

    check()


def test_arbitrary_monitor_ids_in_the_pages_never_5xx(app, admin_client):
    post_form(admin_client, "/monitors/new", VALID_MONITOR)

    @SWEEP
    @given(segment=id_like, suffix=st.sampled_from(["", "/edit"]))
    def check(segment, suffix):
        response = admin_client.get("/monitors/" + quote(segment, safe="") + suffix)
        assert response.status_code < 500, (response.status_code, segment)

    check()


@pytest.mark.parametrize("monitor_id", [str(SQLITE_MAX_INT + 1), "9" * 30])
@pytest.mark.parametrize("page", ["api", "detail", "edit", "edit-post", "delete"])
def test_huge_monitor_ids_are_404(app, admin_client, monitor_id, page):
    """Beyond 64 bits the database cannot hold the id (it was an OverflowError and a 500)."""
    if page == "api":
        response = admin_client.get(f"/api/v1/monitors/{monitor_id}")
    elif page == "detail":
        response = admin_client.get(f"/monitors/{monitor_id}")
    elif page == "edit":
        response = admin_client.get(f"/monitors/{monitor_id}/edit")
    else:
        path = f"/monitors/{monitor_id}/edit" if page == "edit-post" else f"/monitors/{monitor_id}/delete"
        response = post_form(admin_client, path, VALID_MONITOR, form_path="/monitors/new")
    assert response.status_code == 404
