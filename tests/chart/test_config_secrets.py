"""The ConfigMap carries every non-secret setting; the Secret (or an existing one) the
secrets. No default credentials: generated ones, kept across upgrades, or given ones
(what the chart refuses to render without: test_zero_config.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import SETTINGS
from tests.chart.chart import DEV, EXISTING, PROD, REPO, find, one, pod_templates, render, render_error, secret_data

GUNICORN_ENV = set(re.findall(r'os\.environ\.get\("(GUNICORN_\w+)"', (REPO / "gunicorn.conf.py").read_text()))
README_ENV = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", (REPO / "README.md").read_text(), flags=re.M))
KNOWN_ENV = {s.env for s in SETTINGS} | GUNICORN_ENV | README_ENV


def test_every_variable_the_chart_sets_is_one_the_app_reads():
    objects = render(PROD)
    names = set(one(objects, "ConfigMap", "vigil")["data"]) | set(secret_data(objects))
    for _, pod in pod_templates(render(DEV)):
        for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
            names |= {e["name"] for e in c.get("env", [])}
    chart_only = {"VIGIL_SCHEMA_WAIT_TIMEOUT", "VIGIL_SCHEMA_WAIT_INTERVAL",  # init script
                  "VIGIL_URL", "VIGIL_TEST_TIMEOUT",  # helm test script
                  "MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD",
                  "MARIADB_AUTO_UPGRADE"}
    assert names - chart_only <= KNOWN_ENV, sorted(names - chart_only - KNOWN_ENV)


def test_configmap_maps_values_to_settings():
    data = one(render(PROD, {"config": {"env": "production", "publicReads": False, "historyDays": 9,
                                         "extraEnv": {"VIGIL_CACHE_TTL": "5", "HTTPS_PROXY": "http://p:3128"}}}),
               "ConfigMap", "vigil")["data"]
    assert data["VIGIL_ENV"] == "production"
    assert data["VIGIL_PUBLIC_READS"] == "false"
    assert data["VIGIL_HISTORY_DAYS"] == "9"
    assert data["HTTPS_PROXY"] == "http://p:3128"
    assert data["VIGIL_SEED_URL"] == "http://vigil:80/healthz", "the seeded monitor probes the Service"
    assert data["VIGIL_INSTANCE_PATH"].startswith("/tmp/") and data["VIGIL_LOCK_DIR"] == "/tmp"
    assert all(isinstance(v, str) for v in data.values())
    assert not {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "REDIS2_URL", "VIGIL_ADMIN_PASSWORD",
                "VIGIL_METRICS_TOKEN"} & set(data)


def test_external_urls_go_into_the_secret():
    data = secret_data(render(PROD))
    assert data["DATABASE_URL"] == "mysql+pymysql://vigil:not-a-real-password@db.example.internal:3306/vigil"
    assert data["REDIS_URL"] == "redis://cache.example.internal:6379/0"
    assert data["REDIS2_URL"] == "redis://coord.example.internal:6379/0"


def test_generated_secrets_are_strong_and_given_ones_are_kept():
    data = secret_data(render(PROD))
    assert len(data["SECRET_KEY"]) >= 32 and len(data["VIGIL_ADMIN_PASSWORD"]) >= 16
    again = secret_data(render(PROD, {"config.historyDays": 31}))  # another render, no cluster to look up
    assert again["SECRET_KEY"] != data["SECRET_KEY"]
    given = secret_data(render(PROD, {"secretKey": "s" * 40, "adminPassword": "hunter2hunter2"}))
    assert (given["SECRET_KEY"], given["VIGIL_ADMIN_PASSWORD"]) == ("s" * 40, "hunter2hunter2")


def test_generated_values_are_the_same_everywhere_in_one_render():
    objects = render(DEV)
    main = secret_data(objects)
    mysql_password = secret_data(objects, "vigil-mysql")["mysql-password"]
    assert main["DATABASE_URL"].startswith(f"mysql+pymysql://vigil:{mysql_password}@vigil-mysql:3306/vigil")
    objects = render(PROD, {"migrations.asHook": True})
    assert secret_data(objects) == secret_data(objects, "vigil-migrate")


def test_mysql_password_is_url_quoted():
    data = secret_data(render(DEV, {"mysql.auth.password": "p@ss/w:rd"}))
    assert data["DATABASE_URL"] == "mysql+pymysql://vigil:p%40ss%2Fw%3Ard@vigil-mysql:3306/vigil"


def test_in_cluster_redis_urls():
    data = secret_data(render(DEV))
    assert data["REDIS_URL"] == "redis://vigil-redis-cache:6379/0"
    assert data["REDIS2_URL"] == "redis://vigil-redis-coordination:6379/0"


def test_existing_secret_replaces_the_chart_secret_everywhere():
    objects = render(EXISTING)
    assert not [s for s in find(objects, "Secret")]
    for where, pod in pod_templates(objects):
        for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
            refs = [e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e]
            if refs:
                assert refs == ["vigil-credentials"], where


@pytest.mark.parametrize("values, message", [
    ({"database.url": "mysql+pymysql://x"}, "database.url is set but existingSecret=vigil-credentials"),
    ({"secretKey": "k" * 40}, "secretKey is set but existingSecret"),
    ({"adminPassword": "pw"}, "adminPassword is set but existingSecret"),
    ({"externalRedis.cacheUrl": "redis://c"}, "externalRedis is set but existingSecret"),
    ({"metrics.token": "t" * 32}, "metrics.token is set but existingSecret"),
    ({"channelKeys": "c" * 43 + "="}, "channelKeys is set but existingSecret"),
])
def test_existing_secret_refuses_values_it_would_ignore(values, message):
    assert message in render_error(EXISTING, values)


def test_values_yaml_holds_no_credentials():
    text = Path(REPO / "charts" / "vigil" / "values.yaml").read_text()
    for key in ("secretKey", "adminPassword", "url", "cacheUrl", "coordinationUrl", "password", "token"):
        assert re.search(rf"^\s*{key}: \"\"$", text, flags=re.M), key


def test_the_generated_channel_key_is_a_fernet_key_the_app_accepts():
    from app.config import _fernet_keys

    key = secret_data(render(PROD))["VIGIL_CHANNEL_KEYS"]
    assert _fernet_keys(key) == (key,)
    again = secret_data(render(PROD, {"config.historyDays": 31}))["VIGIL_CHANNEL_KEYS"]
    assert again != key  # generated per render here; kept across upgrades by lookup (test_apiserver)
    given = "g" * 43 + "="
    assert secret_data(render(PROD, {"channelKeys": given}))["VIGIL_CHANNEL_KEYS"] == given
