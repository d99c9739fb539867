"""HTTP helpers for tests that talk to a real server (gunicorn) over loopback."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import requests

from testkit import ROOT

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    page.raise_for_status()
    match = _TOKEN.search(page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


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
