"""The leader election's three timings and the rules between them, free of Kubernetes
imports so that app/config.py can check them at start-up (a bad pair is a one-line
ConfigError, not a failure later in a worker hook) and app/scheduling/lease_gate.py can
use them: one rule, one place.
"""
from __future__ import annotations

from dataclasses import dataclass

JITTER = 1.2


@dataclass(frozen=True)
class ElectionTiming:
    """client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period."""
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        # The Lease stores whole seconds, and followers trust the stored value: a
        # fraction would be cut off there and could let a follower in early.
        if self.lease_duration_s < 1 or not float(self.lease_duration_s).is_integer():
            raise ValueError("lease duration must be a whole number of seconds (at least 1)")
        if not self.lease_duration_s > self.renew_deadline_s:
            raise ValueError("lease duration must be longer than the renew deadline")
        if not self.renew_deadline_s > JITTER * self.retry_period_s:
            raise ValueError("renew deadline must be longer than 1.2 x the retry period")
