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
from tests.chart.chart import (CHART, DEV, PROD, REPO, container, env_of, find, one, render, render_error,
                               values_yaml)


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
    # Vigil's own jobs: another test may have registered test jobs in this process.
    builtin = [j.name for j in registry.cron_jobs() if j.func.__module__ in registry.BUILTIN_MODULES]
    assert sorted(rendered) == sorted(jobs) == builtin
    for name, job in jobs.items():
        spec = rendered[name]["spec"]
        assert rendered[name]["metadata"]["name"] == f"vigil-{name}"
        assert spec["schedule"] == job["schedule"]
        assert spec["startingDeadlineSeconds"] == job["startingDeadlineSeconds"]
        assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == job["activeDeadlineSeconds"]
        if "shards" in job:  # an Indexed Job: retries per shard instead (test_sharded_* below)
            assert spec["jobTemplate"]["spec"]["backoffLimitPerIndex"] == job["backoffLimitPerIndex"]
        else:
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


# --- check-monitors as an Indexed Job ------------------------------------------------------

SHARDED = sorted(j.name for j in registry.cron_jobs() if j.sharded)


def test_only_check_monitors_is_sharded_and_it_exports_one_shard():
    assert SHARDED == ["check-monitors"]
    exported = exported_values()["jobs"]
    assert exported["check-monitors"]["shards"] == 1 and exported["check-monitors"]["backoffLimitPerIndex"] == 1
    assert not any("shards" in job for name, job in exported.items() if name not in SHARDED)


def _job_spec(values=None, files=PROD, name="check-monitors"):
    return cronjobs(files, values)[name]["spec"]["jobTemplate"]["spec"]


def test_check_monitors_is_an_indexed_job_of_one_shard_by_default():
    job = _job_spec()
    assert (job["completionMode"], job["completions"], job["parallelism"]) == ("Indexed", 1, 1)
    assert job["backoffLimitPerIndex"] == 1 and "backoffLimit" not in job
    env = env_of(container(job["template"]["spec"], "job"))
    assert env["VIGIL_JOB_SHARDS"] == "1"
    assert "JOB_COMPLETION_INDEX" not in env  # Kubernetes sets it in every pod of an Indexed Job
    # The rules that hold for every CronJob hold here too.
    assert job["podFailurePolicy"]["rules"][0]["action"] == "FailJob"
    assert container(job["template"]["spec"], "job")["args"] == ["python", "-m", "app.jobs", "run", "check-monitors"]


def test_one_value_sets_parallelism_completions_and_the_shard_count():
    job = _job_spec({"jobs.check-monitors.shards": 3})
    assert (job["completionMode"], job["completions"], job["parallelism"]) == ("Indexed", 3, 3)
    assert env_of(container(job["template"]["spec"], "job"))["VIGIL_JOB_SHARDS"] == "3"
    # The other jobs stay plain Jobs of one pod.
    for name in ("prune-history", "rollup-stats"):
        other = _job_spec({"jobs.check-monitors.shards": 3}, name=name)
        assert "completionMode" not in other and "VIGIL_JOB_SHARDS" not in env_of(
            container(other["template"]["spec"], "job"))


def test_backoff_limit_per_index_is_served_by_every_kubernetes_the_chart_allows():
    """On by default since Kubernetes 1.29 (beta; GA in 1.33): the chart's floor must not go below."""
    floor = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    major, minor = floor.lstrip(">= ").split("-")[0].split(".")[:2]
    assert (int(major), int(minor)) >= (1, 29), floor


@pytest.mark.parametrize("values", [{"jobs.check-monitors.shards": 0}, {"jobs.check-monitors.shards": 101},
                                    {"jobs.check-monitors.shards": "2"},
                                    # a job the registry does not shard cannot be given shards alone
                                    {"jobs.prune-history.shards": 2}])
def test_the_schema_refuses_impossible_shard_counts(values):
    assert "shards" in render_error(PROD, values)
