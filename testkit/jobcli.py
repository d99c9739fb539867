"""Run `python -m app.jobs` as a real subprocess, as a CronJob pod would."""
from __future__ import annotations

import os
import subprocess
import sys

from testkit import ROOT


def jobs_cli(*args: str, env: dict[str, str], timeout: float = 60, **popen) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "VIGIL_EXTRA_JOBS": "testkit.jobs", **env}
    return subprocess.run([sys.executable, "-m", "app.jobs", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, **popen)


def start_jobs_cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    full_env = {**os.environ, "VIGIL_EXTRA_JOBS": "testkit.jobs", **env}
    return subprocess.Popen([sys.executable, "-m", "app.jobs", *args], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
