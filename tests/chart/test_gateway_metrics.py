"""The optional Gateway API HTTPRoute, the optional ServiceMonitor, and the prometheus.io
scrape annotations used otherwise: rendered with `helm template` and asserted, and (k8s)
applied to the real apiserver with the CRDs installed first: the Gateway API's own HTTPRoute
CRD (sigs.k8s.io/gateway-api v1.6.3, read from the Go module cache; hack/k8s-assets.sh
fetches it) and a ServiceMonitor CRD reduced to the fields the chart writes (the Prometheus
Operator's module is not among the approved downloads; its `authorization` is the
operator's SafeAuthorization: type and a SecretKeySelector). Strict field validation (kubectl's
default) refuses any field a CRD does not declare."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from testkit.services import service_missing
from tests.chart.chart import (CHART, DEV, EXISTING, PROD, apply, find, notes, one, render, render_error, render_text,
                               secret_data)

ROUTE = {"httpRoute.enabled": True,
         "httpRoute.parentRefs": [{"name": "public", "namespace": "gateway-system", "sectionName": "https"}],
         "httpRoute.hostnames": ["vigil.example.com"],
         "httpRoute.annotations": {"example.com/owner": "team-a"}}
MONITOR = {"metrics.serviceMonitor.enabled": True, "metrics.serviceMonitor.labels": {"release": "kube-prometheus-stack"},
           "metrics.serviceMonitor.scrapeTimeout": "10s"}
SCRAPE = ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path")
AUTHORIZATION = {"type": "Bearer", "credentials": {"name": "vigil", "key": "VIGIL_METRICS_TOKEN"}}


def web_pod_annotations(objects: list[dict]) -> dict[str, str]:
    return one(objects, "Deployment", "vigil")["spec"]["template"]["metadata"]["annotations"]


# ---- HTTPRoute -------------------------------------------------------------------------

def test_no_http_route_by_default():
    assert not find(render(), "HTTPRoute") and not find(render(PROD), "HTTPRoute")


def test_http_route_sends_every_path_of_its_hostnames_to_the_service():
    objects = render(PROD, ROUTE)
    route, service = one(objects, "HTTPRoute", "vigil"), one(objects, "Service", "vigil")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["metadata"]["annotations"] == {"example.com/owner": "team-a"}
    assert route["metadata"]["labels"]["app.kubernetes.io/component"] == "web"
    spec = route["spec"]
    assert spec["parentRefs"] == ROUTE["httpRoute.parentRefs"]
    assert spec["hostnames"] == ["vigil.example.com"]
    assert spec["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                              "backendRefs": [{"name": service["metadata"]["name"],
                                               "port": service["spec"]["ports"][0]["port"]}]}]
    assert "tls" not in json.dumps(spec).lower(), "TLS is the Gateway listener's job"
    assert one(objects, "Ingress", "vigil"), "beside the Ingress, not instead of it"
    assert "hostnames" not in one(render(PROD, {**ROUTE, "httpRoute.hostnames": []}), "HTTPRoute")["spec"]


@pytest.mark.parametrize("values, message", [
    ({"httpRoute.enabled": True}, "/httpRoute/parentRefs"),
    ({**ROUTE, "httpRoute.parentRefs": [{"namespace": "gateway-system"}]}, "missing property 'name'"),
    ({**ROUTE, "httpRoute.parentRefs": [{"name": "public", "listener": "https"}]}, "'listener' not allowed"),
    ({**ROUTE, "httpRoute.hostnames": ["Vigil.Example.com"]}, "/httpRoute/hostnames/0"),
], ids=["no-parent", "parent-without-name", "unknown-field", "bad-hostname"])
def test_http_route_values_are_checked(values, message):
    error = render_error(PROD, values)
    assert message in error, error


def test_notes_name_the_gateway_and_the_hostnames(tmp_path):
    text = notes(tmp_path, "-f", DEV[0], "--set", "httpRoute.enabled=true",
                 "--set", "httpRoute.parentRefs[0].name=public", "--set", "httpRoute.parentRefs[0].namespace=gateway-system",
                 "--set", "httpRoute.parentRefs[0].sectionName=https", "--set", "httpRoute.hostnames[0]=vigil.example.com")
    assert "Through the Gateway gateway-system/public (listener https), HTTPRoute vigil" in text
    assert "vigil.example.com/" in text and "port-forward" not in text


# ---- metrics ---------------------------------------------------------------------------

def test_metrics_are_served_where_the_scrape_annotations_point(app_factory):
    """The annotations (when asked for) name the web container's http port and /metrics, which
    the app serves to the token in the chart's Secret only, also when pages need no login."""
    objects = render((), {"metrics.scrapeAnnotations": True})
    annotations = web_pod_annotations(objects)
    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/path"]) == ("true", "/metrics")
    web = one(objects, "Deployment", "vigil")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "http", "containerPort": int(annotations["prometheus.io/port"])} == \
        {k: v for k, v in web["ports"][0].items() if k in ("name", "containerPort")}
    assert {"secretRef": {"name": "vigil"}} in web["envFrom"], "the pods get VIGIL_METRICS_TOKEN from the Secret"
    assert web_pod_annotations(render((), {"metrics.scrapeAnnotations": True, "containerPort": 9000}))[
        "prometheus.io/port"] == "9000"
    token = secret_data(objects)["VIGIL_METRICS_TOKEN"]
    client = app_factory(VIGIL_PUBLIC_READS=True, VIGIL_METRICS_TOKEN=token).test_client()
    assert client.get(annotations["prometheus.io/path"]).status_code == 401, "annotations carry no token"
    response = client.get(annotations["prometheus.io/path"], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "vigil_" in response.get_data(as_text=True)


def test_scrape_annotations_are_off_by_default_and_documented_as_tokenless():
    """Annotation-based discovery cannot send the token, so it is not the default, and the
    values say so where the switch is."""
    assert not set(SCRAPE) & set(web_pod_annotations(render()))
    assert not set(SCRAPE) & set(web_pod_annotations(render(PROD)))
    values = (CHART / "values.yaml").read_text()
    doc = next(line for line in values.splitlines() if "@param metrics.scrapeAnnotations" in line)
    assert "cannot carry the token" in doc and "401" in doc


def test_the_metrics_token_is_generated_kept_given_and_checked():
    data = secret_data(render(PROD))
    assert re.fullmatch(r"[A-Za-z0-9]{40}", data["VIGIL_METRICS_TOKEN"])
    assert secret_data(render(PROD, {"config.historyDays": 31}))["VIGIL_METRICS_TOKEN"] != data["VIGIL_METRICS_TOKEN"], \
        "no cluster to look up: each render generates its own (helm upgrade keeps it: test_apiserver.py)"
    given = "t" * 32
    assert secret_data(render(PROD, {"metrics.token": given}))["VIGIL_METRICS_TOKEN"] == given
    assert "/metrics/token" in render_error(PROD, {"metrics.token": "too-short"})
    assert "/metrics/token" in render_error(PROD, {"metrics.token": "has a space " * 4})
    assert "metrics.token is set but existingSecret" in render_error(EXISTING, {"metrics.token": given})


def test_no_service_monitor_by_default():
    assert not find(render(), "ServiceMonitor") and not find(render(PROD), "ServiceMonitor")


def test_service_monitor_scrapes_the_web_pods_behind_the_service():
    objects = render(PROD, MONITOR)
    monitor, service = one(objects, "ServiceMonitor", "vigil"), one(objects, "Service", "vigil")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items(), "it selects this Service"
    assert selector == service["spec"]["selector"], "...and no other component's"
    assert monitor["spec"]["endpoints"] == [{"port": service["spec"]["ports"][0]["name"], "path": "/metrics",
                                             "scheme": "http", "interval": "30s", "scrapeTimeout": "10s",
                                             "authorization": AUTHORIZATION}]
    assert not set(SCRAPE) & set(web_pod_annotations(objects)), "one way of discovery, so no pod is scraped twice"
    default = one(render(PROD, {"metrics.serviceMonitor.enabled": True, "metrics.serviceMonitor.interval": ""}),
                  "ServiceMonitor")
    assert default["spec"]["endpoints"][0].keys() == {"port", "path", "scheme", "authorization"}, \
        "Prometheus' own defaults"


@pytest.mark.parametrize("files, secret", [(PROD, "vigil"), (DEV, "vigil"), (EXISTING, "vigil-credentials")],
                         ids=["prod", "dev", "existing-secret"])
def test_service_monitor_sends_the_token_the_pods_check(files, secret):
    """Prometheus reads the bearer token from the very Secret key the pods get as
    VIGIL_METRICS_TOKEN (envFrom), so a scrape is never a 401."""
    objects = render(files, {"metrics.serviceMonitor.enabled": True})
    endpoint = one(objects, "ServiceMonitor", "vigil")["spec"]["endpoints"][0]
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": secret, "key": "VIGIL_METRICS_TOKEN"}}
    web = one(objects, "Deployment", "vigil")["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": secret}} in web["envFrom"]
    if secret == "vigil":
        assert secret_data(objects)["VIGIL_METRICS_TOKEN"]


@pytest.mark.parametrize("values, where", [
    ({"metrics.serviceMonitor.interval": "30 seconds"}, "/metrics/serviceMonitor/interval"),
    ({"metrics.serviceMonitor.labels": {"release": 1}}, "/metrics/serviceMonitor/labels/release"),
    ({"metrics.serviceMonitor.bogus": 1}, "/metrics/serviceMonitor"),
])
def test_service_monitor_values_are_checked(values, where):
    error = render_error(PROD, values)
    assert where in error, error


# ---- on the apiserver ------------------------------------------------------------------

GATEWAY_API = "sigs.k8s.io/gateway-api@v1.6.3"
DURATION = "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
             "names": {"kind": "ServiceMonitor", "listKind": "ServiceMonitorList", "plural": "servicemonitors",
                       "singular": "servicemonitor"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "required": ["spec"],
                 "properties": {"spec": {"type": "object", "required": ["selector"], "properties": {
                     "selector": {"type": "object", "properties": {
                         "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                     "endpoints": {"type": "array", "items": {"type": "object", "properties": {
                         "port": {"type": "string"}, "path": {"type": "string"},
                         "scheme": {"type": "string", "enum": ["http", "https", "HTTP", "HTTPS"]},
                         "interval": {"type": "string", "pattern": DURATION},
                         "scrapeTimeout": {"type": "string", "pattern": DURATION},
                         "authorization": {"type": "object", "properties": {
                             "type": {"type": "string"},
                             "credentials": {"type": "object", "required": ["key"], "properties": {
                                 "name": {"type": "string"}, "key": {"type": "string"},
                                 "optional": {"type": "boolean"}}}}}}}}}}}}}}]}}


def gateway_api_crds() -> str:
    """The HTTPRoute CRD of the standard channel, from the Go module cache only: GOPROXY=off,
    so the test never reaches the network."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        service_missing("go not found: the Gateway API CRDs are read from the Go module cache")
    with tempfile.TemporaryDirectory() as empty:  # outside any module
        out = subprocess.run([go, "mod", "download", "-json", GATEWAY_API], capture_output=True, text=True,
                             timeout=60, cwd=empty, env={**os.environ, "GOPROXY": "off", "GOFLAGS": ""})
    info = json.loads(out.stdout or "{}")
    if "Dir" not in info:
        service_missing(f"{GATEWAY_API} is not in the Go module cache ({info.get('Error')}): "
                        f"`go mod download {GATEWAY_API}` (hack/k8s-assets.sh does it when it builds)")
    return (Path(info["Dir"]) / "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml").read_text()


@pytest.fixture(scope="module")
def crds(control_plane):
    apply(control_plane, gateway_api_crds())
    apply(control_plane, json.dumps(SERVICE_MONITOR_CRD))
    for name in ("httproutes.gateway.networking.k8s.io", "servicemonitors.monitoring.coreos.com"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


@pytest.mark.k8s
@pytest.mark.parametrize("files", [PROD, DEV], ids=["prod", "dev"])
def test_route_and_monitor_are_accepted_by_the_apiserver(control_plane, crds, namespace, files):
    text = render_text(files, {**ROUTE, **MONITOR}, namespace=namespace)
    out = apply(control_plane, text, namespace)
    assert "httproute.gateway.networking.k8s.io/vigil serverside-applied" in out, out
    assert "servicemonitor.monitoring.coreos.com/vigil serverside-applied" in out, out
    stored = json.loads(control_plane.kubectl("get", "httproute", "vigil", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"]["rules"][0]["backendRefs"][0] == {"group": "", "kind": "Service", "name": "vigil",
                                                            "port": 80, "weight": 1}, "defaulted by the real CRD"


@pytest.mark.k8s
@pytest.mark.parametrize("kind, break_it, expected", [
    ("HTTPRoute", lambda o: o["spec"]["rules"][0]["backendRefs"][0].pop("port"), "port"),
    ("ServiceMonitor", lambda o: o["spec"]["endpoints"][0].update(interval="30 seconds"), "interval"),
    ("ServiceMonitor", lambda o: o["spec"]["endpoints"][0].update(honourLabels=True), "field not declared in schema"),
], ids=["route-without-port", "monitor-bad-interval", "monitor-unknown-field"])
def test_the_crds_refuse_what_they_should(control_plane, crds, namespace, kind, break_it, expected):
    """The control for the test above: the CRDs really check what the chart writes."""
    text = render_text(PROD, {**ROUTE, **MONITOR}, namespace=namespace)
    broken = next(o for o in yaml.safe_load_all(text) if o and o["kind"] == kind)
    break_it(broken)
    result = control_plane.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=json.dumps(broken),
                                   check=False)
    assert result.returncode != 0 and expected in result.stderr, result.stderr
