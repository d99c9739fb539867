"""Scenario 2: a person, in Chromium through the ingress, logs in with the password read the
way NOTES.txt says, adds a monitor for a Service in the cluster, and sees it turn Up after a
check that ran in a CronJob's Job pod (recorded with that pod's name and its slot); then the
target breaks, and the monitor turns Down with an incident."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from testkit.chromium import login
from testkit.polling import wait_for
from tests.e2e import target

MONITOR = "e2e target"
# check-monitors fires every minute; a Job pod then starts and checks what is due.
CHECK_WITHIN = 150


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

    # The check that made it Up ran in a Job pod of the check-monitors CronJob, for that
    # Job's slot: the run row names the pod, the pod belongs to a Job the CronJob made, and
    # the slot is the one the CronJob encoded in the Job's name.
    checked_at = cluster.sql(f"SELECT MIN(checked_at) FROM check_results WHERE monitor_id = {monitor_id}")[0][0]
    runs = cluster.sql(
        "SELECT host, slot, `trigger` FROM job_runs WHERE job = 'check-monitors' AND status = 'succeeded'"
        f" AND started_at <= '{checked_at}' AND finished_at >= '{checked_at}'")
    assert len(runs) == 1, runs
    host, slot, trigger = runs[0]
    pod_name = host.split("/")[0]
    pod = cluster.get("pod", pod_name)
    job_name = pod["metadata"]["labels"]["batch.kubernetes.io/job-name"]
    job = cluster.get("job", job_name)
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("CronJob", f"{cluster.fullname}-check-monitors")
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
