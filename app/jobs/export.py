"""Kubernetes outputs of the job registry: CronJob manifests and chart values.

Both are pure functions of the registry, so they are deterministic (sorted keys,
sorted jobs) and a test can regenerate them and fail when the committed files
are stale. Derived CronJob settings, per job:
- activeDeadlineSeconds: the job's deadline plus a start-up allowance, below the
  schedule's period, so a slow run never overlaps the next slot; the registry
  refuses a cron job whose deadline leaves no room for both, so the in-process
  deadline always fires first and the run is recorded as failed, not killed;
- startingDeadlineSeconds: half the period, at most 10 minutes: a slot missed
  by more than that is skipped rather than run late;
- concurrencyPolicy Forbid, restartPolicy Never, a podFailurePolicy that fails
  the Job at once on a usage error (exit 2) and ignores disruptions.
"""
from __future__ import annotations

from typing import Any

from app.jobs.registry import CRON_STARTUP_ALLOWANCE_S, Job, cron_jobs

DEFAULT_IMAGE = "vigil:latest"
APP_NAME = "vigil"


def timing(job: Job) -> dict[str, int]:
    period = int(job.period_s)
    return {
        "activeDeadlineSeconds": min(int(job.deadline_s) + CRON_STARTUP_ALLOWANCE_S, period - 5),
        "startingDeadlineSeconds": max(min(period // 2, 600), 10),
        "backoffLimit": 2 if period >= 300 else 0,
    }


def values() -> dict[str, Any]:
    """The chart's `jobs` values: one entry per cron job."""
    return {"jobs": {job.name: {"schedule": job.schedule, "description": job.description,
                                **timing(job)} for job in cron_jobs()}}


def cronjob_manifest(job: Job, *, image: str = DEFAULT_IMAGE, name_prefix: str = APP_NAME) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/component": "job",
              "vigil.dev/job": job.name}
    times = timing(job)
    pod_security = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"}}
    container_security = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                          "capabilities": {"drop": ["ALL"]}}
    container = {
        "name": "job",
        "image": image,
        "args": ["python", "-m", "app.jobs", "run", job.name],
        "env": [
            {"name": "VIGIL_JOB_NAME", "valueFrom": {"fieldRef": {
                "fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "envFrom": [{"configMapRef": {"name": name_prefix}}, {"secretRef": {"name": name_prefix}}],
        "securityContext": container_security,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": f"{name_prefix}-{job.name}", "labels": labels},
        "spec": {
            "schedule": job.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": times["startingDeadlineSeconds"],
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": {
                "backoffLimit": times["backoffLimit"],
                "activeDeadlineSeconds": times["activeDeadlineSeconds"],
                "ttlSecondsAfterFinished": 3600,
                "podFailurePolicy": {"rules": [
                    {"action": "FailJob", "onExitCodes": {"containerName": "job", "operator": "In",
                                                          "values": [2]}},
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                ]},
                "template": {"metadata": {"labels": labels}, "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": name_prefix,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                }},
            }},
        },
    }


def manifests(*, image: str = DEFAULT_IMAGE) -> dict[str, dict[str, Any]]:
    """File name -> object: one CronJob per cron job, and the kustomization listing them."""
    files = {f"{job.name}.yaml": cronjob_manifest(job, image=image) for job in cron_jobs()}
    files["kustomization.yaml"] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                   "kind": "Kustomization", "resources": sorted(files)}
    return files


def to_yaml(document: dict[str, Any]) -> str:
    import yaml

    class _NoAliases(yaml.SafeDumper):
        # Shared dicts (the labels) must be written out in full: kubectl and people
        # read these files, and anchors/aliases confuse both.
        def ignore_aliases(self, data: Any) -> bool:
            return True

    header = "# Generated by `python -m app.jobs export`; do not edit. `make manifests` regenerates it.\n"
    return header + yaml.dump(document, Dumper=_NoAliases, sort_keys=True, default_flow_style=False,
                              width=100)
