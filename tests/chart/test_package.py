"""What `helm package` makes is the chart people install: it lints, renders the same objects as
the source tree, and (k8s) installs with no values on the real apiserver. Chart.yaml's
Artifact Hub annotations say true things: the images a zero-values install runs, the
license the image declares, links that are absolute."""
from __future__ import annotations

import json
import re
import tarfile

import pytest
import yaml

from tests.chart.chart import CHART, FIXED_SECRETS, REPO, helm, helm_on, pod_templates, render, restrict

VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    result = helm("package", str(CHART), "--destination", str(out), check=False)
    assert result.returncode == 0, result.stderr
    tgz = out / f"vigil-{VERSION}.tgz"
    assert tgz.is_file(), result.stdout
    return tgz


def template(chart, *extra: str) -> list[dict]:
    sets = [arg for key, value in FIXED_SECRETS.items() for arg in ("--set-json", f"{key}={json.dumps(value)}")]
    out = helm("template", "vigil", str(chart), "--namespace", "default", *sets, *extra).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_package_holds_the_chart_and_not_its_test_values(package):
    with tarfile.open(package) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames()}
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md", "templates/NOTES.txt",
            "templates/httproute.yaml", "templates/servicemonitor.yaml"} <= names
    assert not [n for n in names if n.startswith("ci/")], ".helmignore: ci/ is for helm lint and the tests"


def test_package_lints_and_renders_like_the_source(package):
    result = helm("lint", "--strict", str(package), check=False)
    assert result.returncode == 0 and "0 chart(s) failed" in result.stdout, result.stdout + result.stderr
    assert template(package) == template(CHART)
    route = ("--set", "httpRoute.enabled=true", "--set", "httpRoute.parentRefs[0].name=gw",
             "--set", "metrics.serviceMonitor.enabled=true")
    assert template(package, *route) == template(CHART, *route)
    shown = yaml.safe_load(helm("show", "chart", str(package)).stdout)
    assert shown["annotations"] == yaml.safe_load((CHART / "Chart.yaml").read_text())["annotations"]


def chart_annotations() -> dict[str, str]:
    return yaml.safe_load((CHART / "Chart.yaml").read_text())["annotations"]


def test_artifact_hub_images_are_what_a_zero_values_install_runs():
    listed = {i["image"] for i in yaml.safe_load(chart_annotations()["artifacthub.io/images"])}
    running = {c["image"] for _, pod in pod_templates(render(()))
               for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]}
    assert listed == running


def test_artifact_hub_license_and_links():
    annotations = chart_annotations()
    dockerfile_default = re.search(r"^ARG LICENSES=(\S+)$", (REPO / "Dockerfile").read_text(), re.M).group(1)
    assert annotations["artifacthub.io/license"] == dockerfile_default, "the chart and the image say the same"
    links = yaml.safe_load(annotations["artifacthub.io/links"])
    assert links and all(set(link) == {"name", "url"} and link["url"].startswith("https://") for link in links)
    for value in annotations.values():
        assert isinstance(value, str), "Chart.yaml annotations are strings (YAML inside)"


@pytest.mark.k8s
def test_packaged_chart_installs_with_no_values(control_plane, kube_client, namespace, package, tmp_path):
    import kubernetes.client as k

    restrict(kube_client, namespace)
    result = helm_on(control_plane, tmp_path, namespace)("install", "vigil", str(package))
    assert "PodSecurity" not in result.stderr, result.stderr
    assert "STATUS: deployed" in result.stdout
    deployments = {d.metadata.name for d in k.AppsV1Api(kube_client).list_namespaced_deployment(namespace).items}
    assert deployments == {"vigil", "vigil-mysql", "vigil-redis-cache", "vigil-redis-coordination"}
