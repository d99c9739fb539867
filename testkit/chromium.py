"""Headless Chromium for tests that drive the UI: tests/browser (gunicorn on loopback) and
tests/e2e (a kind cluster through its ingress).

Why Debian's /usr/bin/chromium: Playwright's own browser download cannot work here. The
launch flags keep Chromium from talking to anything but the server under test.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from testkit.services import service_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@contextmanager
def headless_chromium() -> Iterator[object]:
    """A Playwright Browser; skipped (laptop) or failed (CI) when Chromium or Playwright is absent."""
    if not os.access(CHROMIUM, os.X_OK):
        service_missing(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(page, password: str, *, user: str = "admin") -> None:
    """Fill and submit the sign-in form on the current page (the login page)."""
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
