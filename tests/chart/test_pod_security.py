"""Every pod the chart can create meets the "restricted" Pod Security Standard, field by
field (the apiserver check is in test_apiserver.py)."""
from __future__ import annotations

import pytest

from tests.chart.chart import DEV, EXISTING, PROD, pod_templates, render

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret"}
CONFIGS = {
    "zero-values": ((), None),
    "dev": (DEV, None),
    "prod": (PROD, None),
    "existing-secret": (EXISTING, None),
    "prod-plain-migrations": (PROD, {"migrations.asHook": False}),
    "dev-persistent-mysql": (DEV, {"mysql.persistence.enabled": True, "leaderElection.enabled": False}),
}


def test_every_pod_kind_is_covered():
    wheres = {w for w, _ in pod_templates(render(DEV))}
    assert {"Deployment/vigil", "Deployment/vigil-mysql", "Deployment/vigil-redis-cache",
            "Deployment/vigil-redis-coordination", "CronJob/vigil-check-monitors", "CronJob/vigil-prune-history",
            "CronJob/vigil-rollup-stats", "Pod/vigil-test-http"} <= wheres
    assert any(w.startswith("Job/vigil-migrate") for w in wheres)
    assert {w for w, _ in pod_templates(render(PROD))} >= {"Job/vigil-migrate", "Pod/vigil-test-http"}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_pod_is_restricted(config):
    files, values = CONFIGS[config]
    pods = pod_templates(render(files, values))
    assert len(pods) >= 5
    for where, pod in pods:
        try:
            check_restricted(pod)
        except AssertionError as e:
            raise AssertionError(f"{config}: {where}: {e}") from None


def check_restricted(pod):
    spec = pod["spec"]
    ctx = spec["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] == 10001 and ctx["runAsGroup"] == 10001 and ctx["fsGroup"] == 10001
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    for key in ("hostNetwork", "hostPID", "hostIPC", "hostUsers"):
        assert spec.get(key) in (None, False) or (key == "hostUsers" and spec[key] is False), key
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for volume in volumes.values():
        assert set(volume) - {"name"} <= ALLOWED_VOLUMES, volume
    assert volumes["tmp"]["emptyDir"]["sizeLimit"] == "64Mi"
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"] == {"drop": ["ALL"]}, c["name"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc.get("privileged") in (None, False) and sc.get("runAsUser", 1) != 0
        assert sc.get("seccompProfile", {"type": "RuntimeDefault"})["type"] in ("RuntimeDefault", "Localhost")
        assert not [p for p in c.get("ports", []) if "hostPort" in p]
        assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], c["name"]
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], c["name"]


def test_read_only_root_filesystem_switch_is_for_the_app_pods_only():
    """skaffold's file sync needs a writable root; the dev servers keep theirs read-only."""
    for where, pod in pod_templates(render(DEV, {"podSecurity.readOnlyRootFilesystem": False})):
        ro = {c["securityContext"]["readOnlyRootFilesystem"] for c in pod["spec"]["containers"]}
        assert ro == ({True} if "mysql" in where or "redis" in where else {False}), where
