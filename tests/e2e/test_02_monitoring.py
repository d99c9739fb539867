"""Scenario 2: a person, in Chromium through the ingress, logs in with the password read the
way NOTES.txt says, adds a monitor for a Service in the cluster, and sees it turn Up after a
first check that came within seconds of saving (a Job started from the CronJob, as Run now
does) and scheduled checks in a CronJob's Job pods (recorded with the pod's name and its
slot); then the target breaks, and the monitor turns Down (after two failed checks, the
default threshold) with an incident."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from testkit.chromium import login
from testkit.polling import wait_for
from tests.e2e import target

MONITOR = "e2e target"
# check-monitors fires every minute; a Job pod then starts and checks what is due.
CHECK_WITHIN = 150
# Saving a monitor starts a Job from the CronJob at once: a pod start, not a minute.
FIRST_CHECK_WITHIN = 45


@pytest.fixture(scope="module")
def target_service(cluster):
    cluster.kubectl("apply", "-f", "-", input=target.manifest(f"vigil:{cluster.tag}"))
    cluster.kubectl("rollout", "status", f"deploy/{target.NAME}", "--timeout=120s")
    yield f"http://{target.NAME}.{cluster.namespace}.svc.cluster.local/"
    cluster.kubectl("delete", "-f", "-", "--wait=false", input=target.manifest(f"vigil:{cluster.tag}"),
                    check=False)


def _state(page) -> str:
    page.reload()
    return page.locator("h1 .badge").inner_text()


def _run_of_check(cluster, checked_at: str) -> tuple[str, str, str]:
    """(slot, trigger, Job name) of the one succeeded check-monitors run that made the check."""
    runs = cluster.sql(
        "SELECT host, slot, `trigger` FROM job_runs WHERE job = 'check-monitors' AND status = 'succeeded'"
        f" AND started_at <= '{checked_at}' AND finished_at >= '{checked_at}'")
    assert len(runs) == 1, runs
    host, slot, trigger = runs[0]
    pod = cluster.get("pod", host.split("/")[0])
    return slot, trigger, pod["metadata"]["labels"]["batch.kubernetes.io/job-name"]


def _owner(cluster, job_name: str) -> tuple[str, str]:
    owner = cluster.get("job", job_name)["metadata"]["ownerReferences"][0]
    return owner["kind"], owner["name"]


def test_a_monitor_turns_up_then_down_through_the_ingress(cluster, page, target_service):
    page.goto("/login")
    login(page, cluster.admin_password)
    page.get_by_role("link", name="Add monitor").click()
    page.get_by_label("Name").fill(MONITOR)
    page.get_by_label("URL").fill(target_service)
    page.get_by_label("Check every").select_option("1")
    page.get_by_label("Timeout (seconds)").fill("3")
    created_at = datetime.now(timezone.utc).replace(tzinfo=None)
    page.get_by_role("button", name="Add monitor").click()
    page.wait_for_url(re.compile(r"/monitors/\d+$"))
    monitor_id = int(page.url.rsplit("/", 1)[1])

    assert wait_for(lambda: _state(page) == "Up", timeout=CHECK_WITHIN, interval=5), \
        f"monitor still {_state(page)} after {CHECK_WITHIN}s"

    # The first check came within seconds, not at the next minute: saving the monitor asked for
    # a check-monitors run (a Job from the CronJob, as Run now makes), unless a scheduled run
    # that started meanwhile got there first. Either way it ran in a Job pod of the CronJob.
    first_checked_at = cluster.sql(f"SELECT MIN(checked_at) FROM check_results WHERE monitor_id = {monitor_id}")[0][0]
    waited = datetime.fromisoformat(first_checked_at) - created_at
    assert waited < timedelta(seconds=FIRST_CHECK_WITHIN), f"the first check came {waited} after saving"
    _, first_trigger, first_job = _run_of_check(cluster, first_checked_at)
    assert first_trigger in ("manual", "schedule"), first_trigger
    assert _owner(cluster, first_job) == ("CronJob", f"{cluster.fullname}-check-monitors")

    # A scheduled check ran in a Job pod of the check-monitors CronJob, for that Job's slot:
    # the run row names the pod, the pod belongs to a Job the CronJob made, and the slot is
    # the one the CronJob encoded in the Job's name.
    def scheduled_check():
        rows = cluster.sql(
            f"SELECT c.checked_at FROM check_results c JOIN job_runs r ON r.job = 'check-monitors'"
            f" AND r.status = 'succeeded' AND r.`trigger` = 'schedule' AND r.started_at <= c.checked_at"
            f" AND r.finished_at >= c.checked_at WHERE c.monitor_id = {monitor_id} ORDER BY c.checked_at LIMIT 1")
        return rows[0][0] if rows else None

    checked_at = wait_for(scheduled_check, timeout=CHECK_WITHIN, interval=5)
    assert checked_at, f"no scheduled check within {CHECK_WITHIN}s"
    slot, trigger, job_name = _run_of_check(cluster, checked_at)
    assert _owner(cluster, job_name) == ("CronJob", f"{cluster.fullname}-check-monitors")
    scheduled = datetime.fromtimestamp(int(job_name.rsplit("-", 1)[1]) * 60, tz=timezone.utc)
    assert slot.split(".")[0] == scheduled.strftime("%Y-%m-%d %H:%M:%S"), (slot, job_name)
    assert trigger == "schedule"
    assert datetime.fromisoformat(checked_at) >= created_at.replace(microsecond=0)

    cluster.kubectl("scale", f"deploy/{target.NAME}", "--replicas=0")
    assert wait_for(lambda: _state(page) == "Down", timeout=CHECK_WITHIN + 60, interval=5), \
        f"monitor still {_state(page)} after the target went away"
    incidents = cluster.sql(f"SELECT resolved_at FROM incidents WHERE monitor_id = {monitor_id}")
    assert incidents and incidents[-1][0] == "NULL", incidents
    assert "Open" in page.locator("ul.incidents").inner_text()
