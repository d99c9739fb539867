"""Throwaway MariaDB, Redis and gunicorn processes for tests and benchmarks.

MariaDB and Redis are started with pytest-mysql's and pytest-redis's executors
(plain classes, usable outside pytest, so bench/ shares them), on random free
ports on 127.0.0.1 with data in a temp dir. ``TEST_DATABASE_URL`` and
``TEST_REDIS_URL`` name existing servers instead; those are never stopped.

Caveats: the servers run as the current user (root in CI, hence ``--user=root``
for mariadbd); each process is stopped by its owner (fixture teardown or the
benchmark's ``finally``), and mirakuru kills its process group on stop.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.request import urlopen

import port_for
import pymysql

from testkit import ROOT



def stop_process_group(process: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """SIGTERM the group `process` leads, SIGKILL it after `timeout`; no-op if already gone."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop_or_kill(server: "RedisServer | MariaDBServer") -> None:
    """stop(); if that fails (say, interrupted half-way through start), kill it, then re-raise."""
    try:
        server.stop()
    except Exception:
        if server.executor.running():
            server.executor.kill()
        raise


def binaries_missing(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


class RedisServer:
    """A redis-server on 127.0.0.1; ``stop()`` and ``start()`` may be called for outage tests."""

    def __init__(self, workdir: Path) -> None:
        from pytest_redis.executor import RedisExecutor

        self.port = port_for.select_random()
        self.executor = RedisExecutor(
            executable=shutil.which("redis-server") or "redis-server", databases=4,
            redis_timeout=5, loglevel="warning", host="127.0.0.1", port=self.port,
            datadir=workdir, save="")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        self.executor.start()
        return self

    def stop(self) -> None:
        if self.executor.running():
            self.executor.stop()


class MariaDBServer:
    """A MariaDB server on 127.0.0.1 with an account ``vigil``/``vigil`` for TCP clients.

    The account is made through root's unix socket right after start, because a
    fresh MariaDB lets root in only through that socket.
    """

    USER, PASSWORD = "vigil", "vigil"

    def __init__(self, workdir: Path) -> None:
        from pytest_mysql.executor import MySQLExecutor

        self.port = port_for.select_random()
        self.executor = MySQLExecutor(
            mysqld_safe=Path(shutil.which("mysqld_safe") or "mysqld_safe"),
            mysqld=Path(shutil.which("mysqld") or shutil.which("mariadbd") or "mysqld"),
            admin_exec=shutil.which("mysqladmin") or "mysqladmin",
            logfile_path=str(workdir / "mariadb.log"),
            params="--innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2",
            base_directory=workdir, user="root", host="127.0.0.1", port=self.port,
            install_db=shutil.which("mysql_install_db") or "mysql_install_db")

    def start(self) -> "MariaDBServer":
        self.executor.start()
        connection = pymysql.connect(unix_socket=self.executor.unixsocket, user="root")
        try:
            with connection.cursor() as cursor:
                for host in ("127.0.0.1", "localhost"):
                    cursor.execute(f"CREATE USER IF NOT EXISTS '{self.USER}'@'{host}' "
                                   f"IDENTIFIED BY '{self.PASSWORD}'")
                    cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{self.USER}'@'{host}'")
        finally:
            connection.close()
        return self

    def stop(self) -> None:
        if self.executor.running():
            self.executor.stop()

    def server_url(self) -> str:
        return f"mysql+pymysql://{self.USER}:{self.PASSWORD}@127.0.0.1:{self.port}"


def create_database(server_url: str, name: str | None = None) -> str:
    """Create a fresh utf8mb4 database on the server and return its SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = name or f"vigil_{uuid.uuid4().hex[:12]}"
    connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                 password=url.password or "")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        connection.close()
    return str(url.set(database=name).render_as_string(hide_password=False)) + "?charset=utf8mb4"


def migrate(database_url: str, revision: str = "head", command: str = "upgrade") -> None:
    """Bring `database_url` to the code's schema revision, as the migration Job does (or
    to `revision`, by `command` "upgrade" or "downgrade")."""
    env = dict(os.environ, DATABASE_URL=database_url, VIGIL_ENV="testing")
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", command, revision],
                   cwd=ROOT, env=env, check=True, capture_output=True)


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py app.wsgi:app` on a free loopback port (`wsgi`: another
    app under the same settings, such as bench web's bare Flask app)."""

    def __init__(self, *, env: dict[str, str], workers: int = 4, threads: int = 1,
                 workdir: Path | None = None, wsgi: str = "app.wsgi:app") -> None:
        self.wsgi = wsgi
        self.port = port_for.select_random()
        self.workers = workers
        self.threads = threads
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="vigil-gunicorn-"))
        self.env = {**os.environ, "VIGIL_INSTANCE_PATH": str(self.workdir / "instance"), **env}
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "gunicorn.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Gunicorn":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--workers", str(self.workers), "--threads", str(self.threads),
             "--bind", f"127.0.0.1:{self.port}", self.wsgi],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                with urlopen(self.base_url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {timeout}s: {self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        stop_process_group(self.process, timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
