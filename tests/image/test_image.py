"""The image as Kubernetes runs it: web, a job and the migrations, from one Dockerfile.

Every container runs the way the chart's restricted pods do (conftest.HARDENED): uid
10001, read-only root filesystem with a tmpfs /tmp, no capabilities, no privilege
escalation, on the host network (the test engine has no bridge) against real MariaDB
and Redis on 127.0.0.1.
"""
from __future__ import annotations

import json
import re
import time
from urllib.error import URLError
from urllib.request import urlopen

import port_for
import pymysql
import pytest
from sqlalchemy.engine import make_url

from testkit import ROOT

pytestmark = [pytest.mark.image, pytest.mark.slow]


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except URLError as exc:
        if hasattr(exc, "code"):  # HTTPError: a status, not a connection failure
            return exc.code, exc.read()
        raise


def wait_for_http(url: str, containers, name: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = containers.docker("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        if state not in {"created", "running"}:
            pytest.fail(f"container {state} before answering:\n{containers.logs(name)[-4000:]}")
        try:
            if get(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200 within {timeout}s:\n{containers.logs(name)[-4000:]}")


def alembic_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(ROOT / "migrations")).get_heads())


def schema_revisions(database_url: str) -> set[str]:
    url = make_url(database_url)
    connection = pymysql.connect(host=url.host, port=url.port, user=url.username,
                                 password=url.password, database=url.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


# ---- what the image is ------------------------------------------------------------------

def test_image_metadata(docker, image):
    config = json.loads(docker("image", "inspect", image.name, "--format", "{{json .Config}}",
                               check=True).stdout)
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["gunicorn", "-c", "gunicorn.conf.py", "app.wsgi:app"]
    assert not config.get("Entrypoint"), "an ENTRYPOINT would break Kubernetes `args:` and job commands"
    assert "8000/tcp" in config["ExposedPorts"]
    assert config["WorkingDir"] == "/app"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert env["VIGIL_INSTANCE_PATH"].startswith("/tmp/")
    # Not set image-wide: gunicorn.conf.py makes one under /tmp for the web process; set for
    # every process it breaks `flask db upgrade` and the jobs (see the Dockerfile).
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    assert env["TMPDIR"] == "/tmp"
    assert env["GUNICORN_WORKER_TMP_DIR"] in {"/tmp", "/dev/shm"}
    assert env["GUNICORN_BIND"] == "0.0.0.0:8000"
    labels = config["Labels"]
    for key in ("title", "description", "source", "licenses", "version", "revision"):
        assert f"org.opencontainers.image.{key}" in labels
    assert labels["org.opencontainers.image.title"] == "vigil"
    assert labels["org.opencontainers.image.revision"] == "test"


def test_default_user_is_10001(containers, image):
    # No --user: the image's own USER applies, as with Kubernetes' runAsNonRoot.
    result = containers.run(image.name, "sh", "-c", "id -u; id -g",
                            options=["--network=host", "--read-only", "--tmpfs", "/tmp"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10001", "10001"]


def test_runtime_has_no_compiler_no_pip_and_no_pip_cache(containers, image):
    # As root, so nothing is hidden by permissions (/root is 0700).
    script = ("for tool in gcc cc c++ g++ clang make ld; do command -v $tool && echo FOUND $tool; done; "
              "find / -xdev \\( -path '*/.cache/pip' -o -path '*/.cache/pip/*' \\) -print -quit; "
              "test -e /tmp/requirements.txt && echo FOUND requirements.txt; "
              "ls /opt/venv/bin/pip* 2>/dev/null; /opt/venv/bin/python -c 'import pip' 2>/dev/null && echo FOUND pip; "
              "ls -d /app/tests /app/.git /app/.venv /app/charts 2>/dev/null; true")
    result = containers.run(image.name, "sh", "-c", script, options=["--network=host", "--user", "0"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"build leftovers in the runtime image:\n{result.stdout}"


def test_bytecode_is_precompiled(containers, image):
    """Nothing of the app or its venv is compiled at import time (read-only root fs)."""
    result = containers.run(
        image.name, "python", "-v", "-c",
        "import app, app.jobs.cli, app.web.health, flask, sqlalchemy, gunicorn.app.wsgiapp, "
        "alembic, redis, pymysql, prometheus_client")
    assert result.returncode == 0, result.stderr[-3000:]
    # importlib -v: "code object from '<x.pyc>'" for bytecode, "code object from <x.py>" for source.
    compiled_now = [line for line in result.stderr.splitlines()
                    if re.match(r"# code object from /(app|opt/venv)/", line)]
    assert compiled_now == []
    assert "code object from '/app/app/__pycache__/" in result.stderr


def test_development_target_lets_the_image_user_overwrite_synced_files(containers, image, development_image):
    """skaffold's file sync is `kubectl exec ... tar x` as the container's user (10001) into
    /app: in the development image that user owns the app's files (and VIGIL_ENV says
    development, so templates reload); the production image refuses the same writes even
    on a writable root filesystem."""
    writable_root = ["--network=host", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
    sync = ("set -e; echo changed > /app/app/templates/base.html; mkdir -p /app/app/static/new; "
            "echo new > /app/app/static/new/added.css; id -u; echo $VIGIL_ENV")
    result = containers.run(development_image.name, "sh", "-c", sync, options=writable_root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10001", "development"]
    refused = containers.run(image.name, "sh", "-c", sync, options=writable_root)
    assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused.stdout + refused.stderr


# ---- what the image does ----------------------------------------------------------------

def test_migrations_run_from_the_image(containers, image, fresh_database, production_env):
    """What the chart's migration Job does: `python -m flask --app app db upgrade`."""
    env = {**production_env, "DATABASE_URL": fresh_database}
    upgrade = containers.run(image.name, "python", "-m", "flask", "--app", "app", "db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stdout[-2000:] + upgrade.stderr[-3000:]
    assert schema_revisions(fresh_database) == alembic_heads()
    # ...and what the web pods' init container waits for: "<rev> (head)".
    current = containers.run(image.name, "python", "-m", "flask", "--app", "app", "db", "current", env=env)
    assert current.returncode == 0, current.stderr[-3000:]
    assert "(head)" in current.stdout


def test_web_serves_on_a_read_only_root(containers, image, database_url, production_env):
    port = port_for.select_random()
    env = {**production_env, "DATABASE_URL": database_url,
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "VIGIL_TIMER_BACKEND": "host", "VIGIL_CRON_IN_PROCESS": "false"}
    name = containers.start(image.name, env=env)  # the image's CMD: gunicorn
    base = f"http://127.0.0.1:{port}"
    wait_for_http(base + "/healthz", containers, name)

    status, body = get(base + "/readyz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"
    assert get(base + "/")[0] == 200  # the dashboard: templates, database, shared cache
    status, body = get(base + "/metrics")  # multi-process files under /tmp
    assert status == 200 and b"vigil_http_requests_total" in body

    # The server runs as 10001, on a read-only root with a writable /tmp.
    uid = containers.docker("exec", name, "sh", "-c", "grep '^Uid:' /proc/1/status", check=True)
    assert uid.stdout.split()[1:] == ["10001"] * 4
    assert containers.docker("exec", name, "sh", "-c", "touch /app/x").returncode != 0
    assert containers.docker("exec", name, "sh", "-c", "touch /opt/venv/x").returncode != 0
    containers.docker("exec", name, "sh", "-c", "touch /tmp/x", check=True)

    # SIGTERM (docker stop, like the kubelet): gunicorn finishes and exits 0 in time.
    started = time.monotonic()
    containers.docker("stop", "--time", "30", name, check=True, timeout=60)
    assert time.monotonic() - started < 25
    exit_code = containers.docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert exit_code == "0", containers.logs(name)[-3000:]


def test_job_runs_and_a_second_run_of_its_slot_is_skipped(containers, image, database_url,
                                                          production_env):
    env = {**production_env, "DATABASE_URL": database_url}
    command = ["python", "-m", "app.jobs", "run", "prune-history", "--slot", "2026-01-01T03:00:00Z"]
    first = containers.run(image.name, *command, env=env)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert "succeeded" in first.stderr
    second = containers.run(image.name, *command, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "skipped" in second.stderr


def test_unknown_job_is_a_usage_error(containers, image, production_env):
    env = {**production_env, "DATABASE_URL": "mysql+pymysql://nobody:x@127.0.0.1:9/none"}
    result = containers.run(image.name, "python", "-m", "app.jobs", "run", "no-such-job", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no-such-job" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secrets_refuses_to_start(containers, image):
    result = containers.run(image.name, "python", "-m", "app.jobs", "run", "prune-history")
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr

