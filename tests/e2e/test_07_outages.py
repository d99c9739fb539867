"""Scenario 7: the in-cluster MariaDB pod, then a Redis pod, deleted under traffic. Users see
pages stay up while Redis is away, errors only while MariaDB is away, and nothing committed
is lost. The counts are printed for the issue note."""
from __future__ import annotations

import time

from testkit.polling import wait_for
from tests.e2e.traffic import Traffic


def _rows(cluster) -> tuple[int, int]:
    (monitors, checks), = cluster.sql("SELECT (SELECT COUNT(*) FROM monitors), (SELECT COUNT(*) FROM check_results)")
    return int(monitors), int(checks)


def _ready(cluster, component: str) -> bool:
    pods = cluster.pods(component)
    return bool(pods) and all(
        {c["type"]: c["status"] for c in p["status"].get("conditions", [])}.get("Ready") == "True"
        and not p["metadata"].get("deletionTimestamp") for p in pods)


def test_deleting_the_database_pod_loses_nothing_committed(cluster):
    monitors, checks = _rows(cluster)
    with Traffic(cluster) as traffic:
        time.sleep(5)
        cluster.kubectl("delete", "pod", "-l", cluster.selector("mysql"), "--wait=false")
        time.sleep(5)
        assert wait_for(lambda: _ready(cluster, "mysql"), timeout=240, interval=2)
        time.sleep(20)  # the web pods' pools reconnect
        recovered = len(traffic.failures)
        time.sleep(10)
    cluster.record(mariadb_outage_requests=traffic.total, mariadb_outage_failed_requests=len(traffic.failures))
    assert len(traffic.failures) == recovered, "errors went on after the database was back"
    after_monitors, after_checks = _rows(cluster)
    assert after_monitors == monitors and after_checks >= checks, ((monitors, checks), (after_monitors, after_checks))


def test_deleting_a_redis_pod_keeps_pages_up(cluster):
    for component in ("redis-cache", "redis-coordination"):
        with Traffic(cluster) as traffic:
            time.sleep(3)
            cluster.kubectl("delete", "pod", "-l", cluster.selector(component), "--wait=false")
            assert wait_for(lambda: _ready(cluster, component), timeout=180, interval=2)
            time.sleep(5)
        cluster.record(**{f"{component.replace('-', '_')}_outage_requests": traffic.total,
                          f"{component.replace('-', '_')}_outage_failed_requests": len(traffic.failures)})
        assert not traffic.failures, traffic.report() + f"\nfirst failures: {traffic.failures[:5]}"
