"""Session replay in a real browser: a cookie jar copied while signed in opens nothing
after logout, after "sign out everywhere", or (for other browsers) after a password change."""
from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from testkit.chromium import login

pytestmark = pytest.mark.browser

PRIVATE = "/account/tokens"
NEW_PASSWORD = "a brand new browser passphrase"


def signed_in(context: BrowserContext, password: str) -> Page:
    page = context.new_page()
    page.goto("/login")
    login(page, password)
    expect(page.get_by_role("status")).to_contain_text("Signed in as admin.")
    return page


def replay_lands_on_login(browser, server, cookies) -> bool:
    """A second browser with the copied cookies: is it sent to sign in?"""
    thief = browser.new_context(base_url=server.base_url)
    try:
        thief.add_cookies(cookies)
        page = thief.new_page()
        page.goto(PRIVATE)
        return page.url.split("?")[0].endswith("/login")
    finally:
        thief.close()


def test_replay_after_logout(browser, server, context):
    page = signed_in(context, server.password)
    saved = context.cookies()
    assert not replay_lands_on_login(browser, server, saved)  # the copy works while signed in
    page.get_by_role("button", name="Sign out (admin)").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out.")
    assert replay_lands_on_login(browser, server, saved)


def test_replay_after_sign_out_everywhere(browser, server, context):
    other = browser.new_context(base_url=server.base_url)
    try:
        other_page = signed_in(other, server.password)
        page = signed_in(context, server.password)
        saved = context.cookies()
        page.get_by_role("link", name="Account").click()
        page.get_by_role("link", name="Sign out everywhere…").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign out everywhere?")
        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page.get_by_role("status")).to_contain_text("Signed out everywhere.")
        other_page.goto(PRIVATE)
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        assert other_page.url.split("?")[0].endswith("/login")
        assert replay_lands_on_login(browser, server, saved)
    finally:
        other.close()


def test_replay_after_a_password_change(browser, server, context):
    """Last in this module: it changes the admin's password."""
    other = browser.new_context(base_url=server.base_url)
    try:
        signed_in(other, server.password)
        stolen = other.cookies()
        page = signed_in(context, server.password)
        page.goto("/account")
        page.get_by_label("Current password").fill(server.password)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status")).to_contain_text("1 other session signed out.")
        page.goto(PRIVATE)
        expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")  # this one stays
        assert replay_lands_on_login(browser, server, stolen)
    finally:
        other.close()
