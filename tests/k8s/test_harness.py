"""Self-tests of the control-plane harness: if these pass, the k8s tests test real things.

Each test checks one property we rely on elsewhere: optimistic concurrency (409),
RBAC enforced for a real ServiceAccount token (resourceNames), a controller doing its
job (CronJob -> Job), server-side validation of rendered Helm output, the real version,
and an apiserver restart keeping etcd's data (used by fault tests).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import kubernetes.client as k
import pytest
import urllib3

from testkit.controlplane import ControlPlane
from testkit.controlplane_fixtures import api_status
from testkit.polling import eventually
from testkit.services import service_missing

pytestmark = pytest.mark.k8s


def lease(name: str, holder: str = "a") -> k.V1Lease:
    return k.V1Lease(metadata=k.V1ObjectMeta(name=name), spec=k.V1LeaseSpec(holder_identity=holder))


def test_stale_resource_version_conflicts(kube_client: k.ApiClient, namespace: str) -> None:
    leases = k.CoordinationV1Api(kube_client)
    created = leases.create_namespaced_lease(namespace, lease("lock"))
    stale = created.metadata.resource_version
    created.spec.holder_identity = "b"
    leases.replace_namespaced_lease("lock", namespace, created)

    again = lease("lock", holder="c")
    again.metadata.resource_version = stale
    assert api_status(lambda: leases.replace_namespaced_lease("lock", namespace, again)) == 409
    assert leases.read_namespaced_lease("lock", namespace).spec.holder_identity == "b"


def test_service_account_token_sees_only_what_rbac_grants(
        control_plane: ControlPlane, kube_client: k.ApiClient, namespace: str) -> None:
    leases = k.CoordinationV1Api(kube_client)
    for name in ("mine", "other"):
        leases.create_namespaced_lease(namespace, lease(name))
    rbac = k.RbacAuthorizationV1Api(kube_client)
    rbac.create_namespaced_role(namespace, k.V1Role(
        metadata=k.V1ObjectMeta(name="lease-mine"),
        rules=[k.V1PolicyRule(api_groups=["coordination.k8s.io"], resources=["leases"],
                              resource_names=["mine"], verbs=["get", "update"])]))
    rbac.create_namespaced_role_binding(namespace, k.V1RoleBinding(
        metadata=k.V1ObjectMeta(name="lease-mine"),
        role_ref=k.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="lease-mine"),
        subjects=[k.RbacV1Subject(kind="ServiceAccount", name="worker", namespace=namespace)]))

    with control_plane.token_client(namespace, "worker") as sa_client:
        sa_leases = k.CoordinationV1Api(sa_client)
        mine = eventually(lambda: sa_leases.read_namespaced_lease("mine", namespace))
        mine.spec.holder_identity = "worker"
        assert sa_leases.replace_namespaced_lease("mine", namespace, mine).spec.holder_identity == "worker"

        assert api_status(lambda: sa_leases.read_namespaced_lease("other", namespace)) == 403
        assert api_status(lambda: sa_leases.list_namespaced_lease(namespace)) == 403
        assert api_status(lambda: sa_leases.delete_namespaced_lease("mine", namespace)) == 403
        sa_core = k.CoreV1Api(sa_client)
        assert api_status(lambda: sa_core.list_namespaced_secret(namespace)) == 403
        assert api_status(lambda: sa_core.read_namespaced_secret("any", namespace)) == 403
        who = k.AuthenticationV1Api(sa_client).create_self_subject_review(k.V1SelfSubjectReview())
        assert who.status.user_info.username == f"system:serviceaccount:{namespace}:worker"


@pytest.mark.slow
def test_cronjob_controller_creates_a_job(
        controller_manager: ControlPlane, kube_client: k.ApiClient, namespace: str) -> None:
    container = k.V1Container(name="tick", image="busybox:1.36", command=["true"])
    k.BatchV1Api(kube_client).create_namespaced_cron_job(namespace, k.V1CronJob(
        metadata=k.V1ObjectMeta(name="tick"),
        spec=k.V1CronJobSpec(schedule="* * * * *", job_template=k.V1JobTemplateSpec(spec=k.V1JobSpec(
            template=k.V1PodTemplateSpec(spec=k.V1PodSpec(restart_policy="Never", containers=[container])))))))

    def job_exists() -> k.V1Job:
        jobs = k.BatchV1Api(kube_client).list_namespaced_job(namespace).items
        assert jobs, "no Job yet"
        return jobs[0]

    # The first run is at the next minute boundary; the controller may be slow to sync on a
    # busy machine (a CI run once missed 90 s), and its speed is not what this proves.
    job = eventually(job_exists, timeout=150, interval=1)
    assert job.metadata.owner_references[0].kind == "CronJob"

    def job_pod() -> k.V1Pod:  # the Job controller's Pod passed ServiceAccount admission
        pods = k.CoreV1Api(kube_client).list_namespaced_pod(
            namespace, label_selector=f"batch.kubernetes.io/job-name={job.metadata.name}").items
        assert pods, "no Pod yet"
        return pods[0]

    assert eventually(job_pod, timeout=30, interval=1).spec.service_account_name == "default"


CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\n",
    "templates/web.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-config}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-web}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
""",
}


def test_helm_output_server_side_applied_and_validated(
        control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    helm = control_plane.helm
    if helm is None:
        service_missing("helm not in KUBEBUILDER_ASSETS nor on PATH (hack/k8s-assets.sh builds it)")
    assert helm is not None
    for rel, text in CHART.items():
        (tmp_path / "tiny" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tiny" / rel).write_text(text)

    def render(*values: str) -> str:
        args = [helm, "template", "demo", str(tmp_path / "tiny"), "--namespace", namespace, *values]
        return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout

    applied = control_plane.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=render())
    assert "deployment.apps/demo-web serverside-applied" in applied.stdout, applied
    assert control_plane.kubectl("get", "configmap", "demo-config", "-n", namespace,
                                 "-o", "jsonpath={.data.greeting}").stdout == "hello"

    bad = control_plane.kubectl("apply", "--server-side", "-n", namespace, "-f", "-",
                                input=render("--set", "replicas=-1"), check=False)
    assert bad.returncode != 0
    assert "spec.replicas: Invalid value: -1" in bad.stderr, bad.stderr


def test_server_reports_the_built_version(control_plane: ControlPlane, kube_client: k.ApiClient) -> None:
    info = k.VersionApi(kube_client).get_code()
    assert re.fullmatch(r"v1\.\d+\.\d+", info.git_version), info  # not the unstamped v0.0.0
    assert (info.major, info.minor) == ("1", info.git_version.split(".")[1]), info
    binary = subprocess.run([str(control_plane.assets / "kube-apiserver"), "--version"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert binary == ["Kubernetes", info.git_version]
    client = control_plane.kubectl("version", "--client", "-o", "json").stdout
    assert f'"gitVersion": "{info.git_version}"' in client


def test_apiserver_restart_keeps_data(control_plane: ControlPlane, kube_client: k.ApiClient,
                                      namespace: str) -> None:
    leases = k.CoordinationV1Api(kube_client)
    leases.create_namespaced_lease(namespace, lease("survivor"))
    with control_plane.apiserver_down(), pytest.raises(urllib3.exceptions.MaxRetryError):
        leases.read_namespaced_lease("survivor", namespace, _request_timeout=2)
    assert leases.read_namespaced_lease("survivor", namespace).spec.holder_identity == "a"
