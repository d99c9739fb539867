"""The whole system on a real cluster: `hack/e2e.sh` timed, with what its tests measured.

One run of hack/e2e.sh (a kind cluster, offline node image on our machines, the chart, helm
test, tests/e2e). hack/e2e.sh and the e2e tests write their figures to one JSON file
(VIGIL_E2E_FIGURES), which this benchmark reads back:
- ``to_ui_s``: seconds from nothing (the script's start) to the UI answering 200 through the
  ingress; ``caches`` says which steps found their cache warm (tools, node image, images),
  so a run on a new machine is the cold figure and a second one the warm figure;
- ``cluster_create_s``: `kind create cluster` alone;
- ``upgrade_requests`` / ``upgrade_failed_requests``: browser-like traffic through the
  ingress during `helm upgrade` to a new image tag;
- ``rollout_restart_timer_handover_s``: the gap between one leader's "stops leading" and the
  next one's "leads" during `kubectl rollout restart` (kubelet timestamps);
- ``force_delete_takeover_s``: from `kubectl delete pod --grace-period=0 --force` of the
  leader to the new holder's acquireTime, with the bound (lease duration + retry period);
- the outage counts of scenario 7.
With ``--leader``, `python -m bench leader` also runs on a bare apiserver at the chart's
durations (15 / 10 / 2 s), so the cluster's figures stand next to the elector's own.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import BenchError, format_table, progress
from testkit import ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pytest-args", default="", help="passed to the e2e suite (e.g. '-k timers')")
    parser.add_argument("--leader", action="store_true",
                        help="also run bench leader at 15/10/2 s on a bare apiserver (3 trials)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-e2e-") as work:
        figures = Path(work) / "figures.json"
        env = {**os.environ, "VIGIL_E2E_FIGURES": str(figures), "PYTEST_ARGS": args.pytest_args, "KEEP": "0"}
        progress("running hack/e2e.sh (its output follows on stderr)")
        began = time.monotonic()
        done = subprocess.run(["bash", "hack/e2e.sh"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        total = time.monotonic() - began
        try:
            result: dict[str, Any] = json.loads(figures.read_text())
        except (OSError, ValueError):
            raise BenchError(f"hack/e2e.sh wrote no figures (exit {done.returncode})") from None
    result.update(total_s=round(total, 1), e2e_exit=done.returncode)
    if args.leader:
        from bench import leader
        parser = argparse.ArgumentParser()
        leader.add_arguments(parser)
        bare = leader.run(parser.parse_args(["--trials", "3", "--lease-duration", "15",
                                             "--renew-deadline", "10", "--retry-period", "2"]))
        result["bare_apiserver_leader"] = {k: bare["vigil"][k] for k in ("graceful_handover_s", "crash_failover_s")}
    return result


def table(result: dict[str, Any]) -> str:
    rows = [[name, json.dumps(value)] for name, value in sorted(result.items())]
    return format_table(["figure", "value"], rows)
