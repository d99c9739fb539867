"""Two ways to install: with no values at all (in-cluster MariaDB on a claim and two Redis,
generated credentials: for trying Vigil), and production (the in-cluster servers off,
external URLs or an existing Secret). Between them the chart refuses what it cannot use,
every problem in one error: a missing URL, or one that would be silently ignored.
The zero-values install on a real apiserver is in test_apiserver.py."""
from __future__ import annotations

import pytest

from tests.chart.chart import PROD, container, find, hook, one, pod_templates, render, render_error, secret_data


def test_zero_values_render_a_release_with_its_own_servers():
    objects = render(())
    data = secret_data(objects)
    password = secret_data(objects, "vigil-mysql")["mysql-password"]
    assert data["DATABASE_URL"] == f"mysql+pymysql://vigil:{password}@vigil-mysql:3306/vigil"
    assert (data["REDIS_URL"], data["REDIS2_URL"]) == ("redis://vigil-redis-cache:6379/0",
                                                       "redis://vigil-redis-coordination:6379/0")
    assert len(password) >= 16 and len(data["SECRET_KEY"]) >= 32 and len(data["VIGIL_ADMIN_PASSWORD"]) >= 16
    claim = one(objects, "PersistentVolumeClaim", "vigil-mysql")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"] and "storageClassName" not in claim["spec"]
    database = one(objects, "Deployment", "vigil-mysql")["spec"]["template"]["spec"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "vigil-mysql"}} in database["volumes"]
    assert container(database, "mysql")["image"] == "mariadb:11.4"
    assert {d["metadata"]["name"] for d in find(objects, "Deployment")} == {
        "vigil", "vigil-mysql", "vigil-redis-cache", "vigil-redis-coordination"}
    assert {hook(o) for o in objects} == {None, "test"}, "no install hook waits for a database created after it"
    assert len(pod_templates(objects)) >= 8


def test_production_values_render_external_services_only():
    objects = render(PROD)
    names = {o["metadata"]["name"] for o in objects}
    assert not {n for n in names if "mysql" in n or "redis" in n}
    assert not find(objects, "PersistentVolumeClaim")
    data = secret_data(objects)
    assert data["DATABASE_URL"].startswith("mysql+pymysql://vigil:not-a-real-password@db.example.internal:3306/")
    assert data["REDIS2_URL"] == "redis://coord.example.internal:6379/0"
    assert hook(one(objects, "Job", "vigil-migrate")) == "pre-install,pre-upgrade"


SERVERS_OFF = {"mysql.enabled": False, "redis.enabled": False}
REQUIRED = ("database.url", "externalRedis.cacheUrl", "externalRedis.coordinationUrl")


def problems(message: str) -> list[str]:
    """The `  - missing: ...` / `  - conflict: ...` lines of the chart's one values error."""
    return [line.strip()[2:] for line in message.splitlines() if line.startswith("  - ")]


def test_servers_off_and_nothing_set_names_every_missing_value_in_one_error():
    message = render_error((), SERVERS_OFF)
    assert [p.split()[1] for p in problems(message)] == list(REQUIRED), message
    assert all(p.startswith("missing: ") for p in problems(message))
    assert "existingSecret" in message and "mysql.enabled and redis.enabled at true" in message


@pytest.mark.parametrize("values, missing", [
    ({"mysql.enabled": False}, ["database.url"]),
    ({"redis.enabled": False}, ["externalRedis.cacheUrl", "externalRedis.coordinationUrl"]),
    ({**SERVERS_OFF, "database.url": "mysql+pymysql://u:p@db/vigil"},
     ["externalRedis.cacheUrl", "externalRedis.coordinationUrl"]),
    ({**SERVERS_OFF, "database.url": "mysql+pymysql://u:p@db/vigil", "externalRedis.cacheUrl": "redis://c:6379/0"},
     ["externalRedis.coordinationUrl"]),
], ids=["database-off", "redis-off", "only-database-given", "coordination-missing"])
def test_only_what_is_missing_is_named(values, missing):
    assert [p.split()[1] for p in problems(render_error((), values))] == missing


@pytest.mark.parametrize("values, conflicts", [
    ({"database.url": "mysql+pymysql://u:p@db/vigil"}, ["database.url is set but mysql.enabled=true"]),
    ({"externalRedis.coordinationUrl": "redis://c:6379/0"}, ["externalRedis is set but redis.enabled=true"]),
    ({"existingSecret": "creds"}, ["mysql.enabled=true (the default) runs an in-cluster MariaDB that nothing would use",
                                   "redis.enabled=true (the default) runs in-cluster Redis that nothing would use"]),
    ({"existingSecret": "creds", "mysql.enabled": False, "database.url": "mysql+pymysql://u:p@db/vigil",
      "secretKey": "k" * 40}, ["secretKey is set but existingSecret=creds", "database.url is set but existingSecret=creds",
                               "redis.enabled=true (the default) runs in-cluster Redis"]),
], ids=["database-url-beside-mariadb", "redis-url-beside-redis", "existing-secret-beside-servers", "several"])
def test_values_the_chart_would_ignore_are_refused_all_at_once(values, conflicts):
    """A URL set while the in-cluster server is on (the default) would be silently ignored."""
    found = problems(render_error((), values))
    assert len(found) == len(conflicts), found
    for problem, expected in zip(found, conflicts):
        assert problem.startswith(f"conflict: {expected}"), (problem, expected)
