"""Generated files are not stale (the drift test: every generated file, whole, against a
fresh `hack/render-manifests.sh`), and the kustomize overlays build into what they promise.
The chart is the only renderer, so a stale or hand-edited file is the only way two copies
can differ. (skaffold.yaml: tests/chart/test_skaffold.py.)"""
from __future__ import annotations

import difflib
import filecmp
import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.chart.chart import CHART, REPO, find, find_tool, hook, one, render

# Every directory hack/render-manifests.sh writes (and charts/vigil/values.yaml, below).
GENERATED = ["cronjobs", "k8s/base", "k8s/components/dev-services", "k8s/components/autoscaling"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render-manifests")
    env = {**os.environ, "HELM": find_tool("helm"), "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(REPO / "hack" / "render-manifests.sh"), "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def first_difference(ours: Path, fresh: Path) -> str:
    diff = difflib.unified_diff(fresh.read_text().splitlines(), ours.read_text().splitlines(),
                                "fresh render", f"committed {ours.relative_to(REPO)}", lineterm="", n=1)
    return "\n".join(list(diff)[:20])


@pytest.mark.parametrize("directory", GENERATED)
def test_generated_directory_is_not_stale(regenerated, directory):
    """Whole files, byte for byte: the same names, and each file identical to a fresh render."""
    ours, fresh = REPO / directory, regenerated / directory
    names = sorted(p.name for p in fresh.iterdir())
    assert sorted(p.name for p in ours.iterdir()) == names, \
        f"{directory} is stale: run `make manifests` (hack/render-manifests.sh)"
    _, mismatch, errors = filecmp.cmpfiles(ours, fresh, names, shallow=False)
    assert not errors, f"{directory}: cannot compare {errors}"
    assert not mismatch, (f"{directory}: {mismatch} differ from a fresh render: run `make manifests`\n"
                          + first_difference(ours / mismatch[0], fresh / mismatch[0]))


def test_values_jobs_block_is_not_stale(regenerated):
    ours, fresh = CHART / "values.yaml", regenerated / "charts/vigil/values.yaml"
    assert ours.read_text() == fresh.read_text(), \
        ("charts/vigil/values.yaml's generated jobs block is stale: run `make manifests`\n"
         + first_difference(ours, fresh))


def test_rendering_twice_gives_the_same_files(regenerated, tmp_path):
    env = {**os.environ, "HELM": find_tool("helm"), "PYTHON": sys.executable}
    subprocess.run(["bash", str(REPO / "hack" / "render-manifests.sh"), "--out", str(tmp_path)],
                   check=True, capture_output=True, env=env, cwd=REPO, timeout=300)
    for directory in GENERATED:
        names = sorted(os.listdir(regenerated / directory))
        assert not filecmp.cmpfiles(regenerated / directory, tmp_path / directory, names, shallow=False)[1]


def load_dir(directory: str) -> list[dict]:
    docs = []
    for file in sorted(glob.glob(str(REPO / directory / "*.yaml"))):
        if not file.endswith("kustomization.yaml"):
            docs += [d for d in yaml.safe_load_all(Path(file).read_text()) if d]
    return docs


def test_base_is_the_chart_without_helm_only_parts():
    base = load_dir("k8s/base")
    kinds = sorted({o["kind"] for o in base})
    assert kinds == ["ConfigMap", "CronJob", "Deployment", "Job", "Lease", "PodDisruptionBudget", "Role",
                     "RoleBinding", "Service", "ServiceAccount"]
    assert not [o for o in base if hook(o)], "kubectl runs no Helm hooks or tests"
    assert not find(base, "Secret"), "credentials come from the overlays"
    assert {o["metadata"]["labels"]["app.kubernetes.io/managed-by"] for o in base} == {"kustomize"}
    assert one(base, "Job")["metadata"]["name"].startswith("vigil-migrate-")
    chart = {(o["kind"], o["metadata"]["name"]) for o in render((), {"existingSecret": "vigil", "tests.enabled": False,
                                                                      "migrations.asHook": False, "mysql.enabled": False,
                                                                      "redis.enabled": False})}
    assert {(o["kind"], o["metadata"]["name"]) for o in base} == chart


def test_base_takes_its_cronjobs_from_the_chart_not_cronjobs_dir():
    """One source per object: the chart's CronJobs (same labels, image and values as the
    rest of the base); cronjobs/ stays a standalone artifact for users without the chart,
    rendered from the same template with the same values, so the very same objects."""
    base_cron = sorted(find(load_dir("k8s/base"), "CronJob"), key=lambda c: c["metadata"]["name"])
    standalone = sorted(find(load_dir("cronjobs"), "CronJob"), key=lambda c: c["metadata"]["name"])
    assert base_cron == standalone
    assert sorted(p.name for p in (REPO / "cronjobs").glob("*.yaml")) == sorted(
        [f"{c['metadata']['labels']['vigil.dev/job']}.yaml" for c in standalone] + ["kustomization.yaml"])
    resources = yaml.safe_load((REPO / "k8s/base/kustomization.yaml").read_text())["resources"]
    assert not [r for r in resources if "cronjobs" in r]


def kustomize(overlay: str) -> list[dict]:
    out = subprocess.run([find_tool("kubectl"), "kustomize", str(REPO / overlay)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_cronjobs_dir_builds_on_its_own():
    """`kubectl apply -k cronjobs/`: the CronJobs and nothing else (the web part is the user's)."""
    objects = kustomize("cronjobs")
    assert {o["kind"] for o in objects} == {"CronJob"}
    assert sorted(o["metadata"]["name"] for o in objects) == sorted(
        c["metadata"]["name"] for c in find(load_dir("k8s/base"), "CronJob"))


def secret_refs(objects: list[dict]) -> set[str]:
    refs = set()
    for o in objects:
        for c in yaml.safe_dump(o).split("secretRef:")[1:]:
            refs.add(c.split("name:")[1].split()[0])
    return refs


def test_dev_overlay():
    objects = kustomize("k8s/overlays/dev")
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"vigil-dev"}
    ns = one(objects, "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert one(objects, "Deployment", "vigil")["spec"]["replicas"] == 1
    for name in ("vigil-mysql", "vigil-redis-cache", "vigil-redis-coordination"):
        assert one(objects, "Deployment", name) and one(objects, "Service", name)
    secret = [s for s in find(objects, "Secret") if s["metadata"]["name"].startswith("vigil-") and
              "DATABASE_URL" in s.get("data", {})]
    assert len(secret) == 1
    import base64

    data = {k: base64.b64decode(v).decode() for k, v in secret[0]["data"].items()}
    mysql_pw = base64.b64decode(one(objects, "Secret", "vigil-mysql")["data"]["mysql-password"]).decode()
    assert data["DATABASE_URL"] == f"mysql+pymysql://vigil:{mysql_pw}@vigil-mysql:3306/vigil"
    assert data["REDIS_URL"] == "redis://vigil-redis-cache:6379/0"
    assert data["REDIS2_URL"] == "redis://vigil-redis-coordination:6379/0"
    assert len(data["SECRET_KEY"]) >= 32
    assert secret_refs(objects) == {secret[0]["metadata"]["name"]}, "every envFrom follows the hashed name"
    assert one(objects, "RoleBinding")["subjects"][0]["namespace"] == "vigil-dev"


def test_prod_overlay():
    objects = kustomize("k8s/overlays/prod")
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"vigil"}
    assert one(objects, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "replicas" not in one(objects, "Deployment", "vigil")["spec"]
    hpa = one(objects, "HorizontalPodAutoscaler", "vigil")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert not find(objects, "Secret"), "production credentials are never in git"
    assert secret_refs(objects) == {"vigil"}
    names = {o["metadata"]["name"] for o in objects}
    assert not {n for n in names if "mysql" in n or "redis" in n}, "external database and Redis"
    images = {c["image"] for o in objects if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.com/vigil:0.1.0"}
    assert one(objects, "RoleBinding")["subjects"][0]["namespace"] == "vigil"
