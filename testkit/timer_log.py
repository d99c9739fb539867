"""Count timer attempts from the runner's `job_run` events in server logs.

Every attempt the runner makes logs one event, also when the database claim refused it
(outcome "skipped"). Counting these, not the runs that won the claim, is what lets a
once-per-slot assertion fail by itself when the leader gate is removed.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable


def timer_attempts(log_paths: Iterable[Path], job: str) -> Counter:
    """How often each slot of `job` was attempted by a timer, across these logs."""
    attempts: Counter = Counter()
    for path in log_paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if '"event": "job_run"' in line:
                event = json.loads(line[line.index("{"):])
                if event["job"] == job and event["trigger"] == "timer":
                    attempts[event["slot"]] += 1
    return attempts
