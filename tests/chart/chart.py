"""Rendering charts/vigil for tests: find helm, run `helm template`, pick objects.

`helm` is Helm 4, what the project uses; `helm3` is Helm 3, which the lint test and a
representative render also run (HELMS), so users of either major are covered. Both come
from hack/k8s-assets.sh.

`render(values=..., files=...)` returns the parsed objects (hooks and test pods included)
and is cached per argument set, so the many small assertions stay fast. `render_error`
returns helm's error text for values that must be refused. `pod_templates` lists every pod
the chart can create, with where it comes from, for the Pod Security checks. `secret_data`
decodes a rendered Secret, `notes` renders NOTES.txt offline; `apply` and `restrict` act on
the test apiserver (testkit/controlplane_fixtures.py).
"""
from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable

import yaml

from testkit import ROOT as REPO
from testkit.controlplane import ControlPlaneError, find_assets
from testkit.services import service_missing

CHART = REPO / "charts" / "vigil"
CI_VALUES = CHART / "ci"
DEV = (str(CI_VALUES / "dev-values.yaml"),)
PROD = (str(CI_VALUES / "prod-values.yaml"),)
EXISTING = (str(CI_VALUES / "existing-secret-values.yaml"),)
RELEASE = "vigil"
HELMS = ("helm", "helm3")  # Helm 4 (the default everywhere) and Helm 3
# Fixed credentials, for comparing two renders: otherwise each generates its own.
FIXED_SECRETS = {"secretKey": "k" * 40, "adminPassword": "admin-password", "mysql.auth.password": "db-password",
                 "metrics.token": "m" * 40, "channelKeys": "c" * 43 + "="}


@functools.lru_cache(maxsize=1)
def _assets_dir() -> str | None:
    try:
        return find_assets()
    except ControlPlaneError:
        return None


def find_tool(name: str) -> str:
    """`helm`, `helm3` or `kubectl`: PATH, else KUBEBUILDER_ASSETS, else hack/k8s-assets.sh's cache."""
    found = shutil.which(name)
    if found:
        return found
    assets = _assets_dir()
    if assets and os.access(Path(assets, name), os.X_OK):
        return str(Path(assets, name))
    service_missing(f"{name} not on PATH nor in KUBEBUILDER_ASSETS; build it: bash hack/k8s-assets.sh")
    raise AssertionError("unreachable")


def _args(files: Iterable[str], values: dict[str, Any] | None, namespace: str,
          release: str) -> list[str]:
    args = ["template", release, str(CHART), "--namespace", namespace]
    for f in files:
        args += ["-f", f]
    if values:  # --set-json keeps types exact (no --set string guessing)
        for key, value in values.items():
            args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


def helm(*args: str, check: bool = True, timeout: float = 60,
         binary: str = "helm") -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_tool(binary), *args], capture_output=True, text=True,
                          check=check, timeout=timeout, cwd=REPO)


def helm_on(control_plane: Any, tmp_path: Path, namespace: str):
    """`run(*args, ok=True)`: Helm 4 against the test apiserver in `namespace`, with its own
    config, cache and data dirs; asserts the exit status `ok` asks for."""
    env = {**os.environ, "HELM_CACHE_HOME": str(tmp_path / "cache"), "HELM_CONFIG_HOME": str(tmp_path / "config"),
           "HELM_DATA_HOME": str(tmp_path / "data"), "KUBECONFIG": str(control_plane.kubeconfig)}

    def run(*args: str, ok: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([find_tool("helm"), *args, "-n", namespace], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=timeout)
        assert (result.returncode == 0) == ok, result.stdout + result.stderr
        return result
    return run


@functools.lru_cache(maxsize=256)
def _render_text(files: tuple[str, ...], values_json: str, namespace: str, release: str,
                 binary: str) -> str:
    args = _args(files, json.loads(values_json), namespace, release)
    result = helm(*args, check=False, binary=binary)
    if result.returncode != 0:
        raise RenderError(result.stderr)
    return result.stdout


class RenderError(Exception):
    pass


def render_text(files: Iterable[str] = DEV, values: dict[str, Any] | None = None, *,
                namespace: str = "default", release: str = RELEASE, binary: str = "helm") -> str:
    return _render_text(tuple(files), json.dumps(values or {}, sort_keys=True), namespace, release, binary)


def render(files: Iterable[str] = DEV, values: dict[str, Any] | None = None, *,
           namespace: str = "default", release: str = RELEASE, binary: str = "helm") -> list[dict[str, Any]]:
    """Every object `helm template` prints (hooks and test pods included)."""
    text = render_text(files, values, namespace=namespace, release=release, binary=binary)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render_error(files: Iterable[str] = DEV, values: dict[str, Any] | None = None) -> str:
    try:
        render_text(files, values)
    except RenderError as e:
        return str(e)
    raise AssertionError(f"helm template accepted {values!r}; it should refuse them")


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def container(pod_spec: dict[str, Any], name: str) -> dict[str, Any]:
    for c in pod_spec.get("initContainers", []) + pod_spec["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    """name -> value, or the valueFrom mapping."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def hook(obj: dict[str, Any]) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get("helm.sh/hook")


def pod_templates(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(where, {metadata, spec}) for every pod the objects would create."""
    pods = []
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            pods.append((f"{kind}/{name}", o["spec"]["template"]))
        elif kind == "CronJob":
            pods.append((f"CronJob/{name}", o["spec"]["jobTemplate"]["spec"]["template"]))
        elif kind == "Pod":
            pods.append((f"Pod/{name}", {"metadata": o["metadata"], "spec": o["spec"]}))
    return pods


def values_yaml() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text())


def secret_data(objects: list[dict[str, Any]], name: str = "vigil") -> dict[str, str]:
    """The decoded data of the rendered Secret `name`."""
    return {k: base64.b64decode(v).decode() for k, v in one(objects, "Secret", name)["data"].items()}


NOTES_PROBE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: notes-probe
data:
  notes: {{ tpl (.Files.Get "notes-probe.txt") . | toJson }}
"""


def notes(tmp_path: Path, *args: str) -> str:
    """NOTES.txt rendered offline: `helm install --dry-run` needs a cluster, and `helm
    template` skips the notes, so a copy of the chart renders them through `tpl`."""
    chart = tmp_path / "vigil"
    shutil.copytree(CHART, chart)
    shutil.copy(chart / "templates" / "NOTES.txt", chart / "notes-probe.txt")
    (chart / "templates" / "notes-probe.yaml").write_text(NOTES_PROBE)
    out = helm("template", "vigil", str(chart), "--namespace", "team-a",
               "--show-only", "templates/notes-probe.yaml", *args).stdout
    return yaml.safe_load(out)["data"]["notes"]


# -- against the test apiserver (the control_plane and kube_client fixtures) -----------------

def apply(control_plane: Any, text: str, namespace: str | None = None) -> str:
    """`kubectl apply --server-side` of `text`; asserts it succeeded, returns kubectl's output."""
    args = ["apply", "--server-side", "--field-manager=vigil-chart-test", "-f", "-"]
    if namespace:
        args[1:1] = ["-n", namespace]
    result = control_plane.kubectl(*args, input=text, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def restrict(kube_client: Any, namespace: str) -> None:
    """Enforce "restricted" on pods, and warn about workload objects whose pods would not be."""
    import kubernetes.client as k

    k.CoreV1Api(kube_client).patch_namespace(namespace, {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest"}}})
