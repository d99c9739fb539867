"""The Dockerfile, built by a real Docker engine and run against real MariaDB and Redis.

Session fixtures, each made once:

- ``docker``: a client bound to an engine. An engine that already answers (``DOCKER_HOST``
  or the default socket) is used as is; otherwise hack/docker-engine.sh starts the
  project's private dockerd (overlay2 or vfs, no bridge) and this session stops it again at the end.
  The client is Debian's /usr/bin/docker (``VIGIL_DOCKER_CLIENT`` overrides): it builds
  with BuildKit without the buildx plugin.
- ``base_image``: ``VIGIL_BASE_IMAGE`` if set; else python:3.12-slim (the Dockerfile's
  default) when the engine already has it; else the debootstrap image of
  hack/base-image.sh (cached; made once in about a minute).
- ``image``: ``docker build`` of the repo with that base, the machine's pip CA bundle as
  the BuildKit secret ``pip_ca`` and its index URL as a build argument (see
  ``pip_build_options``), ``--network=host`` (the private engine has no bridge).
- MariaDB and Redis from the binaries on PATH (testkit/servers.py) on 127.0.0.1,
  reached from the containers through ``--network=host``; or ``TEST_DATABASE_URL`` /
  ``TEST_REDIS_URL`` as in tests/integration.

A missing docker.io, dockerd, debootstrap, MariaDB or Redis skips on a laptop and fails
in CI (testkit/services.py). Containers are named ``vigil-test-*`` and removed by
the ``containers`` fixture, whatever the outcome.
"""
from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit import ROOT
from testkit.servers import binaries_missing, create_database
from testkit.services import service_missing

IMAGE_TAG = os.environ.get("VIGIL_TEST_IMAGE", "vigil:test")
BUILD_TIMEOUT_S = float(os.environ.get("VIGIL_IMAGE_BUILD_TIMEOUT", "1200"))


def docker_client() -> str | None:
    explicit = os.environ.get("VIGIL_DOCKER_CLIENT")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    # Debian's docker.io client first: another `docker` on PATH may refuse BuildKit.
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class Docker:
    """A docker CLI bound to one engine. ``run`` never raises on a non-zero exit."""

    client: str
    env: dict[str, str]
    started_engine: bool = False

    def __call__(self, *args: str, timeout: float = 120, input: str | None = None,
                 check: bool = False) -> subprocess.CompletedProcess:
        result = subprocess.run([self.client, *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {shlex.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def answers(self) -> bool:
        try:
            return self("info", timeout=20).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def has_image(self, name: str) -> bool:
        return self("image", "inspect", name, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def docker() -> Docker:
    client = docker_client()
    if client is None:
        service_missing(f"docker client {os.environ.get('VIGIL_DOCKER_CLIENT') or '/usr/bin/docker'} "
                        "not found: apt-get install -y docker.io (Debian's client builds with BuildKit)")
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    existing = Docker(client, env)
    if existing.answers():  # an engine of the developer's own (DOCKER_HOST or the default socket)
        yield existing
        return
    if binaries_missing("dockerd") and not os.access("/usr/sbin/dockerd", os.X_OK):
        service_missing("dockerd not found: apt-get install -y docker.io")
    script = ["bash", str(ROOT / "hack" / "docker-engine.sh")]
    already_running = subprocess.run([*script, "status"], capture_output=True, timeout=60).returncode == 0
    started = subprocess.run([*script, "start"], capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        service_missing(f"could not start a Docker engine (hack/docker-engine.sh): {started.stderr[-2000:]}")
    env.update(_exports(started.stdout))
    engine = Docker(env.get("DOCKER", client), env, started_engine=not already_running)
    yield engine
    # Images replaced by a rebuild are dangling now; they cost disk (vfs keeps full copies).
    engine("image", "prune", "--force", timeout=300)
    if engine.started_engine:  # leave an engine someone else started running
        subprocess.run([*script, "stop"], capture_output=True, text=True, timeout=120)


def _exports(text: str) -> dict[str, str]:
    """`export NAME=VALUE` lines (as printed by hack/docker-engine.sh) as a dict."""
    found = {}
    for line in text.splitlines():
        parts = shlex.split(line)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            name, value = parts[1].split("=", 1)
            found[name] = value
    return found


@pytest.fixture(scope="session")
def base_image(docker: Docker) -> str:
    explicit = os.environ.get("VIGIL_BASE_IMAGE")
    if explicit:
        return explicit
    if docker.has_image("python:3.12-slim"):
        return "python:3.12-slim"
    if not docker.has_image("vigil-base:bookworm") and shutil.which("debootstrap") is None:
        service_missing("no base image can be pulled and debootstrap is missing to make one: "
                        "apt-get install -y debootstrap (or set VIGIL_BASE_IMAGE)")
    made = subprocess.run(["bash", str(ROOT / "hack" / "base-image.sh")], env=docker.env,
                          capture_output=True, text=True, timeout=900)
    if made.returncode != 0:
        service_missing(f"hack/base-image.sh failed: {made.stderr[-2000:]}")
    return made.stdout.strip().splitlines()[-1]


def pip_config() -> dict[str, str]:
    """`pip config list` of the machine, as {key: value} with the scope dropped
    (``global.cert='/x'`` and ``:env:.cert='/x'`` both give ``cert``; env wins)."""
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                                capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found: dict[str, str] = {}
    for line in sorted(listed.splitlines(), key=lambda l: l.startswith(":env:")):
        match = re.match(r"^(?P<scope>[^=]*?)\.(?P<key>[\w-]+)='(?P<value>.*)'$", line.strip())
        if match:
            found[match["key"]] = match["value"]
    return found


def pip_build_options() -> list[str]:
    """How this machine's pip reaches PyPI, as `docker build` options.

    - the CA bundle pip trusts (``VIGIL_PIP_CA``, else pip's configured ``cert``, else
      SSL_CERT_FILE / REQUESTS_CA_BUNDLE) as the BuildKit secret ``pip_ca``; on machines
      whose traffic goes through a TLS-intercepting proxy, pip in the build needs it;
    - a configured index (``index-url``, ``extra-index-url``) as build arguments.
    ``find-links`` (a local wheel folder) cannot be seen from inside a build, so it is left out.
    """
    config = pip_config()
    options: list[str] = []
    for candidate in (os.environ.get("VIGIL_PIP_CA"), config.get("cert"),
                      os.environ.get("SSL_CERT_FILE"), os.environ.get("REQUESTS_CA_BUNDLE")):
        if candidate and Path(candidate).is_file():
            options += ["--secret", f"id=pip_ca,src={candidate}"]
            break
    if config.get("index-url"):
        options += ["--build-arg", f"PIP_INDEX_URL={config['index-url']}"]
    if config.get("extra-index-url"):
        options += ["--build-arg", f"PIP_EXTRA_INDEX_URL={config['extra-index-url']}"]
    return options


@dataclass
class BuiltImage:
    name: str
    base: str
    seconds: float
    log: str = field(repr=False)


def build_image(docker: Docker, *, tag: str, base: str, context: Path = ROOT,
                dockerfile: Path | None = None, extra: list[str] | None = None) -> BuiltImage:
    args = ["build", "--network=host", "--progress=plain", "--build-arg", f"BASE_IMAGE={base}",
            *pip_build_options(), *(extra or []), "-t", tag]
    if dockerfile is not None:
        args += ["-f", str(dockerfile)]
    started = time.monotonic()
    result = docker(*args, str(context), timeout=BUILD_TIMEOUT_S)
    seconds = time.monotonic() - started
    log = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"docker build failed ({result.returncode}); last lines:\n{log[-6000:]}",
                    pytrace=False)
    return BuiltImage(tag, base, seconds, log)


@pytest.fixture(scope="session")
def image(docker: Docker, base_image: str) -> BuiltImage:
    return build_image(docker, tag=IMAGE_TAG, base=base_image,
                       extra=["--build-arg", "REVISION=test"])


@pytest.fixture(scope="session")
def development_image(docker: Docker, base_image: str, image: BuiltImage) -> BuiltImage:
    """The Dockerfile's `development` target (what `skaffold dev` builds); after `image`, so
    it reuses that build's cached stages."""
    return build_image(docker, tag=f"{IMAGE_TAG}-development", base=base_image,
                       extra=["--target", "development"])


# ---- MariaDB and Redis on 127.0.0.1, reached from containers through --network=host ----

@pytest.fixture
def fresh_database(mariadb_url) -> str:
    """A new, empty database (no schema)."""
    return create_database(mariadb_url)


@pytest.fixture
def production_env(redis_base_url):
    """Everything VIGIL_ENV=production requires, except DATABASE_URL."""
    return {"VIGIL_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
            "REDIS_URL": f"{redis_base_url}/2", "REDIS2_URL": f"{redis_base_url}/3"}


# ---- containers, always removed ----------------------------------------------------------

# How Kubernetes runs the chart's pods (restricted Pod Security): not root, read-only root
# filesystem with a writable /tmp, no capabilities, no privilege escalation.
HARDENED = ["--network=host", "--read-only", "--tmpfs", "/tmp", "--user", "10001:10001",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]


class Containers:
    """`docker run` with unique names; never pulls (the image is built here, and our
    machines must not reach for a registry)."""

    def __init__(self, docker: Docker) -> None:
        self.docker = docker
        self.names: list[str] = []

    def name(self) -> str:
        name = f"vigil-test-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        return name

    def run(self, image: str, *command: str, env: dict[str, str] | None = None,
            options: list[str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
        """Run to completion (`--rm` is not used, so a failure's logs survive until teardown)."""
        env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        return self.docker("run", "--pull=never", "--name", self.name(), *(options if options is not None else HARDENED),
                           *env_args, image, *command, timeout=timeout)

    def start(self, image: str, *command: str, env: dict[str, str] | None = None,
              options: list[str] | None = None) -> str:
        name = self.name()
        env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        self.docker("run", "--pull=never", "--detach", "--name", name, *(options if options is not None else HARDENED),
                    *env_args, image, *command, check=True)
        return name

    def logs(self, name: str) -> str:
        result = self.docker("logs", name, timeout=30)
        return result.stdout + result.stderr

    def remove_all(self) -> None:
        for name in self.names:
            self.docker("rm", "--force", "--volumes", name, timeout=60)


@pytest.fixture
def containers(docker: Docker, request):
    made = Containers(docker)
    yield made
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name in made.names:
            print(f"--- docker logs {name}\n{made.logs(name)[-4000:]}")
    made.remove_all()
