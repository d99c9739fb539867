"""The helm command lines hack/e2e.sh and tests/e2e run work with Helm 4 against a real
kube-apiserver: `helm install ... --wait --timeout 10m`, `helm upgrade ... --wait --timeout
10m -f FILE --set image.tag=X` (also with --reuse-values) and `helm test RELEASE --logs`.

Helm 4 changed what these flags mean: objects are written with server-side apply (field
manager `helm`), and `--wait` is kstatus-based (the "watcher" strategy), so it also waits for
a PersistentVolumeClaim to be Bound. There is no kubelet here, so anything with --wait runs
with --dry-run=server (the apiserver validates and admits, nothing is stored), and the real
waits are shown to fail for the reason a cluster without nodes gives."""
from __future__ import annotations

import kubernetes.client as k
import pytest

from tests.chart.chart import CHART, REPO, helm_on

pytestmark = pytest.mark.k8s
E2E_VALUES = str(REPO / "hack" / "kind" / "values.yaml")  # what hack/e2e.sh installs with


@pytest.fixture
def helm(control_plane, namespace, tmp_path):
    return helm_on(control_plane, tmp_path, namespace)


def test_helm_is_helm_4(helm):
    assert helm("version", "--short").stdout.startswith("v4.")


def test_e2e_install_upgrade_and_test_commands_work_with_helm_4(helm, kube_client, namespace):
    apps = k.AppsV1Api(kube_client)

    # hack/e2e.sh's install, validated by the apiserver; nothing stored.
    helm("install", "vigil", str(CHART), "-f", E2E_VALUES, "--set", "image.tag=e2e-1",
         "--wait", "--timeout", "10m", "--dry-run=server")
    assert not apps.list_namespaced_deployment(namespace).items

    # The real install: --wait now waits for kstatus "Current", which the claim of the
    # in-cluster MariaDB never reaches without a volume provisioner.
    failed = helm("install", "vigil", str(CHART), "-f", E2E_VALUES, "--set", "image.tag=e2e-1",
                  "--wait", "--timeout", "5s", ok=False)
    assert "PersistentVolumeClaim" in failed.stderr and "not Bound" in failed.stderr, failed.stderr
    web = apps.read_namespaced_deployment("vigil", namespace)
    assert web.spec.template.spec.containers[0].image == "vigil:e2e-1"
    assert {(f.manager, f.operation) for f in web.metadata.managed_fields} == {("helm", "Apply")}, \
        "Helm 4 writes with server-side apply"

    # tests/e2e's upgrade to a new tag, and the autoscaling one with --reuse-values.
    helm("upgrade", "vigil", str(CHART), "-f", E2E_VALUES, "--set", "image.tag=e2e-2",
         "--wait", "--timeout", "10m", "--dry-run=server")
    helm("upgrade", "vigil", str(CHART), "--reuse-values", "--set", "autoscaling.enabled=true",
         "--wait", "--timeout", "10m", "--dry-run=server")
    assert apps.read_namespaced_deployment("vigil", namespace).spec.template.spec.containers[0].image == "vigil:e2e-1"
    helm("upgrade", "vigil", str(CHART), "-f", E2E_VALUES, "--set", "image.tag=e2e-2")
    assert apps.read_namespaced_deployment("vigil", namespace).spec.template.spec.containers[0].image == "vigil:e2e-2"
    assert "deployed" in helm("status", "vigil").stdout

    # `helm test --logs` creates the test pod and waits for it; no kubelet runs it here.
    tested = helm("test", "vigil", "--logs", "--timeout", "5s", ok=False)
    assert "vigil-test-http" in tested.stdout and "POD LOGS: vigil-test-http" in tested.stdout, tested.stdout
    assert k.CoreV1Api(kube_client).read_namespaced_pod("vigil-test-http", namespace).status.phase == "Pending"
