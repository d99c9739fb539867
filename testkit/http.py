"""Signing in and reading CSRF tokens, for Flask's test client and for a real server.

``login(client)`` signs in through a Flask test client (unit tests);
``logged_in_session(base_url, password)`` does the same with requests against a real
server (gunicorn) over loopback. Both read the token from the form as a browser does.
Playwright's sign-in is ``testkit.chromium.login``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import requests

from testkit import ROOT

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# The admin account tests/conftest.py's apps (and tests/integration's) are made with.
ADMIN_PASSWORD = "correct horse battery staple"


def csrf_from(html: str, where: str = "the page") -> str:
    """The CSRF token of the (first) form in `html`."""
    match = _TOKEN.search(html)
    assert match, f"no CSRF token in {where}"
    return match.group(1)


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    page.raise_for_status()
    return csrf_from(page.text, url)


def login(client, username: str = "admin", password: str = ADMIN_PASSWORD):
    """Sign in through a Flask test client; the 302 response."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def create_admin(env: dict[str, str], password: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "vigil", "create-admin"],
                   cwd=ROOT, env={**os.environ, **env, "VIGIL_ADMIN_PASSWORD": password},
                   check=True, capture_output=True)


def logged_in_session(base_url: str, password: str, username: str = "admin") -> requests.Session:
    session = requests.Session()
    token = csrf_token(session, base_url + "/login")
    response = session.post(base_url + "/login", allow_redirects=False, timeout=10,
                            data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.text[:300]
    return session
