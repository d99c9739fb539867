"""Least privilege, asserted rule by rule: the Role grants exactly what the app calls."""
from __future__ import annotations

from tests.chart.chart import DEV, PROD, find, one, render

LEASE_RULE = {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
              "resourceNames": ["vigil-timers"], "verbs": ["get", "list", "watch", "update"]}
CRONJOB_RULE = {"apiGroups": ["batch"], "resources": ["cronjobs"],
                "resourceNames": ["vigil-check-monitors", "vigil-prune-history", "vigil-rollup-stats"],
                "verbs": ["get", "list", "patch"]}
JOBS_RULE = {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}


def test_role_rules_are_exactly_these():
    role = one(render(PROD), "Role", "vigil")
    assert role["rules"] == [LEASE_RULE, CRONJOB_RULE, JOBS_RULE]


def test_no_create_on_leases_because_the_chart_ships_the_lease():
    objects = render(PROD)
    lease = one(objects, "Lease", "vigil-timers")
    assert lease["apiVersion"] == "coordination.k8s.io/v1"
    assert lease["spec"] == {}, "the holder fields belong to the app"
    verbs = {v for rule in one(objects, "Role")["rules"] for v in rule["verbs"]}
    assert "create" not in {v for rule in one(objects, "Role")["rules"]
                            if "leases" in rule["resources"] for v in rule["verbs"]}
    assert not verbs & {"delete", "deletecollection", "*", "escalate", "bind", "impersonate"}


def test_every_rule_is_narrow():
    for rule in one(render(PROD), "Role")["rules"]:
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
        assert rule.get("resourceNames", ["x"]), "an empty resourceNames list would mean every name"
        if rule["verbs"] != ["create"]:  # create cannot be limited by name
            assert rule["resourceNames"]


def test_leader_election_off_drops_the_lease_rule_and_object():
    objects = render(PROD, {"leaderElection.enabled": False})
    assert one(objects, "Role")["rules"] == [CRONJOB_RULE, JOBS_RULE]
    assert not find(objects, "Lease")


def test_no_jobs_means_no_cronjob_or_job_rules():
    objects = render(PROD, {f"jobs.{name}": None for name in ("check-monitors", "prune-history", "rollup-stats")})
    assert one(objects, "Role")["rules"] == [LEASE_RULE]
    assert not find(objects, "CronJob")


def test_cronjob_names_follow_the_release():
    rule = one(render(PROD, release="team"), "Role")["rules"][1]
    assert rule["resourceNames"] == ["team-vigil-check-monitors", "team-vigil-prune-history",
                                     "team-vigil-rollup-stats"]
    assert one(render(PROD, release="team"), "Role")["rules"][0]["resourceNames"] == ["team-vigil-timers"]


def test_binding_and_service_account():
    objects = render(PROD, namespace="team-a")
    binding = one(objects, "RoleBinding", "vigil")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "vigil"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "vigil", "namespace": "team-a"}]
    sa = one(objects, "ServiceAccount", "vigil")
    assert sa["automountServiceAccountToken"] is False
    web = one(objects, "Deployment", "vigil")["spec"]["template"]["spec"]
    assert web["serviceAccountName"] == "vigil" and web["automountServiceAccountToken"] is True
    for cron in find(objects, "CronJob"):
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "vigil" and pod["automountServiceAccountToken"] is False


def test_rbac_and_service_account_switches():
    objects = render(PROD, {"rbac.create": False, "serviceAccount": {"create": False, "name": "ops"}})
    assert not find(objects, "Role") and not find(objects, "RoleBinding") and not find(objects, "ServiceAccount")
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "ops"
    objects = render(PROD, {"serviceAccount.name": "custom"})
    assert one(objects, "ServiceAccount")["metadata"]["name"] == "custom"
    assert one(objects, "RoleBinding")["subjects"][0]["name"] == "custom"
    assert one(objects, "ServiceAccount", "custom")["metadata"].get("annotations") is None
    assert one(render(PROD, {"serviceAccount.annotations": {"iam": "x"}}), "ServiceAccount")["metadata"][
        "annotations"] == {"iam": "x"}


def test_dev_services_get_no_service_account_token():
    for name in ("vigil-mysql", "vigil-redis-cache", "vigil-redis-coordination"):
        pod = one(render(DEV), "Deployment", name)["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
