"""One CronJob per cron job of the registry, from the values `python -m app.jobs export`
writes, with the CronJob defaults of ARCHITECTURE.md. (cronjobs/ and k8s/base are renders
of this template: tests/chart/test_generated.py keeps them fresh, file for file.)"""
from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
import yaml

from app.jobs import registry
from app.jobs.schedule import period_seconds
from tests.chart.chart import DEV, PROD, REPO, container, env_of, find, one, render, values_yaml


@functools.lru_cache(maxsize=1)
def exported_values() -> dict:
    """The CLI contract itself, not the Python function: what `make manifests` runs."""
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_EXTRA_JOBS"}
    out = subprocess.run([sys.executable, "-m", "app.jobs", "export", "--format", "values", "--output", "-"],
                         capture_output=True, text=True, check=True, cwd=REPO, env=env).stdout
    return yaml.safe_load(out)


def cronjobs(files=PROD, values=None):
    return {c["metadata"]["labels"]["vigil.dev/job"]: c for c in find(render(files, values), "CronJob")}


def test_values_jobs_block_is_what_the_registry_exports():
    assert values_yaml()["jobs"] == exported_values()["jobs"]


def test_one_cronjob_per_cron_job_with_the_exported_timing():
    jobs = exported_values()["jobs"]
    rendered = cronjobs()
    assert sorted(rendered) == sorted(jobs) == [j.name for j in registry.cron_jobs()]
    for name, job in jobs.items():
        spec = rendered[name]["spec"]
        assert rendered[name]["metadata"]["name"] == f"vigil-{name}"
        assert spec["schedule"] == job["schedule"]
        assert spec["startingDeadlineSeconds"] == job["startingDeadlineSeconds"]
        assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == job["activeDeadlineSeconds"]
        assert spec["jobTemplate"]["spec"]["backoffLimit"] == job["backoffLimit"]
        assert rendered[name]["metadata"]["annotations"]["vigil.dev/description"] == job["description"]


def test_timers_get_no_cronjob():
    assert not set(cronjobs()) & {j.name for j in registry.timer_jobs()}


@pytest.mark.parametrize("name", [j.name for j in registry.cron_jobs()])
def test_active_deadline_is_below_the_period(name):
    job = cronjobs()[name]
    period = period_seconds(job["spec"]["schedule"])
    assert job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < period
    assert job["spec"]["startingDeadlineSeconds"] < period


@pytest.mark.parametrize("name", [j.name for j in registry.cron_jobs()])
def test_cronjob_defaults(name):
    spec = cronjobs()[name]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["timeZone"] == "Etc/UTC"
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 3)
    assert spec["suspend"] is False
    job = spec["jobTemplate"]["spec"]
    assert job["ttlSecondsAfterFinished"] == 3600
    assert job["podFailurePolicy"] == {"rules": [
        {"action": "FailJob", "onExitCodes": {"containerName": "job", "operator": "In", "values": [2]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    c = container(pod, "job")
    assert c["args"] == ["python", "-m", "app.jobs", "run", name]
    env = env_of(c)
    assert env["VIGIL_JOB_NAME"] == {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert "VIGIL_TIMER_BACKEND" not in env
    assert c["envFrom"] == [{"configMapRef": {"name": "vigil"}}, {"secretRef": {"name": "vigil"}}]
    labels = job["template"]["metadata"]["labels"]
    assert labels["vigil.dev/job"] == name and labels["app.kubernetes.io/component"] == "job"


def test_suspend_one_or_all():
    assert cronjobs(PROD, {"jobs.prune-history.suspend": True})["prune-history"]["spec"]["suspend"] is True
    assert cronjobs(PROD, {"jobs.prune-history.suspend": True})["rollup-stats"]["spec"]["suspend"] is False
    assert all(c["spec"]["suspend"] for c in cronjobs(PROD, {"cronJobs.suspendAll": True}).values())


def test_cronjob_settings():
    spec = cronjobs(DEV, {"cronJobs": {"ttlSecondsAfterFinished": 60, "successfulJobsHistoryLimit": 1,
                                        "resources": {"limits": {"memory": "1Gi"}}}})["rollup-stats"]["spec"]
    assert spec["successfulJobsHistoryLimit"] == 1
    assert spec["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] == 60
    assert container(spec["jobTemplate"]["spec"]["template"]["spec"], "job")["resources"]["limits"] == {"memory": "1Gi"}


def test_a_new_registry_job_becomes_a_cronjob():
    """Adding a job is a values change only: the template needs no edit."""
    extra = {"jobs.nightly-report": {"schedule": "0 2 * * *", "description": "d", "activeDeadlineSeconds": 600,
                                      "startingDeadlineSeconds": 600, "backoffLimit": 1}}
    objects = render(PROD, extra)
    job = one(objects, "CronJob", "vigil-nightly-report")
    assert container(job["spec"]["jobTemplate"]["spec"]["template"]["spec"], "job")["args"][-1] == "nightly-report"
    assert "vigil-nightly-report" in one(objects, "Role")["rules"][1]["resourceNames"]
