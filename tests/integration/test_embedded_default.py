"""`python -m app` (what `make run` runs) on a machine with no servers: it migrates,
seeds the self-check monitor, prints a generated admin password once, serves the
UI with gunicorn, and runs check-monitors in-process against its own /healthz."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import port_for
import pytest
import requests

from testkit import ROOT

pytestmark = pytest.mark.slow


def _start(tmp_path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "REDIS2_URL", "VIGIL_ENV", "VIGIL_ADMIN_PASSWORD")}
    env.update(VIGIL_INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port))
    return subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env, text=True,
                            stdout=open(tmp_path / "out.log", "a"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def test_embedded_default_serves_seeds_and_checks_itself(tmp_path):
    port = port_for.select_random()
    base = f"http://127.0.0.1:{port}"
    process = _start(tmp_path, port)
    try:
        _wait_for(base + "/healthz")
        output = (tmp_path / "out.log").read_text()
        password = re.search(r"Password:\s+(\S+)", output).group(1)
        assert "Vigil itself" in requests.get(base + "/", timeout=10).text

        session = requests.Session()
        page = session.get(base + "/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        login = session.post(base + "/login", data={"username": "admin", "password": password,
                                                   "csrf_token": token}, allow_redirects=False)
        assert login.status_code == 302

        # check-monitors runs every minute in-process here: the seeded monitor turns up.
        deadline = time.monotonic() + 90
        state = None
        while time.monotonic() < deadline:
            state = requests.get(base + "/api/v1/monitors", timeout=10).json()["monitors"][0]["state"]
            if state != "pending":
                break
            time.sleep(2)
        assert state == "up", (tmp_path / "out.log").read_text()[-3000:]
    finally:
        _stop(process)

    # A second start keeps the account and does not print a password again.
    process = _start(tmp_path, port)
    try:
        _wait_for(base + "/healthz")
        assert (tmp_path / "out.log").read_text().count("Password:") == 1
    finally:
        _stop(process)
