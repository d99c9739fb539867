"""The chart and the kustomize overlays against a real kube-apiserver (testkit/controlplane_fixtures.py):
server-side apply accepts them, every pod template is admitted in a namespace that
enforces the "restricted" Pod Security Standard, the Role lets the app's own Lease client
and nothing more through, and `helm install` with no values at all works and `helm upgrade`
keeps its generated secrets (lookup).
There is no kubelet: pods are stored, never run."""
from __future__ import annotations

import base64
import os

import kubernetes.client as k
import pytest
import yaml

from testkit.controlplane_fixtures import api_status
from testkit.polling import eventually
from tests.chart.chart import (CHART, DEV, EXISTING, PROD, REPO, apply, find_tool, pod_templates, render, render_text,
                               restrict)

pytestmark = pytest.mark.k8s
CONFIGS = {"zero-values": ((), None), "dev": (DEV, None), "prod": (PROD, None), "existing-secret": (EXISTING, None),
           "prod-plain-migrations": (PROD, {"migrations.asHook": False}),
           "skaffold-dev": (DEV, {"podSecurity.readOnlyRootFilesystem": False})}


@pytest.mark.parametrize("config", ["zero-values", "dev", "prod", "existing-secret", "prod-plain-migrations"])
def test_rendered_chart_is_accepted_by_server_side_apply(control_plane, namespace, config):
    files, values = CONFIGS[config]
    text = render_text(files, values, namespace=namespace)
    out = apply(control_plane, text, namespace)
    objects = [d for d in yaml.safe_load_all(text) if d]
    assert out.count("serverside-applied") == len(objects), out
    assert apply(control_plane, text, namespace).count("serverside-applied") == len(objects)  # idempotent


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kustomize_overlay_is_accepted_by_server_side_apply(control_plane, overlay):
    text = control_plane.kubectl("kustomize", str(REPO / "k8s" / "overlays" / overlay)).stdout
    objects = [d for d in yaml.safe_load_all(text) if d]
    ns = next(o["metadata"]["name"] for o in objects if o["kind"] == "Namespace")
    try:
        out = apply(control_plane, text)
        assert out.count("serverside-applied") == len(objects), out
        listed = control_plane.kubectl("get", "deployments,cronjobs,jobs,leases", "-n", ns, "-o", "name").stdout
        assert "deployment.apps/vigil" in listed and "cronjob.batch/vigil-check-monitors" in listed
        assert "lease.coordination.k8s.io/vigil-timers" in listed
    finally:
        control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_restricted_namespace_refuses_a_non_compliant_pod(kube_client, namespace):
    """The control for the test below: the namespace really enforces."""
    restrict(kube_client, namespace)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "loose"},
           "spec": {"containers": [{"name": "c", "image": "vigil:0.1.0"}]}}
    with pytest.raises(k.ApiException) as refused:
        k.CoreV1Api(kube_client).create_namespaced_pod(namespace, pod, dry_run="All")
    assert refused.value.status == 403 and "violates PodSecurity" in refused.value.body


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_pod_template_is_admitted_as_restricted(kube_client, namespace, config):
    restrict(kube_client, namespace)
    core = k.CoreV1Api(kube_client)
    files, values = CONFIGS[config]
    pods = pod_templates(render(files, values, namespace=namespace))
    assert len(pods) >= 6
    # The chart creates the ServiceAccounts its pods name; this test admits the pods alone,
    # so it makes them (ServiceAccount admission is on once a controller manager has run).
    for account in {t["spec"].get("serviceAccountName") for _, t in pods} - {None, "default"}:
        core.create_namespaced_service_account(namespace, {"metadata": {"name": account}})
    for i, (where, template) in enumerate(pods):
        metadata = {"name": f"probe-{i}", "labels": template["metadata"].get("labels", {})}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}
        try:
            created = core.create_namespaced_pod(namespace, pod, dry_run="All")
        except k.ApiException as e:
            pytest.fail(f"{config}: {where} refused: {e.status} {e.body}")
        assert created.metadata.name == f"probe-{i}"


def test_role_lets_the_app_do_its_work_and_nothing_else(control_plane, kube_client, namespace):
    from app.kube.lease import LeaseClient, LeaseForbidden

    apply(control_plane, render_text(PROD, namespace=namespace), namespace)
    batch_admin = k.BatchV1Api(kube_client)
    batch_admin.create_namespaced_cron_job(namespace, {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "someone-elses"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    with control_plane.token_client(namespace, "vigil") as sa:
        # The Lease, through the app's own client: read, conditional replace, watch.
        leases = LeaseClient(sa, namespace=namespace, name="vigil-timers")
        record = eventually(leases.get)
        won = leases.replace(record.with_changes(holder="pod-a_1", lease_duration_s=15, transitions=1))
        assert won.holder == "pod-a_1"
        assert list(leases.watch_changes(resource_version=None, timeout_s=1))[0].holder == "pod-a_1"
        with pytest.raises(LeaseForbidden):
            LeaseClient(sa, namespace=namespace, name="other").create(record)
        with pytest.raises(LeaseForbidden):
            LeaseClient(sa, namespace=namespace, name="other").get()
        coordination = k.CoordinationV1Api(sa)
        assert api_status(lambda: coordination.list_namespaced_lease(namespace)) == 403
        assert api_status(lambda: coordination.delete_namespaced_lease("vigil-timers", namespace)) == 403

        # Its CronJobs: read, suspend; "Run now": create a Job. Nothing of anyone else's.
        batch = k.BatchV1Api(sa)
        cron = batch.read_namespaced_cron_job("vigil-check-monitors", namespace)
        assert batch.patch_namespaced_cron_job("vigil-check-monitors", namespace,
                                               {"spec": {"suspend": True}}).spec.suspend is True
        assert api_status(lambda: batch.read_namespaced_cron_job("someone-elses", namespace)) == 403
        assert api_status(lambda: batch.list_namespaced_cron_job(namespace)) == 403
        assert api_status(lambda: batch.delete_namespaced_cron_job("vigil-check-monitors", namespace)) == 403
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "vigil-check-monitors-manual"},
               "spec": batch_admin.api_client.sanitize_for_serialization(cron.spec.job_template.spec)}
        assert batch.create_namespaced_job(namespace, job, dry_run="All").metadata.name == job["metadata"]["name"]
        assert api_status(lambda: batch.list_namespaced_job(namespace)) == 403
        assert api_status(lambda: batch.delete_namespaced_job("vigil-check-monitors-manual", namespace)) == 403

        core = k.CoreV1Api(sa)
        for call in (lambda: core.read_namespaced_secret("vigil", namespace),
                     lambda: core.list_namespaced_secret(namespace),
                     lambda: core.list_namespaced_pod(namespace),
                     lambda: core.read_namespaced_config_map("vigil", namespace)):
            assert api_status(call) == 403


def test_leader_election_off_takes_the_lease_away(control_plane, namespace):
    from app.kube.lease import LeaseClient, LeaseForbidden, LeaseMissing

    apply(control_plane, render_text(PROD, {"leaderElection.enabled": False}, namespace=namespace), namespace)
    with control_plane.token_client(namespace, "vigil") as sa:
        def forbidden() -> None:
            with pytest.raises((LeaseForbidden, LeaseMissing)) as raised:
                LeaseClient(sa, namespace=namespace, name="vigil-timers").get()
            assert isinstance(raised.value, LeaseForbidden)
        eventually(forbidden)


def test_zero_values_install_works_and_upgrade_keeps_the_generated_secrets(control_plane, kube_client, namespace,
                                                                         tmp_path):
    """`helm install vigil charts/vigil` with no values, hooks and all, in a namespace that
    enforces (and warns about) "restricted"; `helm upgrade` with no values keeps SECRET_KEY,
    the admin password, the metrics token, the database password (which must keep matching the datadir on the
    claim) and the claim itself. No kubelet: the objects are stored, pods never run."""
    import subprocess

    restrict(kube_client, namespace)
    env = {**os.environ, "HELM_CACHE_HOME": str(tmp_path / "cache"), "HELM_CONFIG_HOME": str(tmp_path / "config"),
           "HELM_DATA_HOME": str(tmp_path / "data"), "KUBECONFIG": str(control_plane.kubeconfig)}

    def helm(*args: str) -> str:
        result = subprocess.run([find_tool("helm"), *args, "--namespace", namespace], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "PodSecurity" not in result.stderr, result.stderr
        return result.stdout

    core = k.CoreV1Api(kube_client)

    def secrets() -> dict[str, str]:
        data = {k_: base64.b64decode(v).decode() for k_, v in core.read_namespaced_secret("vigil", namespace).data.items()}
        data["mysql"] = base64.b64decode(core.read_namespaced_secret("vigil-mysql", namespace).data["mysql-password"]).decode()
        return data

    def annotations() -> dict[str, str]:
        return k.AppsV1Api(kube_client).read_namespaced_deployment("vigil", namespace).spec.template.metadata.annotations

    installed = helm("install", "vigil", str(CHART))
    assert "THIS INSTALL IS FOR TRYING VIGIL" in installed
    deployments = {d.metadata.name for d in k.AppsV1Api(kube_client).list_namespaced_deployment(namespace).items}
    assert deployments == {"vigil", "vigil-mysql", "vigil-redis-cache", "vigil-redis-coordination"}
    claim = core.read_namespaced_persistent_volume_claim("vigil-mysql", namespace)
    assert claim.spec.resources.requests["storage"] == "2Gi"
    assert [j.metadata.name for j in k.BatchV1Api(kube_client).list_namespaced_job(namespace).items][0].startswith(
        "vigil-migrate-"), "a plain Job: a pre-install hook would wait for a database created after it"
    first, first_annotations = secrets(), annotations()
    assert first["DATABASE_URL"] == f"mysql+pymysql://vigil:{first['mysql']}@vigil-mysql:3306/vigil"
    assert (first["REDIS_URL"], first["REDIS2_URL"]) == ("redis://vigil-redis-cache:6379/0",
                                                         "redis://vigil-redis-coordination:6379/0")
    assert len(first["SECRET_KEY"]) >= 32 and len(first["VIGIL_ADMIN_PASSWORD"]) >= 16
    assert len(first["VIGIL_METRICS_TOKEN"]) >= 32, "Prometheus' token, kept below like the others"
    assert len(first["VIGIL_CHANNEL_KEYS"]) == 44, "a Fernet key; a new one would make saved channels unreadable"

    helm("upgrade", "vigil", str(CHART))
    assert secrets() == first and annotations()["checksum/secret"] == first_annotations["checksum/secret"]
    helm("upgrade", "vigil", str(CHART), "--set", "config.historyDays=7")
    second, second_annotations = secrets(), annotations()
    assert second == first, ("SECRET_KEY, the admin password, the metrics token, the channel key and the database "
                             "password survive upgrades")
    assert second_annotations["checksum/secret"] == first_annotations["checksum/secret"]
    assert second_annotations["checksum/config"] != first_annotations["checksum/config"]
    assert core.read_namespaced_persistent_volume_claim("vigil-mysql", namespace).metadata.uid == claim.metadata.uid
