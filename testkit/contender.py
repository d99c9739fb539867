"""A stand-in pod for leader-election tests: one process running Vigil's LeaseElector.

    python -m testkit.contender --kubeconfig K --namespace N --lease L --events FILE
        [--identity ID] [--lease-duration 3 --renew-deadline 2 --retry-period 0.5]
        [--wall-offset SECONDS] [--no-watch]

It appends JSON lines to FILE: {"event": "elected"|"revoked", "id", "epoch", "mono",
"wall"}. "mono" is CLOCK_MONOTONIC, which every process on this machine shares,
so intervals of different contenders can be compared. For "revoked", mono is
the instant leadership really ended (at the renew deadline at the latest), not
when the loss was noticed. SIGTERM stops it the graceful way: timers stop,
then the Lease is released.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

from kubernetes import config as k8s_config
from kubernetes.client import ApiClient

from app.kube.lease import LeaseClient
from app.scheduling.lease_gate import ElectionTiming, LeaseElector


def election_arguments(identity_prefix: str) -> argparse.ArgumentParser:
    """The options every stand-in contender takes (this one and official_contender)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--lease", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--identity", default=f"{identity_prefix}_{os.getpid()}")
    parser.add_argument("--lease-duration", type=int, default=3, help="whole seconds, as the Lease stores it")
    parser.add_argument("--renew-deadline", type=float, default=2.0)
    parser.add_argument("--retry-period", type=float, default=0.5)
    return parser


def main() -> None:
    parser = election_arguments("contender")
    parser.add_argument("--wall-offset", type=float, default=0.0)
    parser.add_argument("--no-watch", action="store_true")
    args = parser.parse_args()

    api = ApiClient(configuration=_configuration(args.kubeconfig))
    offset = timedelta(seconds=args.wall_offset)
    elector = LeaseElector(
        LeaseClient(api, namespace=args.namespace, name=args.lease, request_timeout_s=args.retry_period),
        identity=args.identity,
        timing=ElectionTiming(args.lease_duration, args.renew_deadline, args.retry_period),
        wall=lambda: datetime.now(timezone.utc) + offset, use_watch=not args.no_watch)
    lock = threading.Lock()

    def emit(event: str, epoch: int | None, mono: float) -> None:
        line = json.dumps({"event": event, "id": args.identity, "epoch": epoch, "mono": mono,
                           "wall": time.time()})
        with lock, open(args.events, "a") as handle:
            handle.write(line + "\n")

    def elected(epoch: int) -> None:
        emit("elected", epoch, time.monotonic())

    def revoked() -> None:
        last = elector.history[-1]
        emit("revoked", last.epoch, last.end_monotonic)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    elector.start(on_elected=elected, on_revoked=revoked)
    emit("started", None, time.monotonic())
    done.wait()
    elector.stop()
    emit("stopped", None, time.monotonic())


def _configuration(path: str):
    from kubernetes.client import Configuration

    configuration = Configuration()
    k8s_config.load_kube_config(config_file=path, client_configuration=configuration)
    return configuration


if __name__ == "__main__":
    main()
