"""Pure logic of the Lease elector against an in-memory LeaseClient.

The real behaviour is proved on a real apiserver in tests/k8s; these pin down
rules that are hard to provoke there: whole-second leases, and no busy loop
while the apiserver is unreachable.
"""
from __future__ import annotations

import threading
import time

import pytest

from app.kube.lease import LeaseRecord, LeaseUnavailable
from app.scheduling.lease_gate import ElectionTiming, LeaseElector


class DownLeaseClient:
    """An apiserver that never answers; counts the attempts."""

    namespace, name = "default", "vigil-timers"

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self, *args, **kwargs):
        self.calls += 1
        raise LeaseUnavailable("connection refused")

    get = create = replace = _fail

    def watch_changes(self, **kwargs):
        self._fail()
        yield from ()


@pytest.mark.parametrize("lease", [2.5, 0.5, 0])
def test_lease_durations_are_whole_seconds(lease):
    with pytest.raises(ValueError, match="whole number"):
        ElectionTiming(lease_duration_s=lease, renew_deadline_s=0.4, retry_period_s=0.1)


def test_timing_order_is_enforced():
    with pytest.raises(ValueError, match="longer than the renew deadline"):
        ElectionTiming(lease_duration_s=3, renew_deadline_s=3, retry_period_s=1)
    with pytest.raises(ValueError, match="1.2 x the retry period"):
        ElectionTiming(lease_duration_s=3, renew_deadline_s=1, retry_period_s=1)


def test_an_unreachable_apiserver_is_retried_at_the_retry_period_not_in_a_loop():
    client = DownLeaseClient()
    elector = LeaseElector(client, identity="me", timing=ElectionTiming(3, 2, 0.2))
    elector.start(on_elected=lambda epoch: None, on_revoked=lambda: None)
    time.sleep(2.0)
    elector.stop()
    # One attempt per jittered retry period (0.2-0.24 s): about 10 in 2 s, never hundreds.
    assert 3 <= client.calls <= 15, client.calls


def test_a_record_seen_expired_is_taken_only_after_a_full_lease_duration():
    now = [100.0]
    record = LeaseRecord(holder="other", lease_duration_s=3, transitions=4, acquire_time=None,
                         renew_time=None, resource_version="7")

    class Fixed:
        namespace, name = "default", "vigil-timers"

        def get(self, **kwargs):
            return record

        def replace(self, wanted, **kwargs):
            return wanted.with_changes(resource_version="8")

    elected = threading.Event()
    elector = LeaseElector(Fixed(), identity="me", timing=ElectionTiming(3, 2, 0.5),
                           monotonic=lambda: now[0])
    elector._on_elected = lambda epoch: elected.set()
    elector._try_acquire()  # first sight of version 7: the clock starts now, whatever renewTime says
    assert not elected.is_set()
    now[0] += 2.9
    elector._try_acquire()
    assert not elected.is_set()
    now[0] += 0.2
    elector._try_acquire()
    assert elected.is_set() and elector.epoch == 5  # leaseTransitions + 1
