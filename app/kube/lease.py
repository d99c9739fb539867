"""A thin, typed wrapper over one coordination.k8s.io/v1 Lease.

Guarantees:
- Every call has a bounded timeout (``request_timeout_s``); nothing blocks forever.
- Errors are typed and never exit the process: ``LeaseConflict`` (409: someone
  wrote first, re-read and decide again), ``LeaseForbidden`` (403: RBAC),
  ``LeaseMissing`` (404), ``LeaseUnavailable`` (timeouts, connection errors, 5xx).
- Writes are conditional on the ``resourceVersion`` read (optimistic concurrency).
- Times are written as MicroTime (RFC 3339 with microseconds, UTC) for people
  reading ``kubectl get lease -o yaml``; the elector never trusts them for
  timing, it uses its own monotonic clock.
Caveat: imports the kubernetes client (about 0.3 s), so only the Kubernetes
backend of the timer gate imports this module.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Iterator

import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException


class LeaseError(Exception):
    pass


class LeaseConflict(LeaseError):
    pass


class LeaseForbidden(LeaseError):
    pass


class LeaseMissing(LeaseError):
    pass


class LeaseUnavailable(LeaseError):
    pass


@dataclass(frozen=True)
class LeaseRecord:
    holder: str | None
    lease_duration_s: int
    transitions: int
    acquire_time: datetime | None
    renew_time: datetime | None
    resource_version: str | None = None

    def with_changes(self, **changes) -> "LeaseRecord":
        return replace(self, **changes)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _translate(exc: Exception) -> LeaseError:
    if isinstance(exc, ApiException):
        if exc.status == 409:
            return LeaseConflict(exc.reason or "conflict")
        if exc.status == 403:
            return LeaseForbidden(f"forbidden: {exc.reason}")
        if exc.status == 404:
            return LeaseMissing("lease not found")
        return LeaseUnavailable(f"apiserver answered {exc.status} {exc.reason}")
    return LeaseUnavailable(f"{type(exc).__name__}: {exc}")


class LeaseClient:
    """get / create / replace one Lease, and watch it for changes."""

    def __init__(self, api_client: client.ApiClient, *, namespace: str, name: str,
                 request_timeout_s: float = 5.0) -> None:
        self._api = client.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.name = name
        self.request_timeout_s = request_timeout_s

    def get(self, *, timeout_s: float | None = None) -> LeaseRecord:
        try:
            lease = self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=timeout_s or self.request_timeout_s)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc) from None
        return self._record(lease)

    def create(self, record: LeaseRecord, *, timeout_s: float | None = None) -> LeaseRecord:
        body = client.V1Lease(metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                              spec=self._spec(record))
        try:
            lease = self._api.create_namespaced_lease(
                self.namespace, body, _request_timeout=timeout_s or self.request_timeout_s)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc) from None
        return self._record(lease)

    def replace(self, record: LeaseRecord, *, timeout_s: float | None = None) -> LeaseRecord:
        """Write `record` only if the Lease is still at ``record.resource_version``."""
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace,
                                         resource_version=record.resource_version),
            spec=self._spec(record))
        try:
            lease = self._api.replace_namespaced_lease(
                self.name, self.namespace, body, _request_timeout=timeout_s or self.request_timeout_s)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc) from None
        return self._record(lease)

    def watch_changes(self, *, resource_version: str | None, timeout_s: float) -> Iterator[LeaseRecord]:
        """Yield the Lease each time it changes, for at most `timeout_s` seconds."""
        stream = watch.Watch()
        try:
            for event in stream.stream(
                    self._api.list_namespaced_lease, self.namespace,
                    field_selector=f"metadata.name={self.name}", resource_version=resource_version,
                    timeout_seconds=max(1, int(timeout_s)), _request_timeout=timeout_s + 2):
                # The server rounds the window down to whole seconds; callers sleep the rest.
                if event["type"] in ("ADDED", "MODIFIED"):
                    yield self._record(event["object"])
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _translate(exc) from None
        finally:
            stream.stop()

    @staticmethod
    def _spec(record: LeaseRecord) -> client.V1LeaseSpec:
        return client.V1LeaseSpec(
            holder_identity=record.holder or None, lease_duration_seconds=record.lease_duration_s,
            lease_transitions=record.transitions, acquire_time=record.acquire_time,
            renew_time=record.renew_time)

    @staticmethod
    def _record(lease: client.V1Lease) -> LeaseRecord:
        spec = lease.spec or client.V1LeaseSpec()
        return LeaseRecord(holder=spec.holder_identity or None,
                           lease_duration_s=int(spec.lease_duration_seconds or 0),
                           transitions=int(spec.lease_transitions or 0),
                           acquire_time=spec.acquire_time, renew_time=spec.renew_time,
                           resource_version=lease.metadata.resource_version)


__all__ = ["LeaseClient", "LeaseConflict", "LeaseError", "LeaseForbidden", "LeaseMissing",
           "LeaseRecord", "LeaseUnavailable", "_now"]
