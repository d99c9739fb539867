"""Vigil's Lease elector on a real kube-apiserver, with real processes as stand-in pods.

Timings are scaled down (lease 3 s, renew deadline 2 s, retry 0.5 s) so the
suite is quick; the algorithm does not depend on the scale.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import kubernetes.client as k8s
import pytest
import yaml

from testkit import ROOT

pytestmark = pytest.mark.k8s
LEASE, RENEW, RETRY = 3, 2.0, 0.5  # lease: whole seconds, as the Lease stores it


class Contenders:
    def __init__(self, tmp_path: Path, kubeconfig: Path, namespace: str, lease: str) -> None:
        self.events = tmp_path / "events.jsonl"
        self.kubeconfig, self.namespace, self.lease = kubeconfig, namespace, lease
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed_at: dict[str, float] = {}
        self.tmp_path = tmp_path

    def start(self, identity: str, *extra: str, kubeconfig: Path | None = None) -> None:
        log = open(self.tmp_path / f"{identity}.log", "ab")
        self.processes[identity] = subprocess.Popen(
            [sys.executable, "-m", "testkit.contender", "--kubeconfig", str(kubeconfig or self.kubeconfig),
             "--namespace", self.namespace, "--lease", self.lease, "--events", str(self.events),
             "--identity", identity, "--lease-duration", str(LEASE), "--renew-deadline", str(RENEW),
             "--retry-period", str(RETRY), *extra],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def read(self) -> list[dict]:
        if not self.events.exists():
            return []
        return [json.loads(line) for line in self.events.read_text().splitlines() if line.strip()]

    def leaders(self) -> set[str]:
        """Identities that believe they lead right now (elected and not revoked)."""
        leading: set[str] = set()
        for event in self.read():
            if event["event"] == "elected":
                leading.add(event["id"])
            elif event["event"] == "revoked":
                leading.discard(event["id"])
        return leading

    def wait_for_leader(self, timeout: float = 20.0, exclude: set[str] = frozenset()) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.leaders() - exclude
            if current:
                assert len(current) == 1, current
                return next(iter(current))
            time.sleep(0.05)
        raise AssertionError(f"no leader within {timeout}s: {self.read()}")

    def elected_after(self, moment: float, exclude: str) -> dict | None:
        return next((e for e in self.read() if e["event"] == "elected" and e["id"] != exclude
                     and e["mono"] >= moment), None)

    def signal(self, identity: str, signum: int) -> float:
        at = time.monotonic()
        self.processes[identity].send_signal(signum)
        if signum == signal.SIGKILL:
            self.processes[identity].wait()
            self.killed_at[identity] = at  # a dead process leads no more, revoked or not
        return at

    def assert_no_overlap(self) -> None:
        intervals = []
        open_: dict[str, float] = {}
        for event in sorted(self.read(), key=lambda e: e["mono"] or 0):
            if event["event"] == "elected":
                open_[event["id"]] = event["mono"]
            elif event["event"] == "revoked" and event["id"] in open_:
                intervals.append((open_.pop(event["id"]), event["mono"], event["id"]))
        now = time.monotonic()
        intervals += [(start, self.killed_at.get(who, now), who) for who, start in open_.items()]
        intervals.sort()
        for (s1, e1, a), (s2, e2, b) in zip(intervals, intervals[1:]):
            assert s2 >= e1, f"{a} led until {e1:.3f} but {b} started at {s2:.3f}"

    def stop_all(self) -> None:
        for identity, process in self.processes.items():
            if process.poll() is None:
                self.killed_at.setdefault(identity, time.monotonic())
                process.kill()
                process.wait()


def write_kubeconfig(path: Path, configuration: k8s.Configuration, token: str | None = None,
                     admin_kubeconfig: Path | None = None) -> Path:
    if token is None:
        path.write_text(Path(admin_kubeconfig).read_text())
        return path
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "c", "cluster": {"server": configuration.host,
                                                 "certificate-authority": configuration.ssl_ca_cert}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}]}))
    return path


@pytest.fixture
def contenders(tmp_path, control_plane, namespace):
    group = Contenders(tmp_path, control_plane.kubeconfig, namespace, "vigil-timers")
    yield group
    group.stop_all()
    group.assert_no_overlap()


def test_exactly_one_of_three_leads_and_no_intervals_overlap(contenders):
    for name in ("pod-a", "pod-b", "pod-c"):
        contenders.start(name)
    leader = contenders.wait_for_leader()
    time.sleep(4 * LEASE)  # several lease durations of renewals
    assert contenders.leaders() == {leader}
    contenders.assert_no_overlap()


def test_graceful_handover_takes_under_a_second(contenders):
    for name in ("pod-a", "pod-b", "pod-c"):
        contenders.start(name)
    leader = contenders.wait_for_leader()
    time.sleep(1.0)  # followers are watching
    sent = contenders.signal(leader, signal.SIGTERM)
    successor = contenders.wait_for_leader(timeout=5, exclude={leader})
    elected = contenders.elected_after(sent, exclude=leader)
    assert elected and elected["id"] == successor
    assert elected["mono"] - sent < 1.0, f"handover took {elected['mono'] - sent:.3f}s"


def test_crash_failover_within_lease_duration_plus_retry_period(contenders):
    for name in ("pod-a", "pod-b"):
        contenders.start(name)
    leader = contenders.wait_for_leader()
    time.sleep(1.0)
    killed = contenders.signal(leader, signal.SIGKILL)
    contenders.wait_for_leader(timeout=3 * LEASE, exclude={leader})
    elected = contenders.elected_after(killed, exclude=leader)
    assert elected["mono"] - killed <= LEASE + RETRY + 0.3, f"failover took {elected['mono'] - killed:.3f}s"


def test_apiserver_outage_stops_the_leader_before_its_lease_could_expire(contenders, control_plane):
    for name in ("pod-a", "pod-b"):
        contenders.start(name)
    leader = contenders.wait_for_leader()
    time.sleep(1.0)
    outage_start = time.monotonic()
    with control_plane.apiserver_down():
        time.sleep(RENEW + 1.5)
        revoked = [e for e in contenders.read() if e["event"] == "revoked" and e["id"] == leader]
        assert revoked, "the leader kept leading without renewing"
        # It stopped at most a renew deadline after its last renewal, which was before the
        # outage; nobody else could take over before that renewal + the lease duration.
        assert revoked[-1]["mono"] <= outage_start + RENEW + 0.1
        assert revoked[-1]["mono"] < outage_start + LEASE
        assert contenders.leaders() == set()
    contenders.wait_for_leader(timeout=4 * LEASE)
    time.sleep(2 * LEASE)
    assert len(contenders.leaders()) == 1


def test_runs_with_a_role_limited_to_its_lease(tmp_path, control_plane, namespace):
    with control_plane.admin_client() as admin:
        k8s.CoordinationV1Api(admin).create_namespaced_lease(namespace, k8s.V1Lease(
            metadata=k8s.V1ObjectMeta(name="vigil-timers")))
        rbac = k8s.RbacAuthorizationV1Api(admin)
        rbac.create_namespaced_role(namespace, k8s.V1Role(
            metadata=k8s.V1ObjectMeta(name="vigil-timers"),
            rules=[k8s.V1PolicyRule(api_groups=["coordination.k8s.io"], resources=["leases"],
                                    resource_names=["vigil-timers"],
                                    verbs=["get", "update", "list", "watch"])]))
        rbac.create_namespaced_role_binding(namespace, k8s.V1RoleBinding(
            metadata=k8s.V1ObjectMeta(name="vigil-timers"),
            role_ref=k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="vigil-timers"),
            subjects=[k8s.RbacV1Subject(kind="ServiceAccount", name="vigil", namespace=namespace)]))
    sa_client = control_plane.token_client(namespace, "vigil")
    token = sa_client.configuration.api_key["authorization"]
    kubeconfig = write_kubeconfig(tmp_path / "sa.kubeconfig", sa_client.configuration, token)
    group = Contenders(tmp_path, kubeconfig, namespace, "vigil-timers")
    try:
        group.start("pod-a")
        group.start("pod-b")
        leader = group.wait_for_leader()
        sent = group.signal(leader, signal.SIGTERM)
        group.wait_for_leader(timeout=5, exclude={leader})
        assert group.elected_after(sent, exclude=leader)["mono"] - sent < 1.0  # watch works too
        logs = "".join(p.read_text() for p in tmp_path.glob("pod-*.log"))
        assert "forbidden" not in logs.lower(), logs[-2000:]
    finally:
        group.stop_all()
    group.assert_no_overlap()
    coordination, core = k8s.CoordinationV1Api(sa_client), k8s.CoreV1Api(sa_client)
    for call in (lambda: coordination.read_namespaced_lease("other", namespace),
                 lambda: coordination.create_namespaced_lease(namespace, k8s.V1Lease(
                     metadata=k8s.V1ObjectMeta(name="other"))),
                 lambda: core.list_namespaced_secret(namespace),
                 lambda: coordination.list_namespaced_lease(namespace)):
        with pytest.raises(k8s.ApiException) as denied:
            call()
        assert denied.value.status == 403


def test_clock_skew_neither_steals_nor_blocks(contenders):
    contenders.start("pod-honest")
    leader = contenders.wait_for_leader()
    assert leader == "pod-honest"
    contenders.start("pod-ahead", "--wall-offset", "30")
    contenders.start("pod-behind", "--wall-offset", "-30")
    time.sleep(3 * LEASE)
    assert contenders.leaders() == {"pod-honest"}, "a skewed contender stole a live lease"
    killed = contenders.signal("pod-honest", signal.SIGKILL)
    contenders.wait_for_leader(timeout=3 * LEASE, exclude={"pod-honest"})
    elected = contenders.elected_after(killed, exclude="pod-honest")
    assert elected["mono"] - killed <= LEASE + RETRY + 0.3
