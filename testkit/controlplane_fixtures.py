"""Pytest plugin: a real Kubernetes control plane (testkit/controlplane.py) as fixtures.

Why a plugin module and not only a conftest: other test dirs (chart, e2e) need the same
*single* session control plane. Register it from any conftest with

    def pytest_configure(config):
        config.pluginmanager.import_plugin("testkit.controlplane_fixtures")

(idempotent; fixtures of a registered plugin are visible everywhere), or put
`pytest_plugins = ["testkit.controlplane_fixtures"]` in the root tests/conftest.py.

Fixtures:
- control_plane (session): etcd + kube-apiserver. Binaries from KUBEBUILDER_ASSETS, else
  from the cache of hack/k8s-assets.sh *only if already built* (`--check`; a 15-minute
  build is never started from pytest). Missing binaries: skip on a laptop, fail in CI.
- kube_client (session): admin kubernetes.client.ApiClient (system:masters).
- namespace (function): a fresh namespace name, deleted after the test.
- controller_manager (session): starts kube-controller-manager on demand.
Logs (one file per process) are kept, and their dir printed in the terminal summary,
when any test failed or VIGIL_K8S_KEEP=1; otherwise the temp dir is removed.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import kubernetes.client
import pytest

from testkit.controlplane import ControlPlane, ControlPlaneError, find_assets
from testkit.services import service_missing

_kept_logs: list[str] = []


def assets_or_skip() -> str:
    """The KUBEBUILDER_ASSETS dir to use (controlplane.find_assets), or skip/fail via service_missing()."""
    try:
        return find_assets()
    except ControlPlaneError as e:
        service_missing(str(e))
        raise


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "k8s: needs a real etcd + kube-apiserver (KUBEBUILDER_ASSETS)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for d in _kept_logs:
        terminalreporter.write_line(f"k8s control plane logs kept in {d}")


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    cp = ControlPlane(assets_or_skip())
    try:
        cp.start()
    except ControlPlaneError as e:
        cp.stop(keep_logs=True)
        _kept_logs.append(str(cp.dir))
        pytest.fail(f"control plane did not start: {e}", pytrace=False)
    yield cp
    keep = request.session.testsfailed > 0 or os.environ.get("VIGIL_K8S_KEEP") == "1"
    cp.stop(keep_logs=keep)
    if keep:
        _kept_logs.append(str(cp.dir))


@pytest.fixture(scope="session")
def kube_client(control_plane: ControlPlane) -> Iterator[kubernetes.client.ApiClient]:
    with control_plane.admin_client() as client:
        yield client


@pytest.fixture
def namespace(kube_client: kubernetes.client.ApiClient, control_plane: ControlPlane,
              request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace, ready for pods whichever tests ran before.

    Once any test has started kube-controller-manager, ServiceAccount admission is on for
    the rest of the session and refuses pods until the namespace has its "default"
    ServiceAccount. The controller makes it a moment after the namespace, or up to a
    minute later when its informers are backing off after an apiserver restart, so the
    fixture creates it itself; whichever comes second gets 409 and changes nothing.
    """
    name = f"{re.sub(r'[^a-z0-9]+', '-', request.node.name.lower())[:40].strip('-')}-{uuid.uuid4().hex[:6]}"
    core = kubernetes.client.CoreV1Api(kube_client)
    core.create_namespace(kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name=name)))
    if control_plane.controller_manager is not None and control_plane.controller_manager.alive():
        try:
            core.create_namespaced_service_account(name, kubernetes.client.V1ServiceAccount(
                metadata=kubernetes.client.V1ObjectMeta(name="default")))
        except kubernetes.client.ApiException as e:
            if e.status != 409:
                raise
    yield name
    try:
        core.delete_namespace(name)
    except kubernetes.client.ApiException as e:  # the test may have deleted it
        if e.status != 404:
            raise


@pytest.fixture(scope="session")
def controller_manager(control_plane: ControlPlane) -> ControlPlane:
    try:
        control_plane.start_controller_manager()
    except ControlPlaneError as e:
        pytest.fail(f"kube-controller-manager did not start: {e}", pytrace=False)
    return control_plane


def api_status(call) -> int:
    """The HTTP status an API call fails with (200 if it succeeds)."""
    try:
        call()
    except kubernetes.client.ApiException as exc:
        return int(exc.status)
    return 200
