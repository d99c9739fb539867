"""The CronJob names the chart renders are the ones the app computes (app/runtime.py), from
the prefix the chart hands it in VIGIL_CRONJOB_PREFIX: Run now and the jobs page find the
CronJob they mean, for any release name."""
from __future__ import annotations

import pytest

from app import runtime
from tests.chart.chart import PROD, find, one, render


@pytest.mark.parametrize("release", ["vigil", "monitoring"])
def test_cronjob_names_match_the_apps_rule(release):
    objects = render(PROD, release=release)
    web = one(objects, "Deployment", "vigil" if release == "vigil" else f"{release}-vigil")
    configmap = web["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    prefix = one(objects, "ConfigMap", configmap)["data"]["VIGIL_CRONJOB_PREFIX"]
    cronjobs = find(objects, "CronJob")
    assert cronjobs
    for cronjob in cronjobs:
        job = cronjob["metadata"]["labels"]["vigil.dev/job"]
        assert cronjob["metadata"]["name"] == runtime.cronjob_name(prefix, job)
