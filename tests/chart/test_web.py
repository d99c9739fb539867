"""The web Deployment and what routes to it: Service, Ingress, HPA, PDB, shutdown budget,
probes, environment, checksums, topology spread."""
from __future__ import annotations

import pytest

from tests.chart.chart import DEV, EXISTING, PROD, container, env_of, find, one, render, render_error


def deployment(files=DEV, values=None):
    return one(render(files, values), "Deployment", "vigil")


def web(files=DEV, values=None):
    return container(deployment(files, values)["spec"]["template"]["spec"], "web")


def test_web_runs_gunicorn_with_its_config():
    c = web()
    assert c["args"] == ["gunicorn", "-c", "gunicorn.conf.py", "app.wsgi:app"]
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert c["image"] == "vigil:0.1.0"


def test_image_tag_and_digest():
    assert web(DEV, {"image": {"repository": "r.example/vigil", "tag": "abc"}})["image"] == "r.example/vigil:abc"
    digest = "sha256:" + "a" * 64
    assert web(DEV, {"image.digest": digest})["image"] == f"vigil@{digest}"


def test_env_comes_from_the_configmap_and_secret_plus_the_downward_api():
    c = web()
    assert c["envFrom"] == [{"configMapRef": {"name": "vigil"}}, {"secretRef": {"name": "vigil"}}]
    env = env_of(c)
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["VIGIL_CRON_IN_PROCESS"] == "false"


def test_leader_election_switches_the_timer_backend_and_lease_settings():
    on = env_of(web())
    assert on["VIGIL_TIMER_BACKEND"] == "kubernetes"
    assert on["VIGIL_LEASE_NAME"] == "vigil-timers"
    assert on["VIGIL_LEASE_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert (on["VIGIL_LEASE_DURATION"], on["VIGIL_LEASE_RENEW_DEADLINE"], on["VIGIL_LEASE_RETRY_PERIOD"]) == ("15", "10", "2")
    off = env_of(web(DEV, {"leaderElection.enabled": False}))
    assert off["VIGIL_TIMER_BACKEND"] == "host"
    assert not {k for k in off if k.startswith("VIGIL_LEASE_")}
    assert not find(render(DEV, {"leaderElection.enabled": False}), "Lease")


def test_lease_timing_must_nest():
    message = render_error(DEV, {"leaderElection.renewDeadlineSeconds": 20})
    assert "retryPeriodSeconds (2) < renewDeadlineSeconds (20) < leaseDurationSeconds (15)" in message


def test_probes_liveness_never_depends_on_dependencies_or_leadership():
    c = web()
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 60


def test_grace_period_covers_prestop_gunicorn_and_the_lease_release():
    spec = deployment()["spec"]["template"]["spec"]
    assert web()["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert spec["terminationGracePeriodSeconds"] == 5 + 20 + 10
    longer = deployment(DEV, {"gunicorn.gracefulTimeoutSeconds": 60, "shutdown.preStopSleepSeconds": 10})
    assert longer["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 80
    assert deployment(DEV, {"shutdown.terminationGracePeriodSeconds": 120})["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"] == 120
    message = render_error(DEV, {"shutdown.terminationGracePeriodSeconds": 30})
    assert "shorter than shutdown.preStopSleepSeconds + gunicorn.gracefulTimeoutSeconds" in message


def test_gunicorn_settings_reach_the_configmap():
    data = one(render(DEV, {"gunicorn": {"workers": 3, "threads": 2, "gracefulTimeoutSeconds": 25,
                                         "accessLog": False}}), "ConfigMap", "vigil")["data"]
    assert (data["GUNICORN_WORKERS"], data["GUNICORN_THREADS"], data["GUNICORN_GRACEFUL_TIMEOUT"],
            data["GUNICORN_ACCESS_LOG"]) == ("3", "2", "25", "0")
    assert data["GUNICORN_BIND"] == "0.0.0.0:8000"
    assert data["GUNICORN_WORKER_TMP_DIR"] == "/dev/shm"


def test_checksums_roll_the_pods_when_settings_change():
    def annotations(values=None, files=DEV):
        return deployment(files, values)["spec"]["template"]["metadata"]["annotations"]

    base = annotations()
    assert annotations({"config.historyDays": 7})["checksum/config"] != base["checksum/config"]
    assert annotations({"secretKey": "k" * 40})["checksum/secret"] != annotations({"secretKey": "j" * 40})["checksum/secret"]
    assert annotations({"secretKey": "k" * 40, "adminPassword": "p"})["checksum/secret"] == \
        annotations({"secretKey": "k" * 40, "adminPassword": "p"})["checksum/secret"]
    assert annotations(files=EXISTING)["checksum/secret"] != annotations({"existingSecret": "other"}, EXISTING)["checksum/secret"]
    assert annotations({"podAnnotations": {"a": "b"}})["a"] == "b"


def test_wait_for_schema_init_container():
    spec = deployment()["spec"]["template"]["spec"]
    init = container(spec, "wait-for-schema")
    assert init["args"][:2] == ["python", "-c"]
    assert '"flask", "--app", "app", "db", "current"' in init["args"][2] and '"(head)"' in init["args"][2]
    assert env_of(init) == {"VIGIL_SCHEMA_WAIT_TIMEOUT": "600", "VIGIL_SCHEMA_WAIT_INTERVAL": "5"}
    assert init["envFrom"] == web()["envFrom"]
    off = deployment(DEV, {"migrations.waitForSchema.enabled": False})["spec"]["template"]["spec"]
    assert "initContainers" not in off


def test_topology_spread_defaults_and_override():
    spread = deployment()["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [s["topologyKey"] for s in spread] == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert all(s["whenUnsatisfiable"] == "ScheduleAnyway" and s["maxSkew"] == 1 for s in spread)
    assert all(s["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web" for s in spread)
    own = [{"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}]
    assert deployment(DEV, {"topologySpreadConstraints": own})["spec"]["template"]["spec"][
        "topologySpreadConstraints"] == own


def test_scheduling_passthroughs():
    values = {"nodeSelector": {"pool": "web"}, "priorityClassName": "important",
              "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
              "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                  {"weight": 50, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}},
              "imagePullSecrets": [{"name": "regcred"}]}
    spec = deployment(DEV, values)["spec"]["template"]["spec"]
    for key in ("nodeSelector", "priorityClassName", "tolerations", "affinity", "imagePullSecrets"):
        assert spec[key] == values[key]


def test_service_selects_only_web_pods():
    service = one(render(), "Service", "vigil")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert deployment()["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def test_ingress_is_off_by_default_and_renders_class_tls_and_annotations():
    assert not find(render(), "Ingress")
    ingress = one(render(PROD), "Ingress", "vigil")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "64k"}
    assert ingress["spec"]["tls"] == [{"secretName": "vigil-tls", "hosts": ["vigil.example.com"]}]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "vigil.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "vigil", "port": {"name": "http"}}}


@pytest.mark.parametrize("enabled", [False, True])
def test_hpa_on_and_off(enabled):
    objects = render(DEV, {"autoscaling": {"enabled": enabled, "minReplicas": 3, "maxReplicas": 7}})
    dep = one(objects, "Deployment", "vigil")
    if not enabled:
        assert not find(objects, "HorizontalPodAutoscaler")
        assert dep["spec"]["replicas"] == 1
        return
    hpa = one(objects, "HorizontalPodAutoscaler", "vigil")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vigil"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 7)
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}}}]


def test_hpa_needs_a_metric_and_sane_bounds():
    assert "needs autoscaling.targetCPUUtilizationPercentage" in render_error(
        DEV, {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": None}})
    assert "greater than autoscaling.maxReplicas" in render_error(
        DEV, {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}})


def test_pdb():
    pdb = one(render(), "PodDisruptionBudget", "vigil")
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["selector"] == deployment()["spec"]["selector"]
    pdb = one(render(DEV, {"podDisruptionBudget.minAvailable": "50%"}), "PodDisruptionBudget", "vigil")
    assert pdb["spec"]["minAvailable"] == "50%" and "maxUnavailable" not in pdb["spec"]
    assert not find(render(DEV, {"podDisruptionBudget.enabled": False}), "PodDisruptionBudget")


def test_names_follow_the_release():
    objects = render(PROD, release="team")
    assert one(objects, "Deployment")["metadata"]["name"] == "team-vigil"
    assert {o["metadata"]["name"] for o in find(objects, "CronJob")} == {
        "team-vigil-check-monitors", "team-vigil-prune-history", "team-vigil-rollup-stats"}
    assert one(objects, "Lease")["metadata"]["name"] == "team-vigil-timers"
    objects = render(PROD, {"fullnameOverride": "mon"})
    assert one(objects, "Deployment")["metadata"]["name"] == "mon"
    assert one(objects, "RoleBinding")["subjects"][0]["name"] == "mon"


def test_cronjob_names_never_exceed_52_characters():
    message = render_error(DEV, {"fullnameOverride": "a" * 40})
    assert "longer than 52 characters" in message
