"""tests/chart: the Helm chart rendered with `helm template` and asserted (Airflow style),
and, under @pytest.mark.k8s, applied to a real kube-apiserver (testkit/controlplane_fixtures.py)."""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The same session control plane as tests/k8s (control_plane, kube_client, namespace).
    config.pluginmanager.import_plugin("testkit.controlplane_fixtures")
