"""Scenario 1: `helm install` with a newcomer's values gives Ready pods in a namespace that
enforces the restricted Pod Security level; migrations ran once; the web pods' init
container waited for the schema; `helm test` passes."""
from __future__ import annotations

import time
from datetime import datetime

JOB_POD_START_S = 120  # a Job pod still waiting for a container after this is stuck


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_namespace_enforces_restricted_pod_security(cluster):
    labels = cluster.get("namespace", cluster.namespace, namespace="default")["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"


def _container_statuses(pod: dict) -> list[dict]:
    return pod["status"].get("initContainerStatuses", []) + pod["status"].get("containerStatuses", [])


def _migrated_at(cluster) -> float:
    """When the migration Job's db-upgrade step exited: the schema was at head from then on.

    Not the Job's completionTime: the steps after db-upgrade (create-admin, seed) and the
    Job controller's bookkeeping come later, by seconds on a loaded node, while the web pods
    go on as soon as the schema is there."""
    job = cluster.get("jobs", "-l", cluster.selector("migration"))["items"][0]
    pods = cluster.get("pods", "-l", f"batch.kubernetes.io/job-name={job['metadata']['name']}")["items"]
    finished = [status["state"]["terminated"] for pod in pods
                for status in _container_statuses(pod)
                if status["name"] == "db-upgrade" and status["state"].get("terminated", {}).get("exitCode") == 0]
    assert finished, f"no pod of {job['metadata']['name']} finished db-upgrade"
    return min(_time(state["finishedAt"]).timestamp() for state in finished)


def test_every_pod_is_ready_or_a_finished_job(cluster):
    pods = cluster.get("pods")["items"]
    assert pods
    migrated_at = _migrated_at(cluster)
    now = time.time()
    early_failures = []
    for pod in pods:
        phase = pod["status"]["phase"]
        job_pod = "batch.kubernetes.io/job-name" in pod["metadata"]["labels"]
        if phase == "Succeeded":
            continue  # Job pods: migrations, CronJob runs
        if job_pod and phase in ("Pending", "Running"):
            # A CronJob run in progress (check-monitors fires every minute): not Ready while it
            # starts or once its container has exited, by design; but not stuck either (an
            # image that cannot be pulled offline stays "ContainerCreating", hence the age).
            age = now - _time(pod["metadata"]["creationTimestamp"]).timestamp()
            waiting = {s["name"]: s["state"]["waiting"].get("reason")
                       for s in _container_statuses(pod) if "waiting" in s["state"]}
            stuck = [f"{name}: {reason} after {age:.0f}s" for name, reason in waiting.items()
                     if age > JOB_POD_START_S or reason not in ("ContainerCreating", "PodInitializing")]
            assert not stuck, f"{pod['metadata']['name']}: {stuck}"
            continue
        if phase == "Failed" and job_pod:
            # A CronJob that fires in the install's first minute finds no schema yet and fails
            # that one slot (its log says so); after the migrations, none may fail.
            started = _time(pod["status"]["startTime"]).timestamp()
            assert started < migrated_at, f"{pod['metadata']['name']} failed after the migrations"
            early_failures.append(pod["metadata"]["name"])
            continue
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}.get("Ready")
        assert phase == "Running" and ready == "True", f"{pod['metadata']['name']}: {phase}, Ready={ready}"
    web = cluster.pods("web")
    assert len(web) == 3, [p["metadata"]["name"] for p in web]
    cluster.record(install_early_cronjob_failures=len(early_failures))


def test_migrations_ran_exactly_once(cluster):
    jobs = cluster.get("jobs", "-l", cluster.selector("migration"))["items"]
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    assert jobs[0]["status"].get("succeeded") == 1
    assert not jobs[0]["status"].get("failed"), "the migration Job needed a retry"
    revision = cluster.sql("SELECT version_num FROM alembic_version")
    assert len(revision) == 1, revision


def test_web_pods_waited_for_the_schema(cluster):
    migrated_at = _migrated_at(cluster)
    waited = 0
    for pod in cluster.pods("web"):
        init = next(s for s in pod["status"]["initContainerStatuses"] if s["name"] == "wait-for-schema")
        finished = init["state"]["terminated"]
        assert finished["exitCode"] == 0
        # Container exits are recorded to the second, and db-upgrade's a moment after its commit.
        assert _time(finished["finishedAt"]).timestamp() >= migrated_at - 10
        log = cluster.kubectl("logs", pod["metadata"]["name"], "-c", "wait-for-schema")
        assert "database schema is at head" in log
        if _time(pod["status"]["startTime"]).timestamp() < migrated_at - 10:
            assert "waiting for migrations" in log, f"{pod['metadata']['name']} started before the schema was ready"
            waited += 1
    assert waited, "no web pod started before the migrations finished: nothing shows the wait"


def test_helm_test_passes(cluster):
    out = cluster.helm("test", cluster.release, "--logs")
    assert "Phase:          Succeeded" in out or "Succeeded" in out, out
