"""`helm lint --strict` is clean for the defaults and for every ci/ values file, with Helm 4
and Helm 3; both majors render the same objects; and the install notes say how to reach the
UI and get the admin password."""
from __future__ import annotations

import base64

import pytest

from tests.chart.chart import CHART, CI_VALUES, DEV, EXISTING, FIXED_SECRETS, HELMS, PROD, REPO, helm, notes, render


@pytest.mark.parametrize("binary", HELMS)
@pytest.mark.parametrize("values", [None, *sorted(p.name for p in CI_VALUES.glob("*.yaml"))])
def test_helm_lint_strict_is_clean(values, binary):
    args = ["lint", "--strict", str(CHART)] + (["-f", str(CI_VALUES / values)] if values else [])
    result = helm(*args, check=False, binary=binary)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout



@pytest.mark.parametrize("files, values", [
    ((), FIXED_SECRETS),
    (DEV, FIXED_SECRETS),
    (PROD, {**FIXED_SECRETS, "httpRoute.enabled": True, "httpRoute.parentRefs": [{"name": "gw"}],
            "metrics.serviceMonitor.enabled": True}),
    (EXISTING, {"migrations.asHook": False}),
], ids=["zero-values", "dev", "prod-route-monitor", "existing-secret"])
def test_helm3_renders_the_same_objects_as_helm4(files, values):
    """The rest of the suite asserts Helm 4's output; this keeps Helm 3's equal to it (as
    parsed objects: the two differ only in blank lines between documents)."""
    helm4 = render(files, values, binary="helm")
    assert render(files, values, binary="helm3") == helm4
    assert len(helm4) >= 10


def test_notes_say_how_to_reach_the_ui_and_get_the_password(tmp_path):
    text = notes(tmp_path, "-f", str(CI_VALUES / "dev-values.yaml"))
    assert "kubectl -n team-a port-forward svc/vigil 8080:80" in text
    assert "get secret vigil -o jsonpath='{.data.VIGIL_ADMIN_PASSWORD}' | base64 -d" in text
    assert "helm test vigil -n team-a" in text
    assert "vigil-check-monitors" in text and "get lease vigil-timers" in text
    assert "FOR TRYING VIGIL" in text and "lost with its pod" in text, "dev-values: an emptyDir database"


def test_zero_values_notes_say_it_is_for_trying_and_how_to_go_external(tmp_path):
    text = notes(tmp_path)
    assert "THIS INSTALL IS FOR TRYING VIGIL, not for production" in text
    assert "get secret vigil -o jsonpath='{.data.VIGIL_ADMIN_PASSWORD}' | base64 -d" in text
    assert "PersistentVolumeClaim vigil-mysql; `helm uninstall` deletes it" in text
    upgrade = text[text.index("helm upgrade vigil CHART -n team-a"):text.index("or keep the URLs")]
    for value in ("mysql.enabled=false", "database.url=", "redis.enabled=false", "externalRedis.cacheUrl=",
                  "externalRedis.coordinationUrl="):
        assert f"--set {value}" in upgrade, value
    lines = upgrade.rstrip().splitlines()
    assert all(line.endswith(" \\") for line in lines[:-1]) and not lines[-1].endswith("\\"), \
        "one command, continued line by line, that runs as printed"
    assert "existingSecret" in text
    half = notes(tmp_path / "half", "--set", "redis.enabled=false", "--set", "externalRedis.cacheUrl=redis://c:6379/0",
                 "--set", "externalRedis.coordinationUrl=redis://k:6379/0")
    assert "its own MariaDB, with" in half and "--set redis.enabled=false" not in half


def test_notes_with_ingress_and_existing_secret(tmp_path):
    text = notes(tmp_path, "-f", str(CI_VALUES / "prod-values.yaml"), "--set", "existingSecret=creds",
                 "--set", "database.url=", "--set", "externalRedis.cacheUrl=",
                 "--set", "externalRedis.coordinationUrl=")
    assert "https://vigil.example.com/" in text
    assert "get secret creds -o jsonpath='{.data.VIGIL_ADMIN_PASSWORD}'" in text
    assert "port-forward" not in text
    assert "TRYING" not in text, "production values: no in-cluster servers, no warning"


def test_chart_icon_is_the_app_favicon():
    import yaml

    icon = yaml.safe_load((CHART / "Chart.yaml").read_text())["icon"]
    prefix = "data:image/svg+xml;base64,"
    assert icon.startswith(prefix)
    assert base64.b64decode(icon[len(prefix):]) == (REPO / "app" / "static" / "favicon.svg").read_bytes()


def test_chart_metadata():
    import yaml

    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (meta["apiVersion"], meta["appVersion"], meta["kubeVersion"]) == ("v2", "0.1.0", ">=1.30.0-0")
    result = helm("template", "vigil", str(CHART), "--kube-version", "1.29.9", "-f",
                  str(CI_VALUES / "dev-values.yaml"), check=False)
    assert result.returncode != 0 and "kubeVersion" in result.stderr, result.stderr
