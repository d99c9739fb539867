"""Property sweep of every HTML form, with a valid CSRF token: no 5xx, whatever the body.

The forms are found by crawling the pages a signed-in admin sees (so a new form
is swept without editing this file); each is posted, as the same admin with the
form's own CSRF token, with hostile values for its fields and for fields it does
not have, or with a hostile raw body (not UTF-8, JSON, nested, around the size
limit), sent with a Content-Length or chunked. Forms that end the session
(logout, sign out everywhere) are left out, or every later example would test
the login redirect; a Run now would start a job process, so that is stubbed.
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.bodies import SHARP, hostile_json, send, surrogate_text
from tests.conftest import VALID_MONITOR, post_form

SWEEP = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
START = ["/", "/monitors/new", "/channels/", "/channels/new", "/maintenance/", "/maintenance/new", "/account",
         "/account/tokens", "/jobs/", "/cluster/"]
SESSION_ENDING = re.compile(r"logout|sign-out")
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
LINK = re.compile(r'href="(/(?:monitors|channels|maintenance|jobs|account)/[^"#?]*)"')


def _attr(tag: str, name: str) -> str | None:
    match = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(match.group(1)) if match else None


def crawl(client) -> dict[str, tuple[str, list[str]]]:
    """{form action: (page it is on, names of its fields)} for every POST form reachable from START."""
    forms: dict[str, tuple[str, list[str]]] = {}
    pages, seen = list(START), set()
    while pages and len(seen) < 40:
        page = pages.pop()
        if page in seen:
            continue
        seen.add(page)
        response = client.get(page)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        html = response.get_data(as_text=True)
        pages.extend(link for link in LINK.findall(html) if not SESSION_ENDING.search(link))
        for attributes, inner in FORM.findall(html):
            if (_attr(attributes, "method") or "get").lower() != "post":
                continue
            action = _attr(attributes, "action") or page
            if SESSION_ENDING.search(action):
                continue
            names = sorted({unescape(n) for n in re.findall(r'\bname="([^"]+)"', inner)} - {"csrf_token"})
            forms.setdefault(action, (page, names))
    return forms


value = st.one_of(st.text(max_size=60), SHARP, st.integers().map(str), st.floats().map(str),
                  st.text(st.characters(codec="utf-8"), max_size=300), st.just("9" * 5000))


@pytest.fixture
def swept(app, admin_client, monkeypatch):
    import app.run_now as run_now

    monkeypatch.setattr(run_now.subprocess, "Popen", lambda *args, **kwargs: None)  # Run now, without a process
    # A channel on loopback's discard port: Send test is refused at once, nothing leaves the machine.
    channel = {"name": "sweep", "url": "json://127.0.0.1:9/hook"}
    assert post_form(admin_client, "/channels/new", channel).status_code == 302
    assert post_form(admin_client, "/monitors/new", VALID_MONITOR).status_code == 302
    window = {"name": "sweep", "kind": "recurring", "cron": "0 2 * * 0", "duration_minutes": "60",
              "timezone": "UTC", "all_monitors": "y"}
    assert post_form(admin_client, "/maintenance/new", window).status_code == 302
    forms = crawl(admin_client)
    assert {"/monitors/new", "/channels/new", "/maintenance/new", "/account/tokens"} <= set(forms), forms
    for expected in (r"/monitors/\d+/edit", r"/monitors/\d+/pause", r"/channels/\d+/edit", r"/channels/\d+/test"):
        assert any(re.fullmatch(expected, action) for action in forms), (expected, forms)
    return forms


def test_every_form_with_any_body_never_5xx(app, admin_client, swept):
    limit = app.config["MAX_CONTENT_LENGTH"]
    actions = sorted(swept)
    tokens: dict[str, str] = {}

    def token_for(action: str) -> str:
        if action not in tokens:
            page = admin_client.get(swept[action][0]).get_data(as_text=True)
            tokens[action] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return tokens[action]

    statuses = set()

    @SWEEP
    @given(data=st.data())
    def check(data):
        action = data.draw(st.sampled_from(actions))
        names = swept[action][1] + ["extra", "csrf_token[]", "\u00e9"]
        token = token_for(action)
        kind = data.draw(st.sampled_from(["fields", "surrogates", "raw", "json", "multipart"]))
        content_type = "application/x-www-form-urlencoded"
        if kind in ("fields", "surrogates"):
            fields = data.draw(st.dictionaries(st.sampled_from(names),
                                               value if kind == "fields" else surrogate_text, max_size=len(names)))
            body = urlencode({**fields, "csrf_token": token}, errors="surrogatepass").encode()
        elif kind == "raw":
            body = f"csrf_token={token}&".encode() + data.draw(st.one_of(
                st.binary(max_size=200), st.integers(limit - 300, limit + 300).map(lambda n: b"x=" + b"y" * n)))
        elif kind == "json":
            content_type = "application/json"
            body = data.draw(hostile_json({"csrf_token": token, **VALID_MONITOR}, limit))
        else:
            content_type = "multipart/form-data; boundary=b"
            raw = data.draw(st.binary(max_size=100))
            body = (b"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + token.encode()
                    + b"\r\n--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n" + raw + b"\r\n--b--\r\n")
        response = send(admin_client, "POST", action, body, content_type=content_type,
                        chunked=data.draw(st.booleans()), headers={"X-CSRFToken": token})
        statuses.add(response.status_code)
        assert response.status_code < 500, (action, kind, body[:200], response.get_data(as_text=True)[:300])
        assert "Traceback" not in response.get_data(as_text=True)

    check()
    assert {302, 400, 413, 415, 422} <= statuses, sorted(statuses)
