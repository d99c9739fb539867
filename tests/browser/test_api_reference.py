"""The API reference page as a person meets it: Swagger UI rendering the served document
under Vigil's Content-Security-Policy, and "Try it out" adding a monitor with a token."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from testkit.chromium import login

pytestmark = pytest.mark.browser


def _token(server, page: Page) -> str:
    page.goto("/account/tokens")
    page.get_by_label("What is it for?").fill("reference page")
    page.get_by_role("button", name="Create token").click()
    return page.get_by_label("Your new token (shown once)").input_value()


def test_the_reference_renders_and_try_it_out_writes(page: Page, server, console, screenshot):
    page.goto("/login")
    login(page, server.password)
    token = _token(server, page)

    page.goto("/api/v1/reference")
    expect(page.get_by_role("heading", name="API reference")).to_be_visible()
    add = page.locator(".opblock-post", has_text=re.compile(r"/api/v1/monitors\s*Add a monitor"))
    expect(add).to_be_visible()
    paths = requests.get(f"{server.base_url}/api/v1/openapi.json", timeout=10).json()["paths"]
    expect(page.locator(".opblock")).to_have_count(sum(len(operations) for operations in paths.values()))
    assert screenshot("api-reference").stat().st_size > 1000

    page.get_by_role("button", name=re.compile("^Authorize")).first.click()
    page.locator(".modal-ux input").fill(token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    add.locator(".opblock-summary").click()
    add.get_by_role("button", name="Try it out").click()
    add.locator("textarea.body-param__text").fill(
        '{"name": "From the reference", "url": "http://127.0.0.1:9/health"}')
    add.get_by_role("button", name="Execute").click()
    expect(add.locator(".live-responses-table tbody .response-col_status").first).to_have_text(re.compile(r"^\s*201"))

    page.goto("/")
    expect(page.get_by_role("link", name="From the reference", exact=True)).to_be_visible()
    assert console.errors == [], "\n".join(console.errors)
