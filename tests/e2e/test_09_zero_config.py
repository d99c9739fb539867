"""Issue 12's promise on a real kubelet: `helm install` with no values of the user's gives a
working Vigil (in-cluster MariaDB on a claim, Redis, restricted Pod Security), and `helm
test` passes. Offline, the only values are the image sources (hack/kind/values-offline.yaml),
since the public images cannot be pulled; with a registry there are none at all."""
from __future__ import annotations

import pytest

RELEASE = "zero"
NAMESPACE = "vigil-zero"


@pytest.fixture
def zero_namespace(cluster):
    cluster.kubectl("create", "namespace", NAMESPACE, namespace="default")
    cluster.kubectl("label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted",
                    namespace="default")
    yield NAMESPACE
    cluster.run(cluster.helm_path, "-n", NAMESPACE, "uninstall", RELEASE, "--wait", "--timeout", "3m",
                check=False, timeout=240)
    cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", namespace="default", check=False)


def test_helm_install_with_no_values_works(cluster, zero_namespace):
    image_sources = [arg for path in cluster.values if "offline" in path for arg in ("-f", path)]
    helm = (cluster.helm_path, "-n", zero_namespace)
    cluster.run(*helm, "install", RELEASE, "charts/vigil", *image_sources, "--set", f"image.tag={cluster.tag}",
                "--wait", "--wait-for-jobs", "--timeout", "10m", timeout=660)
    out = cluster.run(*helm, "test", RELEASE, "--logs", timeout=300)
    assert "/readyz: ok" in out, out
    claim = cluster.get("pvc", f"{RELEASE}-vigil-mysql", namespace=zero_namespace)
    assert claim["status"]["phase"] == "Bound"
    notes = cluster.run(*helm, "get", "notes", RELEASE)
    assert "FOR TRYING VIGIL" in notes
