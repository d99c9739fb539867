"""The CronJobs of cronjobs/ (rendered from the chart) on a real apiserver, and Run now / pause
under a least-privilege Role."""
from __future__ import annotations

import kubernetes.client as k8s
import pytest
import yaml

from app.jobs.registry import cron_jobs
from app.kube.cronjobs import CronJobError, CronJobs
from testkit import ROOT
from testkit.http import login
from tests.conftest import post_form

pytestmark = pytest.mark.k8s

CRONJOBS = ROOT / "cronjobs"


def cronjob_manifest(name: str) -> dict:
    """The committed standalone CronJob (tests/chart/test_generated.py keeps it fresh)."""
    return yaml.safe_load((CRONJOBS / f"{name}.yaml").read_text())


def test_every_standalone_cronjob_is_accepted_by_the_apiserver(kube_client, namespace):
    batch = k8s.BatchV1Api(kube_client)
    for job in cron_jobs():
        manifest = cronjob_manifest(job.name)
        created = batch.create_namespaced_cron_job(namespace, manifest, dry_run="All")
        assert created.spec.job_template.spec.pod_failure_policy.rules[0].action == "FailJob"


@pytest.fixture
def cronjob_client(control_plane, kube_client, namespace):
    """A client acting as the app's ServiceAccount, with the Role the chart grants."""
    k8s.BatchV1Api(kube_client).create_namespaced_cron_job(
        namespace, cronjob_manifest("check-monitors"))
    rbac = k8s.RbacAuthorizationV1Api(kube_client)
    rbac.create_namespaced_role(namespace, k8s.V1Role(
        metadata=k8s.V1ObjectMeta(name="vigil-jobs"),
        rules=[k8s.V1PolicyRule(api_groups=["batch"], resources=["cronjobs"],
                                resource_names=["vigil-check-monitors"], verbs=["get", "patch"]),
               k8s.V1PolicyRule(api_groups=["batch"], resources=["jobs"], verbs=["create"])]))
    rbac.create_namespaced_role_binding(namespace, k8s.V1RoleBinding(
        metadata=k8s.V1ObjectMeta(name="vigil-jobs"),
        role_ref=k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="vigil-jobs"),
        subjects=[k8s.RbacV1Subject(kind="ServiceAccount", name="vigil", namespace=namespace)]))
    return CronJobs(control_plane.token_client(namespace, "vigil"), namespace=namespace)


def test_run_now_creates_an_owned_manual_job(cronjob_client, kube_client, namespace):
    job_name = cronjob_client.run_now("vigil-check-monitors")
    job = k8s.BatchV1Api(kube_client).read_namespaced_job(job_name, namespace)
    assert job.metadata.owner_references[0].kind == "CronJob"
    assert job.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env if e.value}
    assert env["VIGIL_JOB_TRIGGER"] == "manual" and env["VIGIL_JOB_SLOT"]
    assert not job_name[-1].isdigit()  # a numeric suffix would read as a scheduled slot


def test_pause_and_resume(cronjob_client):
    cronjob_client.set_suspended("vigil-check-monitors", True)
    assert cronjob_client.get("vigil-check-monitors").suspended is True
    cronjob_client.set_suspended("vigil-check-monitors", False)
    assert cronjob_client.get("vigil-check-monitors").suspended is False


def test_nothing_beyond_the_role(cronjob_client, kube_client, namespace):
    manifest = cronjob_manifest("rollup-stats")
    k8s.BatchV1Api(kube_client).create_namespaced_cron_job(namespace, manifest)
    with pytest.raises(CronJobError) as denied:
        cronjob_client.run_now("vigil-rollup-stats")
    assert denied.value.status == 403


def test_run_now_button_in_kubernetes_mode(app, cronjob_client, kube_client, namespace, monkeypatch):
    import app.run_now as run_now

    app.config["VIGIL_RUN_NOW"] = "kubernetes"
    monkeypatch.setattr(run_now, "cronjobs", lambda: cronjob_client)
    client = app.test_client()
    login(client)
    page = client.get("/jobs/check-monitors").get_data(as_text=True)
    assert "Pause schedule" in page
    response = post_form(client, "/jobs/check-monitors/run", {}, form_path="/jobs/check-monitors")
    assert response.status_code == 302
    jobs = k8s.BatchV1Api(kube_client).list_namespaced_job(namespace).items
    assert [j.metadata.annotations["cronjob.kubernetes.io/instantiate"] for j in jobs] == ["manual"]
    # No kubelet here, so that Job never starts: a second click is refused, and creates nothing.
    again = post_form(client, "/jobs/check-monitors/run", {}, form_path="/jobs/check-monitors")
    assert again.status_code == 409 and "has not started yet" in again.get_data(as_text=True)
    assert len(k8s.BatchV1Api(kube_client).list_namespaced_job(namespace).items) == 1
    response = post_form(client, "/jobs/refresh-summary/run", {}, form_path="/jobs/check-monitors")
    assert response.status_code == 409  # timers have no CronJob
