"""API tokens as a person meets them: create on the page, copy, use from a script, revoke."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from testkit.chromium import login

pytestmark = pytest.mark.browser


def test_create_use_and_revoke_a_token(page: Page, server, console, screenshot):
    page.goto("/login")
    login(page, server.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()

    page.get_by_label("What is it for?").fill("deploy pipeline")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("Your new token (shown once)")
    expect(shown).to_have_value(re.compile(r"^vigil_[A-Za-z0-9_-]{40,}$"))
    token = shown.input_value()
    assert screenshot("api-tokens").stat().st_size > 1000
    expect(page.get_by_role("row", name=re.compile("deploy pipeline"))).to_contain_text(token[:12])

    created = requests.post(f"{server.base_url}/api/v1/monitors", timeout=10,
                            json={"name": "From a script", "url": "http://127.0.0.1:9/x"},
                            headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text
    page.goto("/")
    expect(page.get_by_role("link", name="From a script", exact=True)).to_be_visible()

    page.goto("/account/tokens")
    expect(page.get_by_label("Your new token (shown once)")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("deploy pipeline"))).not_to_contain_text("never")
    page.get_by_role("link", name="Revoke deploy pipeline").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revoke the token")
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Token revoked.")
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()
    refused = requests.delete(server.base_url + created.headers["Location"], timeout=10,
                              headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert console.errors == [], "\n".join(console.errors)
