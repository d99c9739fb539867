"""The UI as a person meets it, in headless Chromium against a real gunicorn.

Unit tests cover the form rules and views one by one; these tests check what only
a browser shows: that the pieces join up into a flow (field errors appear next to
the field and keep the other values, flashes survive redirects, links lead where
they say), that the pages are usable with assistive technology, and that the
strict Content-Security-Policy breaks nothing (a violation is a console error).

Order matters a little: the logged-out test runs first, on the module's still
empty database, because the only "Add monitor" link a visitor sees is the
dashboard's empty state.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from testkit.chromium import login

pytestmark = pytest.mark.browser

BAD_URL = "ftp://example.invalid/"
BAD_URL_ERROR = "Use an http:// or https:// URL."
GOOD_URL = "http://127.0.0.1:9/x"  # loopback, discard port: nothing outside is ever probed
LABELS = ["Name", "URL", "Method", "Check every", "Timeout (seconds)", "Lowest expected status",
          "Highest expected status", "Keyword in the body (optional)", "Enabled"]


def field(page: Page, label: str):
    return page.get_by_label(label, exact=True)


def sign_in_and_open_form(page: Page, password: str) -> None:
    page.goto("/login")
    login(page, password)
    expect(page.get_by_role("status")).to_contain_text("Signed in as admin.")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Add monitor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add monitor")


def fill_monitor(page: Page, name: str, url: str) -> None:
    """Fill every field with a non-default value, so "values are kept" means something."""
    field(page, "Name").fill(name)
    field(page, "URL").fill(url)
    field(page, "Method").select_option("HEAD")
    field(page, "Check every").select_option(label="15 minutes")
    field(page, "Timeout (seconds)").fill("7")
    field(page, "Lowest expected status").fill("200")
    field(page, "Highest expected status").fill("204")
    field(page, "Keyword in the body (optional)").fill("pong")
    field(page, "Enabled").uncheck()


def submit(page: Page) -> None:
    page.locator("main form").get_by_role("button", name="Add monitor").click()


def delete_from_detail(page: Page, name: str, *, cancel_first: bool = False) -> None:
    """Delete asks on a page of its own (no JavaScript needed); Cancel goes back unharmed."""
    detail_url = page.url
    if cancel_first:
        page.get_by_role("main").get_by_role("link", name="Delete", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete the monitor “{name}”?")
        page.get_by_role("link", name="Cancel").click()
        expect(page).to_have_url(detail_url)
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.get_by_role("main").get_by_role("link", name="Delete", exact=True).click()
    expect(page).to_have_url(re.compile(r"/monitors/\d+/delete$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete the monitor “{name}”?")
    page.get_by_role("button", name="Delete monitor").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Monitor “{name}” deleted.")


def test_logged_out_visitor_is_sent_to_login_and_back(page: Page, server):
    """Public dashboard; a change needs a login; a wrong password says so; `next` is honoured."""
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Add monitor")).to_have_count(0)
    page.get_by_role("main").get_by_role("link", name="Add monitor").click()

    expect(page).to_have_url(re.compile(r"/login\?next=%2Fmonitors%2Fnew"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    login(page, "not the password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_text("The user name or password is wrong.")).to_be_visible()
    expect(field(page, "Password")).to_have_attribute("aria-invalid", "true")

    login(page, server.password)
    expect(page).to_have_url(re.compile(r"/monitors/new$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Add monitor")
    expect(page.get_by_role("status")).to_contain_text("Signed in as admin.")


def test_accessibility_basics_and_no_console_errors(page: Page, server, console):
    """Labels, one h1 per page, aria-invalid on the bad field, and a clean console (CSP)."""
    page.goto("/")
    expect(page.locator("h1")).to_have_count(1)
    page.goto("/login")
    expect(page.locator("h1")).to_have_count(1)
    sign_in_and_open_form(page, server.password)
    expect(page.locator("h1")).to_have_count(1)

    for label in LABELS:
        expect(field(page, label)).to_have_count(1)
    unlabelled = page.eval_on_selector_all(
        "main form input:not([type=hidden]), main form select, main form textarea",
        "els => els.filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)")
    assert unlabelled == []

    fill_monitor(page, "A11y probe", BAD_URL)
    submit(page)
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(page.locator("h1")).to_have_count(1)
    expect(field(page, "URL")).to_have_attribute("aria-invalid", "true")
    # The error first, then the hint: a screen reader hears what is wrong, then what is expected.
    expect(field(page, "URL")).to_have_accessible_description(
        re.compile("^" + re.escape(BAD_URL_ERROR) + r"\s+An http:// or https:// address\.\s*$"))
    for label in ("Name", "Timeout (seconds)", "Keyword in the body (optional)"):
        expect(field(page, label)).not_to_have_attribute("aria-invalid", "true")

    # Chromium logs any non-2xx document as an error; the form's 422 is intended.
    errors = console.errors_except(r"status of 422 .*@ \S+/monitors/new$")
    assert errors == [], "\n".join(errors)


def test_add_fix_view_and_delete_a_monitor(page: Page, server, console):
    """The issue's flow: a bad URL is explained in place, fixed, saved, listed, opened, deleted."""
    name = "Loopback probe"
    sign_in_and_open_form(page, server.password)
    fill_monitor(page, name, BAD_URL)
    submit(page)

    url_field = page.locator(".field", has=field(page, "URL"))
    expect(url_field.get_by_text(BAD_URL_ERROR)).to_be_visible()
    expect(field(page, "URL")).to_have_value(BAD_URL)
    expect(field(page, "Name")).to_have_value(name)
    expect(field(page, "Method")).to_have_value("HEAD")
    expect(field(page, "Check every")).to_have_value("15")
    expect(field(page, "Timeout (seconds)")).to_have_value(re.compile(r"^7(\.0)?$"))
    expect(field(page, "Lowest expected status")).to_have_value("200")
    expect(field(page, "Highest expected status")).to_have_value("204")
    expect(field(page, "Keyword in the body (optional)")).to_have_value("pong")
    expect(field(page, "Enabled")).not_to_be_checked()

    field(page, "URL").fill(GOOD_URL)
    submit(page)
    expect(page).to_have_url(re.compile(r"/monitors/\d+$"))
    detail_url = page.url
    expect(page.get_by_role("status")).to_contain_text(f"Monitor “{name}” added.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_text(f"HEAD {GOOD_URL}")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    link = page.get_by_role("link", name=name, exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(detail_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    delete_from_detail(page, name, cancel_first=True)
    expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    errors = console.errors_except(r"status of 422 .*@ \S+/monitors/new$")
    assert errors == [], "\n".join(errors)  # also covers the dashboard and detail pages


def test_screenshots(page: Page, server, screenshot):
    """Dashboard, form with an error, and detail page, saved for a person to look at."""
    name = "Screenshot probe"
    sign_in_and_open_form(page, server.password)
    fill_monitor(page, name, BAD_URL)
    submit(page)
    expect(field(page, "URL")).to_have_attribute("aria-invalid", "true")
    shots = [screenshot("form-with-error")]

    field(page, "URL").fill(GOOD_URL)
    submit(page)
    expect(page).to_have_url(re.compile(r"/monitors/\d+$"))
    shots.append(screenshot("detail"))
    detail_url = page.url

    page.goto("/")
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    shots.append(screenshot("dashboard"))
    assert all(path.stat().st_size > 1000 for path in shots)

    page.goto(detail_url)
    delete_from_detail(page, name)


def test_every_error_of_a_field_is_announced(page: Page, server):
    """Two errors on one field (out of range and below the lower bound) must both be described."""
    sign_in_and_open_form(page, server.password)
    fill_monitor(page, "Two errors", GOOD_URL)
    field(page, "Highest expected status").fill("50")
    submit(page)
    expect(page.locator("[id='expected_status_max-error']")).to_have_count(1, timeout=2_000)
    expect(field(page, "Highest expected status")).to_have_accessible_description(
        re.compile(r"between 100 and 599.*must not be below", re.S), timeout=2_000)
