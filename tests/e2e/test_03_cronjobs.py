"""Scenario 3: CronJobs fire on their schedule; a second Job for a slot that already ran is
skipped; Run now in the UI creates a Job through the API with the web pod's own
ServiceAccount (so the chart's Role is proven by the real thing); check-monitors' template,
run as an Indexed Job of two shards on the kubelet, checks every monitor once."""
from __future__ import annotations

import copy
import json
import re
import time

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


def test_two_shards_of_the_indexed_job_check_every_monitor_once(cluster):
    """The chart's check-monitors template with completions = parallelism = 2 (what
    `jobs.check-monitors.shards: 2` renders): Kubernetes gives each pod its
    JOB_COMPLETION_INDEX, each shard claims its own run, and together they check every
    enabled monitor exactly once. The slot is a week ahead, so every monitor is due and no
    scheduled run shares it."""
    template = copy.deepcopy(cluster.get("cronjob", f"{cluster.fullname}-{JOB}")["spec"]["jobTemplate"])
    assert template["spec"]["completionMode"] == "Indexed"
    minute = int(time.time() // 60) + 7 * 24 * 60
    name = f"e2e-shards-{minute}"
    spec = template["spec"]
    spec["completions"] = spec["parallelism"] = 2
    for container in spec["template"]["spec"]["containers"]:
        container["env"] = [e for e in container.get("env", []) if e["name"] != "VIGIL_JOB_SHARDS"] + [
            {"name": "VIGIL_JOB_SHARDS", "value": "2"}]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}
    enabled = int(cluster.sql("SELECT COUNT(*) FROM monitors WHERE enabled = 1")[0][0])
    assert enabled >= 2, "too few monitors to split"
    cluster.kubectl("create", "-f", "-", input=json.dumps(job))
    try:
        cluster.kubectl("wait", f"job/{name}", "--for=condition=Complete", "--timeout=150s", timeout=180)
        runs = cluster.sql(f"SELECT shard, shards, status, message FROM job_runs WHERE job = '{JOB}' "
                           f"AND slot = FROM_UNIXTIME({minute * 60}) ORDER BY shard")
        assert [(shard, shards, status) for shard, shards, status, _ in runs] == [
            ("0", "2", "succeeded"), ("1", "2", "succeeded")], runs
        # Each due monitor is checked by one shard, or left for the next run if time ran out.
        seen = [int(re.match(r"checked (\d+) monitors", message).group(1))
                + int((re.search(r"(\d+) left for the next run", message) or [0, 0])[1]) for *_, message in runs]
        assert sum(seen) == enabled, (runs, enabled)
    finally:
        cluster.kubectl("delete", "job", name, "--wait=false", check=False)
