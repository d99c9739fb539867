"""Fixtures for browser tests: a real gunicorn and a headless Chromium.

Why a real gunicorn (not the Flask test client): the browser must see exactly what
a user sees behind the production server, including headers such as the strict
Content-Security-Policy, redirects and cookies. The embedded configuration (SQLite,
in-process Redis stand-ins) keeps it self-contained; because the stand-ins live
in one process, gunicorn runs one worker with threads.

Chromium itself, and signing in on a page (`login(page, server.password)`), come from
testkit/chromium.py (shared with tests/e2e).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit import ROOT
from testkit.chromium import headless_chromium
from testkit.servers import Gunicorn

ADMIN_USER = "admin"
ADMIN_PASSWORD = "browser-test-password"
SCREENS_COPY_DIR = Path("/tmp/vigil-screens")


@dataclass
class Server:
    base_url: str
    gunicorn: Gunicorn
    password: str  # the admin's


def _without_redis(env: dict[str, str]) -> dict[str, str]:
    """No REDIS_URL / REDIS2_URL, so the app uses its in-process stand-ins."""
    return {k: v for k, v in env.items() if k not in ("REDIS_URL", "REDIS2_URL")}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    """A migrated, admin-ready Vigil behind gunicorn; one per test module."""
    workdir = tmp_path_factory.mktemp("vigil-browser")
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'vigil.db'}", "VIGIL_ENV": "testing",
           "VIGIL_ADMIN_USER": ADMIN_USER, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "VIGIL_INSTANCE_PATH": str(workdir / "instance")}
    full_env = _without_redis({**os.environ, **env})
    for command in (["db", "upgrade"], ["vigil", "create-admin"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *command],
                              cwd=ROOT, env=full_env, capture_output=True, text=True)
        assert done.returncode == 0, f"flask {' '.join(command)} failed:\n{done.stderr}"
    gunicorn = Gunicorn(env=env, workers=1, threads=4, workdir=workdir)
    gunicorn.env = _without_redis(gunicorn.env)
    gunicorn.start()
    yield Server(gunicorn.base_url, gunicorn, ADMIN_PASSWORD)
    gunicorn.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per session; skipped (laptop) or failed (CI) when absent."""
    with headless_chromium() as browser:
        yield browser


@dataclass
class Console:
    """Console errors and uncaught page errors seen by one page (CSP violations land here)."""
    errors: list[str] = field(default_factory=list)

    def on_console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location.get('url', '')}")

    def on_pageerror(self, error) -> None:
        self.errors.append(f"pageerror: {error}")

    def errors_except(self, *patterns: str) -> list[str]:
        """The errors not matching any regex in `patterns` (e.g. an intended 422 page)."""
        return [e for e in self.errors if not any(re.search(p, e) for p in patterns)]


@pytest.fixture
def context(browser, server):
    """A fresh context (no cookies, no storage) per test, rooted at the server."""
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(context, console):
    """A new page whose console errors are collected in the `console` fixture."""
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_pageerror)
    yield page
    page.close()


@pytest.fixture
def screenshot(page, tmp_path):
    """``screenshot(name)``: full-page PNG in tmp_path, copied to /tmp/vigil-screens for people."""
    def take(name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        SCREENS_COPY_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENS_COPY_DIR / path.name)
        return path
    return take
