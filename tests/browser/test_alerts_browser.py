"""Alerts as a person sets them up, in headless Chromium against a real gunicorn: add a
channel, send a test, attach it to a monitor, and watch the notification log fill when
the monitor's target goes down.

Everything is real and on loopback: the channel is a JSON webhook receiver
(testkit/alerts.py) that Apprise posts to, the monitor probes a local HTTP server
(testkit/probing.py) whose answer the test flips, and check-monitors runs as its own
process (`python -m app.jobs run check-monitors --slot ...`), as a CronJob pod would,
against the server's database; it sends what it queued right after its commit.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from testkit.alerts import WebhookReceiver
from testkit.chromium import login
from testkit.jobcli import jobs_cli
from testkit.probing import next_slot

pytestmark = pytest.mark.browser


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def run_check_monitors(server, slot) -> None:
    done = jobs_cli("run", "check-monitors", "--slot", slot.isoformat(), env=server.gunicorn.env)
    assert done.returncode == 0, done.stdout + done.stderr


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_channel_test_message_then_the_log_fills_when_the_target_goes_down(
        page: Page, server, console, screenshot, webhook, http_server):
    page.goto("/login")
    login(page, server.password)
    nav(page, "Channels")
    expect(page.get_by_role("heading", level=1)).to_have_text("Channels")
    page.get_by_role("main").get_by_role("link", name="Add channel").first.click()

    # A URL Apprise cannot use is refused next to the field, and the field is not echoed back.
    page.get_by_label("Name").fill("Ops webhook")
    page.get_by_label("Apprise URL").fill("nope://example.invalid/secret-part")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#url-error")).to_contain_text("Apprise cannot send to this nope:// URL")
    expect(page.get_by_label("Apprise URL")).to_have_value("")
    expect(page.get_by_label("Name")).to_have_value("Ops webhook")
    assert "secret-part" not in page.content()

    page.get_by_label("Apprise URL").fill(webhook.url)
    page.get_by_label("Default for new monitors").check()
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_role("status")).to_contain_text("Channel “Ops webhook” added.")
    row = page.get_by_role("row", name=re.compile("Ops webhook"))
    expect(row).to_contain_text(f"json://127.0.0.1:{webhook.port}/…")
    expect(row).not_to_contain_text("/hook")

    page.get_by_role("button", name="Send a test message to Ops webhook").click()
    expect(page.get_by_role("status")).to_contain_text("Test message sent to “Ops webhook”.")
    assert [d.title for d in webhook.deliveries] == ["Vigil test message"]
    assert screenshot("alerts-channels").stat().st_size > 1000

    # A new monitor has the default channel ticked; its target fails from the start.
    http_server.flip_status = 503
    nav(page, "Add monitor")
    page.get_by_label("Name", exact=True).fill("Flaky shop")
    page.get_by_label("URL", exact=True).fill(http_server.base_url + "/flip")
    page.get_by_label("Check every").select_option(label="1 minute")
    expect(page.get_by_label("Down after N failed checks in a row")).to_have_value("2")
    expect(page.get_by_label("Ops webhook")).to_be_checked()
    assert screenshot("alerts-monitor-form").stat().st_size > 1000
    page.locator("main form").get_by_role("button", name="Add monitor").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Flaky shop")
    alerts = page.get_by_role("region", name="Alerts")
    expect(alerts).to_contain_text("Down after 2 failed checks in a row")
    expect(alerts.get_by_role("link", name="Ops webhook")).to_be_visible()
    expect(page.get_by_role("region", name="Notifications")).to_contain_text("No notifications yet.")

    slot = next_slot()
    run_check_monitors(server, slot)  # one failure: below down_after, nothing sent
    page.reload()
    expect(page.get_by_role("region", name="Notifications")).to_contain_text("No notifications yet.")
    run_check_monitors(server, slot + timedelta(minutes=1))
    page.reload()
    log = page.get_by_role("region", name="Notifications").get_by_role("row")
    expect(log).to_have_count(2)  # the header and one notification
    expect(log.nth(1)).to_contain_text("down")
    expect(log.nth(1)).to_contain_text("Ops webhook")
    expect(log.nth(1)).to_contain_text("sent")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Down")
    assert [d.title for d in webhook.deliveries] == ["Vigil test message", "DOWN: Flaky shop"]
    assert screenshot("alerts-notification-log").stat().st_size > 1000

    # One click pauses it, from the detail page, and another resumes it.
    page.get_by_role("button", name="Pause Flaky shop").click()
    expect(page.get_by_role("status")).to_contain_text("Monitor “Flaky shop” paused")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Paused")
    nav(page, "Dashboard")
    page.get_by_role("button", name="Resume Flaky shop").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("Monitor “Flaky shop” resumed.")
    expect(page.get_by_role("button", name="Pause Flaky shop")).to_be_visible()
    assert console.errors_except(r"422") == [], "\n".join(console.errors)
