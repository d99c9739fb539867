"""Optional parts: NetworkPolicy, in-cluster MariaDB and Redis (on by default), the helm test pod
(whose script is also run for real against a live Vigil)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from testkit.ports import free_port
from tests.chart.chart import DEV, PROD, container, env_of, find, hook, one, render


def test_optional_parts_are_off_by_default():
    objects = render(PROD, {"networkPolicy.enabled": False, "ingress.enabled": False, "autoscaling.enabled": False})
    for kind in ("NetworkPolicy", "Ingress", "HorizontalPodAutoscaler", "PersistentVolumeClaim"):
        assert not find(objects, kind), kind
    names = {o["metadata"]["name"] for o in objects}
    assert not {n for n in names if "mysql" in n or "redis" in n}


def test_network_policy_restricts_ingress_only():
    objects = render(PROD)
    policies = {p["metadata"]["name"]: p["spec"] for p in find(objects, "NetworkPolicy")}
    assert set(policies) == {"vigil-web", "vigil-jobs"}
    assert all(p["policyTypes"] == ["Ingress"] for p in policies.values()), "egress stays open: monitors probe anywhere"
    web = policies["vigil-web"]
    assert web["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    rule = web["ingress"][0]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "vigil", "app.kubernetes.io/instance": "vigil"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    jobs = policies["vigil-jobs"]
    assert "ingress" not in jobs, "job and migration pods accept no connections"
    assert {"key": "app.kubernetes.io/component", "operator": "In", "values": ["job", "migration"]} in \
        jobs["podSelector"]["matchExpressions"]


def test_network_policy_guards_the_in_cluster_servers():
    policies = {p["metadata"]["name"]: p["spec"] for p in find(render(DEV, {"networkPolicy.enabled": True}), "NetworkPolicy")}
    assert set(policies) == {"vigil-web", "vigil-jobs", "vigil-mysql", "vigil-redis-cache", "vigil-redis-coordination"}
    mysql = policies["vigil-mysql"]
    assert mysql["ingress"][0]["ports"] == [{"port": "mysql", "protocol": "TCP"}]
    assert {"key": "app.kubernetes.io/component", "operator": "In", "values": ["web", "job", "migration"]} in \
        mysql["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]


def test_in_cluster_mariadb():
    objects = render(DEV)
    dep = one(objects, "Deployment", "vigil-mysql")
    assert dep["spec"]["strategy"] == {"type": "Recreate"} and dep["spec"]["replicas"] == 1
    c = container(dep["spec"]["template"]["spec"], "mysql")
    assert c["image"] == "mariadb:11.4"
    env = env_of(c)
    assert env["MYSQL_RANDOM_ROOT_PASSWORD"] == "yes", "no root password is ever stored"
    assert env["MARIADB_AUTO_UPGRADE"] == "1", "a newer image upgrades an older datadir"
    assert env["MYSQL_PASSWORD"] == {"secretKeyRef": {"name": "vigil-mysql", "key": "mysql-password"}}
    assert (env["MYSQL_DATABASE"], env["MYSQL_USER"]) == ("vigil", "vigil")
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/var/lib/mysql", "/var/run/mysqld",
                                                           "/var/lib/mysql-files", "/tmp"}
    service = one(objects, "Service", "vigil-mysql")
    assert service["spec"]["ports"][0]["port"] == 3306
    assert service["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert not find(objects, "PersistentVolumeClaim"), "dev-values: a throwaway emptyDir"
    data = one(render(DEV, {"mysql.persistence": {"enabled": True, "size": "5Gi", "storageClass": "fast"}}),
               "PersistentVolumeClaim", "vigil-mysql")
    assert data["spec"]["resources"]["requests"]["storage"] == "5Gi" and data["spec"]["storageClassName"] == "fast"


@pytest.mark.parametrize("values, images", [
    (None, {"mysql": "mariadb:11.4", "redis": "redis:7.4"}),
    ({"mysql.image.repository": "mysql", "mysql.image.tag": "8.4"}, {"mysql": "mysql:8.4", "redis": "redis:7.4"}),
    ({"mysql.image.repository": "vigil-e2e/mariadb", "mysql.image.tag": "10.11",
      "redis.image.repository": "vigil-e2e/redis", "redis.image.tag": "7"},
     {"mysql": "vigil-e2e/mariadb:10.11", "redis": "vigil-e2e/redis:7"}),
], ids=["official-mariadb", "official-mysql", "offline-images"])
def test_server_images_are_values(values, images):
    """hack/kind/service-images.sh's images replace the official ones by two values each."""
    objects = render((), values)
    found = {name: container(one(objects, "Deployment", f"vigil-{dep}")["spec"]["template"]["spec"], name)["image"]
             for name, dep in (("mysql", "mysql"), ("redis", "redis-cache"))}
    assert found == images
    coordination = one(objects, "Deployment", "vigil-redis-coordination")["spec"]["template"]["spec"]
    assert container(coordination, "redis")["image"] == images["redis"]


def test_two_in_cluster_redis_with_their_eviction_policies():
    objects = render(DEV)
    policies = {}
    for role in ("cache", "coordination"):
        dep = one(objects, "Deployment", f"vigil-redis-{role}")
        args = container(dep["spec"]["template"]["spec"], "redis")["args"]
        policies[role] = args[args.index("--maxmemory-policy") + 1]
        assert args[args.index("--save") + 1] == "" and "--protected-mode" in args
        assert one(objects, "Service", f"vigil-redis-{role}")["spec"]["ports"][0]["port"] == 6379
    assert policies == {"cache": "allkeys-lru", "coordination": "noeviction"}


def test_helm_test_pod():
    pod = one(render(PROD), "Pod", "vigil-test-http")
    assert hook(pod) == "test"
    assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["automountServiceAccountToken"] is False
    c = container(pod["spec"], "http")
    assert c["image"] == "vigil:0.1.0" and c["args"][:2] == ["python", "-c"]
    assert env_of(c)["VIGIL_URL"] == "http://vigil:80"
    assert '"/healthz", "/readyz"' in c["args"][2]
    assert not find(render(PROD, {"tests.enabled": False}), "Pod")


@pytest.fixture
def live_vigil(app):
    """The real app (SQLite, in-process Redis stand-ins) on a loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def run_test_pod_script(url: str, timeout: str) -> subprocess.CompletedProcess[str]:
    c = container(one(render(PROD), "Pod", "vigil-test-http")["spec"], "http")
    env = {**os.environ, **{e["name"]: e["value"] for e in c["env"]}, "VIGIL_URL": url, "VIGIL_TEST_TIMEOUT": timeout}
    return subprocess.run([sys.executable, *c["args"][1:]], env=env, capture_output=True, text=True, timeout=60)


def test_helm_test_script_passes_against_a_live_vigil(live_vigil):
    result = run_test_pod_script(live_vigil, "20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{live_vigil}/healthz: ok", f"{live_vigil}/readyz: ok"]


def test_helm_test_script_fails_when_nothing_answers():
    port = free_port()  # nobody listens there
    result = run_test_pod_script(f"http://127.0.0.1:{port}", "1")
    assert result.returncode == 1
    assert f"http://127.0.0.1:{port}/healthz failed" in result.stderr
