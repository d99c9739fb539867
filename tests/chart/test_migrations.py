"""The migration Job (Helm hook, or a plain Job for GitOps) and the web pods' wait for the
schema; the rendered commands are also run for real against a SQLite database."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.chart.chart import DEV, EXISTING, PROD, REPO, container, find, hook, one, render

HOOK_ANNOTATIONS = {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "0",
                    "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}


def migration_job(files=PROD, values=None):
    jobs = [j for j in find(render(files, values), "Job")
            if j["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"]
    assert len(jobs) == 1
    return jobs[0]


def steps(job):
    spec = job["spec"]["template"]["spec"]
    return [(c["name"], c["args"]) for c in spec.get("initContainers", []) + spec["containers"]]


def test_hook_by_default():
    job = migration_job()
    assert job["metadata"]["name"] == "vigil-migrate"
    assert job["metadata"]["annotations"] == HOOK_ANNOTATIONS
    assert steps(job) == [
        ("wait-for-database", ["python", "-m", "flask", "--app", "app", "vigil", "wait-for-database",
                               "--timeout", "900"]),
        ("db-upgrade", ["python", "-m", "flask", "--app", "app", "db", "upgrade"]),
        ("create-admin", ["python", "-m", "flask", "--app", "app", "vigil", "create-admin"]),
        ("seed", ["python", "-m", "flask", "--app", "app", "vigil", "seed"])]
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod, "a pre-install hook runs before the chart's ServiceAccount exists"
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (6, 900)


def test_hook_reads_hook_copies_of_the_configmap_and_secret():
    objects = render(PROD)
    job = migration_job()
    for c in job["spec"]["template"]["spec"]["initContainers"] + job["spec"]["template"]["spec"]["containers"]:
        assert c["envFrom"] == [{"configMapRef": {"name": "vigil-migrate"}}, {"secretRef": {"name": "vigil-migrate"}}]
    for kind in ("ConfigMap", "Secret"):
        copy = one(objects, kind, "vigil-migrate")
        assert copy["metadata"]["annotations"] == {**HOOK_ANNOTATIONS, "helm.sh/hook-weight": "-10"}
        assert copy["data"] == one(objects, kind, "vigil")["data"]


def test_hook_with_existing_secret_copies_only_the_configmap():
    objects = render(EXISTING, {"migrations.asHook": True})
    assert one(objects, "ConfigMap", "vigil-migrate")
    assert not find(objects, "Secret")
    c = container(migration_job(EXISTING, {"migrations.asHook": True})["spec"]["template"]["spec"], "seed")
    assert c["envFrom"] == [{"configMapRef": {"name": "vigil-migrate"}}, {"secretRef": {"name": "vigil-credentials"}}]


def test_plain_job_for_gitops_is_named_after_the_image():
    objects = render(PROD, {"migrations.asHook": False})
    job = migration_job(PROD, {"migrations.asHook": False})
    assert hook(job) is None and not [o for o in objects if hook(o) and hook(o) != "test"]
    assert job["metadata"]["name"].startswith("vigil-migrate-") and len(job["metadata"]["name"]) == len("vigil-migrate-") + 8
    for c in job["spec"]["template"]["spec"]["containers"]:
        assert c["envFrom"] == [{"configMapRef": {"name": "vigil"}}, {"secretRef": {"name": "vigil"}}]
    other = migration_job(PROD, {"migrations.asHook": False, "image.tag": "0.2.0"})
    assert other["metadata"]["name"] != job["metadata"]["name"], "a new image must give a new Job"
    again = migration_job(PROD, {"migrations.asHook": False, "config.historyDays": 3})
    assert again["metadata"]["name"] == job["metadata"]["name"], "the same image keeps the same Job"
    annotated = migration_job(PROD, {"migrations.asHook": False,
                                     "migrations.jobAnnotations": {"argocd.argoproj.io/sync-options": "Replace=true"}})
    assert annotated["metadata"]["annotations"] == {"argocd.argoproj.io/sync-options": "Replace=true"}
    ttl = migration_job(PROD, {"migrations.asHook": False, "migrations.ttlSecondsAfterFinished": 600})
    assert ttl["spec"]["ttlSecondsAfterFinished"] == 600 and "ttlSecondsAfterFinished" not in job["spec"]


def test_in_cluster_mysql_always_gets_a_plain_job():
    """A pre-install hook would wait forever for a MySQL that is created after it."""
    job = migration_job(DEV)
    assert hook(job) is None and job["metadata"]["name"].startswith("vigil-migrate-")
    assert not find(render(DEV), "ConfigMap", "vigil-migrate")


def test_steps_can_be_switched_off():
    names = [n for n, _ in steps(migration_job(PROD, {"migrations.createAdmin": False}))]
    assert names == ["wait-for-database", "db-upgrade", "seed"]
    only = migration_job(PROD, {"migrations.createAdmin": False, "migrations.seed": False})
    assert [n for n, _ in steps(only)] == ["wait-for-database", "db-upgrade"]
    assert only["spec"]["template"]["spec"]["containers"][0]["name"] == "db-upgrade"


def run_rendered(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a container's args here: `python` is this interpreter, the cwd is the image's."""
    assert args[0] == "python"
    return subprocess.run([sys.executable, *args[1:]], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_rendered_commands_migrate_and_the_init_container_waits_for_them(tmp_path):
    objects = render(PROD, {"migrations.waitForSchema": {"enabled": True, "timeoutSeconds": 5, "intervalSeconds": 1}})
    init = container(one(objects, "Deployment", "vigil")["spec"]["template"]["spec"], "wait-for-schema")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "DATABASE_URL", "REDIS"))}
    env.update({"VIGIL_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'vigil.db'}",
                "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"), "VIGIL_ADMIN_PASSWORD": "chart-test-password"})
    env.update({e["name"]: e["value"] for e in init["env"]})
    env["VIGIL_SEED_URL"] = one(objects, "ConfigMap", "vigil")["data"]["VIGIL_SEED_URL"]

    before = run_rendered(init["args"], env)
    assert before.returncode == 1, before
    assert "waiting for migrations: no revision recorded yet" in before.stdout
    assert "database schema not at head after 5s (no revision recorded yet)" in before.stderr

    for name, args in steps(migration_job()):
        result = run_rendered(args, env)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
        if name == "seed":
            assert "seeded monitor" in result.stdout
    with sqlite3.connect(tmp_path / "vigil.db") as db:
        assert db.execute("SELECT username FROM users").fetchall() == [("admin",)]
        assert db.execute("SELECT url FROM monitors").fetchall() == [("http://vigil:80/healthz",)]

    after = run_rendered(init["args"], env)
    assert after.returncode == 0, after
    assert "database schema is at head:" in after.stdout and "(head)" in after.stdout

    again = run_rendered(steps(migration_job())[0][1], env)  # migrations are idempotent
    assert again.returncode == 0, again.stderr
