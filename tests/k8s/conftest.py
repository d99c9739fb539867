"""tests/k8s: registers the control-plane fixtures and markers (see testkit/controlplane_fixtures.py)."""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("testkit.controlplane_fixtures")
