"""tests/e2e: Vigil on a real kind cluster, made by hack/e2e.sh (`make e2e`).

The suite runs only inside hack/e2e.sh, which passes the cluster in VIGIL_E2E_* variables;
`make test` leaves this directory out (pytest's root conftest). Run alone, every test skips
on a laptop and fails in CI, like any test whose service is missing.
"""
from __future__ import annotations

import pytest

from testkit.chromium import headless_chromium
from testkit.services import service_missing
from tests.e2e.cluster import Cluster


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    found = Cluster.from_environment()
    if found is None:
        service_missing("no kind cluster: run the e2e suite through hack/e2e.sh (make e2e)")
    return found


@pytest.fixture(scope="session")
def browser():
    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, cluster):
    context = browser.new_context(base_url=cluster.browser_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()
