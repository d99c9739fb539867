"""Scenario 6: `kubectl apply -k k8s/overlays/dev` in another namespace works end to end:
pods Ready, the UI answers through the ingress. The overlay is applied as a user would,
through a kustomization that adds only what this cluster needs on top: the image tags it
holds, and an Ingress (the overlay has none)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from testkit import ROOT
from testkit.polling import wait_for

NAMESPACE = "vigil-dev"
HOST = "vigil-dev.localhost"


def _image_overrides(cluster) -> list[dict]:
    """kustomize `images:` for this cluster: Vigil's tag, and the offline service images in
    place of the chart's defaults (read from the same values files hack/e2e.sh used)."""
    overrides = [{"name": "vigil", "newTag": cluster.tag}]
    defaults = yaml.safe_load((ROOT / "charts/vigil/values.yaml").read_text())
    for path in cluster.values:
        values = yaml.safe_load((ROOT / path).read_text()) or {}
        for server in ("mysql", "redis"):
            image = (values.get(server) or {}).get("image")
            if image:
                overrides.append({"name": defaults[server]["image"]["repository"],
                                  "newName": image["repository"], "newTag": str(image["tag"])})
    return overrides


@pytest.fixture(scope="module")
def dev_overlay(cluster, tmp_path_factory):
    work: Path = tmp_path_factory.mktemp("kustomize")
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "vigil"},
               "spec": {"ingressClassName": "traefik", "rules": [{"host": HOST, "http": {"paths": [
                   {"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "vigil", "port": {"name": "http"}}}}]}}]}}
    (work / "ingress.yaml").write_text(yaml.safe_dump(ingress))
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     # kustomize takes relative paths only
                     "resources": [os.path.relpath(ROOT / "k8s/overlays/dev", work), "ingress.yaml"],
                     "namespace": NAMESPACE, "images": _image_overrides(cluster)}
    (work / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    yield work
    cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", namespace="default", check=False)


def test_the_dev_overlay_serves_the_ui_through_the_ingress(cluster, dev_overlay):
    cluster.kubectl("apply", "-k", str(dev_overlay), namespace=NAMESPACE, timeout=180)
    deployments = cluster.get("deployments", namespace=NAMESPACE)["items"]
    assert deployments
    for deployment in deployments:
        cluster.kubectl("rollout", "status", f"deploy/{deployment['metadata']['name']}",
                        "--timeout=300s", namespace=NAMESPACE, timeout=320)
    labels = cluster.get("namespace", NAMESPACE, namespace="default")["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    # Public reads are off (the production default), so the UI answers with its sign-in page.
    dashboard = wait_for(lambda: (r := cluster.http("GET", "/login", headers={"Host": HOST})).status_code == 200
                         and r, timeout=60, interval=2)
    assert dashboard and "Sign in" in dashboard.text
