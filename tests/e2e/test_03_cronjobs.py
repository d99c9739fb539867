"""Scenario 3: CronJobs fire on their schedule; a second Job for a slot that already ran is
skipped; Run now in the UI creates a Job through the API with the web pod's own
ServiceAccount (so the chart's Role is proven by the real thing)."""
from __future__ import annotations

import re

from testkit.chromium import login
from testkit.polling import wait_for

JOB = "check-monitors"


def _scheduled_jobs(cluster) -> list[dict]:
    cronjob = f"{cluster.fullname}-{JOB}"
    jobs = cluster.get("jobs")["items"]
    # Scheduled Jobs are named <cronjob>-<minutes since the epoch>; Run now's end in letters.
    return [j for j in jobs if re.fullmatch(re.escape(cronjob) + r"-\d{7,10}", j["metadata"]["name"])]


def test_cronjob_fires_every_minute(cluster):
    cronjob = cluster.get("cronjob", f"{cluster.fullname}-{JOB}")
    assert cronjob["spec"]["schedule"] == "* * * * *"
    before = {j["metadata"]["name"] for j in _scheduled_jobs(cluster)}
    new = wait_for(lambda: [j for j in _scheduled_jobs(cluster) if j["metadata"]["name"] not in before
                            and j["status"].get("succeeded")], timeout=150, interval=5)
    assert new, f"no new Job of {JOB} succeeded within 150 s"
    suffixes = sorted(int(j["metadata"]["name"].rsplit("-", 1)[1]) for j in _scheduled_jobs(cluster))
    assert len(suffixes) == len(set(suffixes)), "two Jobs for one scheduled minute"


def test_a_second_job_for_the_same_slot_is_skipped(cluster):
    done = [j for j in _scheduled_jobs(cluster) if j["status"].get("succeeded")]
    assert done, "no finished scheduled Job to repeat"
    first = max(done, key=lambda j: j["metadata"]["name"])
    minute = first["metadata"]["name"].rsplit("-", 1)[1]
    # The same template under another name that encodes the same scheduled minute: what a
    # CronJob controller that fired twice, or a person's `kubectl create job --from`, makes.
    duplicate = f"e2e-dup-{minute}"
    cluster.kubectl("create", "job", f"--from=cronjob/{cluster.fullname}-{JOB}", duplicate)
    try:
        cluster.kubectl("wait", f"job/{duplicate}", "--for=condition=Complete", "--timeout=120s", timeout=150)
        log = cluster.kubectl("logs", f"job/{duplicate}")
        assert "skipped" in log.lower(), log
        runs = cluster.sql(f"SELECT status, COUNT(*) FROM job_runs WHERE job = '{JOB}' AND slot = "
                           f"FROM_UNIXTIME({int(minute) * 60}) GROUP BY status")
        statuses = dict((status, int(count)) for status, count in runs)
        assert statuses.get("succeeded") == 1, statuses
    finally:
        cluster.kubectl("delete", "job", duplicate, "--wait=false", check=False)


def test_run_now_creates_a_job_with_the_web_pods_service_account(cluster, page):
    page.goto("/login")
    login(page, cluster.admin_password)
    page.goto(f"/jobs/{JOB}")
    before = {j["metadata"]["name"] for j in cluster.get("jobs")["items"]}
    page.get_by_role("button", name="Run now").click()
    flash = page.locator(".flash").first.inner_text()
    match = re.search(r"Started Job (\S+?)\.?$", flash)
    assert match, flash
    name = match.group(1)
    assert name not in before
    job = cluster.get("job", name)
    # Nothing in the web pod but its ServiceAccount token could have made this Job, and the
    # Role allows exactly that.
    assert cluster.kubectl("auth", "can-i", "create", "jobs",
                           f"--as=system:serviceaccount:{cluster.namespace}:{cluster.fullname}").strip() == "yes"
    assert cluster.kubectl("auth", "can-i", "create", "jobs", f"--as=system:serviceaccount:{cluster.namespace}:default",
                           check=False).strip() == "no"
    cluster.kubectl("wait", f"job/{name}", "--for=condition=Complete", "--timeout=120s", timeout=150)
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    assert env.get("VIGIL_JOB_TRIGGER") == "manual", env
    pod = cluster.get("pods", "-l", f"batch.kubernetes.io/job-name={name}")["items"][0]["metadata"]["name"]
    runs = cluster.sql(f"SELECT `trigger`, status FROM job_runs WHERE host LIKE '{pod}/%'")
    assert runs == [["manual", "succeeded"]], runs
