"""Leader election: Vigil's LeaseElector beside kubernetes.leaderelection (LeaseLock), one apiserver.

What is measured, in one run, against the same real etcd + kube-apiserver on
loopback (testkit/controlplane.py, started here and stopped in ``finally``):
Vigil's elector (app/scheduling/lease_gate.py, run by testkit/contender.py)
and the official client's ``kubernetes.leaderelection`` with ``LeaseLock`` (run
by testkit/official_contender.py), at the same durations: by default
lease 3 s, renew deadline 2 s, retry period 0.5 s (``--lease-duration``,
``--renew-deadline``, ``--retry-period``). client-go's defaults are 15 / 10 / 2 s;
the scaled-down lease : renew-deadline ratio is the same (3 : 2), the retry period
is 1/6 of the lease instead of 2/15, i.e. slightly *longer* relative to the lease
than client-go's (15/10/2 scaled to a 3 s lease would be 3 / 2 / 0.4).
The official client's Config refuses a retry period (and renew deadline) under
1 s with ``sys.exit``; its contender then sets the same durations on a Config
built without that check (recorded in ``official.config_rejected``).

Each contender is a separate process that appends JSON events (elected / revoked
/ stopped, with CLOCK_MONOTONIC times, which all processes share) to one file
per trial, and counts its own API requests by wrapping
``kubernetes.client.rest.RESTClientObject.request`` (a line every second, so a
SIGKILLed process still reports, and a final one on SIGTERM).

Per implementation, ``--trials`` (20) trials of each scenario, interleaved
(vigil, official, vigil, ...), each on a fresh Lease name with ``--contenders``
(3) freshly started processes; after every contender started and one was
elected, ``--settle`` (1 s) passes so the followers are watching/polling:
- graceful handover: SIGTERM the leader; time from sending the signal until
  another contender's "elected" event (Vigil stops its timers and releases the
  Lease; the official client has no stop and never releases, so the process
  just exits and the followers wait for the lease to expire);
- crash failover: SIGKILL the leader; same measure.
After a successor is elected, the trial watches 2 more retry periods, then
SIGKILLs the rest. Overlaps: leadership intervals (elected -> revoked/stopped
event; a killed process's interval ends at the kill) of different contenders of
the same trial that overlap in time, counted as pairs and summed over all
trials. A trial without a successor within 3 x lease + 5 s counts as failed.
- steady state: 3 contenders on a fresh Lease, a warm-up of one lease duration
  + 1 s after the election, then ``--steady-seconds`` (10) seconds; requests per
  second of each contender from its periodic counts, averaged over all three
  (``requests_per_s_per_contender``), and for the leader and the followers.

Times are nearest-rank percentiles (median = p50: an observed value). Goals
(for Vigil; the official client is evaluated against the same ones for
comparison): graceful handover p95 <= 1 s; crash failover p95 <= lease duration
+ retry period; zero overlaps; no more requests per contender than the official
client.

``--json`` prints ``{"vigil": {...}, "official": {...}}``, each with
``lease_duration_s``, ``renew_deadline_s``, ``retry_period_s``,
``graceful_handover_s`` and ``crash_failover_s`` (``median``, ``p95``, ``min``,
``max``, ``n``, ``failed``, ``samples``), ``overlaps``,
``requests_per_s_per_contender``, ``requests_per_s_leader``,
``requests_per_s_follower``, ``requests_by_method_per_s`` and ``goals``.

Caveats: everything shares one machine (2 cores here); process start-up (~0.6 s
of imports) is outside every measured interval. Loopback only; every process
is bounded by timeouts and killed in ``finally`` (contenders also die with this
process: PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import BenchError, Teardown, fmt, format_table, percentile, progress, ratio, remove_tree
from testkit import ROOT

IMPLEMENTATIONS = ("vigil", "official")
SCENARIOS = (("graceful_handover_s", signal.SIGTERM), ("crash_failover_s", signal.SIGKILL))
NAMESPACE = "bench-leader"
STARTUP_TIMEOUT_S = 20.0
_VIGIL_LAUNCHER = ("from testkit.official_contender import run_counted; "
                   "run_counted('testkit.contender')")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=20,
                        help="trials per implementation and scenario (default 20)")
    parser.add_argument("--lease-duration", type=int, default=3,
                        help="lease duration, whole seconds (default 3; client-go: 15)")
    parser.add_argument("--renew-deadline", type=float, default=2.0,
                        help="renew deadline in seconds (default 2; client-go: 10)")
    parser.add_argument("--retry-period", type=float, default=0.5,
                        help="retry period in seconds (default 0.5; client-go: 2)")
    parser.add_argument("--contenders", type=int, default=3, help="contenders per trial (default 3)")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds between the election and the signal (default 1)")
    parser.add_argument("--steady-seconds", type=float, default=10.0,
                        help="request-rate window with 3 contenders (default 10)")


# -- one group of contender processes on one Lease -------------------------------------------
class Group:
    """Contender processes of one implementation on one Lease, sharing one events file."""

    def __init__(self, impl: str, lease: str, workdir: Path, kubeconfig: Path,
                 args: argparse.Namespace, registry: list[subprocess.Popen]) -> None:
        self.impl, self.lease, self.args, self.kubeconfig = impl, lease, args, kubeconfig
        self.events = workdir / f"{lease}.jsonl"
        self.logs = workdir / f"{lease}.log"
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed_at: dict[str, float] = {}
        self.exited_at: dict[str, float] = {}
        self._registry = registry

    def start(self, identity: str) -> None:
        from testkit.controlplane import die_with_parent

        common = ["--kubeconfig", str(self.kubeconfig), "--namespace", NAMESPACE, "--lease", self.lease,
                  "--events", str(self.events), "--identity", identity,
                  "--lease-duration", str(self.args.lease_duration),
                  "--renew-deadline", str(self.args.renew_deadline),
                  "--retry-period", str(self.args.retry_period)]
        if self.impl == "vigil":
            argv = [sys.executable, "-c", _VIGIL_LAUNCHER, *common]
        else:
            argv = [sys.executable, "-m", "testkit.official_contender", *common]
        with open(self.logs, "ab") as log:
            process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       preexec_fn=die_with_parent)  # noqa: PLW1509
        self.processes[identity] = process
        self._registry.append(process)

    def read(self) -> list[dict]:
        if not self.events.exists():
            return []
        out = []
        for line in self.events.read_text().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def leaders(self, events: list[dict]) -> set[str]:
        leading: set[str] = set()
        for event in sorted((e for e in events if e.get("mono") is not None), key=lambda e: e["mono"]):
            if event["event"] == "elected":
                leading.add(event["id"])
            elif event["event"] in ("revoked", "stopped"):
                leading.discard(event["id"])
        return leading - set(self.killed_at)

    def wait_ready(self, timeout: float) -> str:
        """Every contender said "started" and exactly one leads: return its identity."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.read()
            started = {e["id"] for e in events if e["event"] == "started"}
            leaders = self.leaders(events)
            if started >= set(self.processes) and len(leaders) == 1:
                return next(iter(leaders))
            for identity, process in self.processes.items():
                if process.poll() is not None:
                    raise BenchError(f"{self.impl} contender {identity} exited ({process.returncode}) "
                                     f"at start-up; log tail:\n{self.tail()}")
            time.sleep(0.05)
        raise BenchError(f"{self.impl} on {self.lease}: no single leader within {timeout:.0f}s "
                         f"(events: {self.read()[-10:]}); log tail:\n{self.tail()}")

    def signal(self, identity: str, signum: int) -> float:
        process = self.processes[identity]
        at = time.monotonic()
        process.send_signal(signum)
        if signum == signal.SIGKILL:
            process.wait()
            self.killed_at[identity] = at
        return at

    def wait_elected(self, after: float, exclude: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if exclude not in self.exited_at and self.processes[exclude].poll() is not None:
                self.exited_at[exclude] = time.monotonic()  # the signalled one exited (within 20 ms)
            found = [e for e in self.read() if e["event"] == "elected" and e["id"] != exclude
                     and e["mono"] >= after]
            if found:
                return min(found, key=lambda e: e["mono"])
            time.sleep(0.02)
        return None

    def wait_exit(self, identity: str, timeout: float) -> None:
        process = self.processes[identity]
        try:
            process.wait(timeout)
            self.exited_at.setdefault(identity, time.monotonic())
        except subprocess.TimeoutExpired:
            self.kill(identity)

    def kill(self, identity: str) -> None:
        process = self.processes[identity]
        if process.poll() is None:
            self.killed_at[identity] = time.monotonic()
            process.kill()
            process.wait()

    def kill_all(self) -> None:
        for identity in self.processes:
            self.kill(identity)

    def intervals(self) -> list[tuple[float, float, str]]:
        """(start, end, id) of every leadership; open ones end when the process was killed/exited."""
        out: list[tuple[float, float, str]] = []
        open_: dict[str, float] = {}
        for event in sorted((e for e in self.read() if e.get("mono") is not None), key=lambda e: e["mono"]):
            who = event["id"]
            if event["event"] == "elected" and who not in open_:
                open_[who] = event["mono"]
            elif event["event"] in ("revoked", "stopped") and who in open_:
                out.append((open_.pop(who), event["mono"], who))
        now = time.monotonic()
        for who, start in open_.items():
            out.append((start, self.killed_at.get(who, self.exited_at.get(who, now)), who))
        return sorted(out)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.logs.read_text(errors="replace").splitlines()[-lines:])
        return ""


def overlapping_pairs(intervals: list[tuple[float, float, str]]) -> list[dict]:
    pairs = []
    for i, (s1, e1, a) in enumerate(intervals):
        for s2, e2, b in intervals[i + 1:]:
            if a != b and max(s1, s2) < min(e1, e2):
                pairs.append({"a": a, "b": b, "overlap_s": round(min(e1, e2) - max(s1, s2), 4)})
    return pairs


# -- the measurements --------------------------------------------------------------------------
def _trial(impl: str, scenario: str, signum: int, index: int, ctx: dict) -> dict:
    args = ctx["args"]
    lease = f"{impl}-{scenario.split('_')[0]}-{index}"
    group = Group(impl, lease, ctx["workdir"], ctx["kubeconfig"], args, ctx["registry"])
    try:
        for k in range(args.contenders):
            group.start(f"{impl}-{index}-{k}")
        leader = group.wait_ready(STARTUP_TIMEOUT_S)
        time.sleep(args.settle)
        leaders = group.leaders(group.read())
        if leaders != {leader}:
            return {"failed": f"leadership changed before the signal: {sorted(leaders)}",
                    "overlaps": _overlaps(group)}
        sent = group.signal(leader, signum)
        elected = group.wait_elected(sent, leader, 3 * args.lease_duration + 5)
        exit_s = None
        if signum == signal.SIGTERM:
            group.wait_exit(leader, 10.0)
            if leader in group.exited_at:
                exit_s = group.exited_at[leader] - sent
        if elected is not None:
            time.sleep(2 * args.retry_period)  # let any second, overlapping takeover show
        group.kill_all()
        result: dict[str, Any] = {"overlaps": _overlaps(group), "leader": leader, "exit_s": exit_s}
        if elected is None:
            result["failed"] = f"no successor within {3 * args.lease_duration + 5}s"
            progress(f"warning: {impl} {scenario} trial {index}: {result['failed']}; log tail:\n{group.tail()}")
        else:
            result["seconds"] = elected["mono"] - sent
            result["successor"] = elected["id"]
        return result
    finally:
        group.kill_all()


def _overlaps(group: Group) -> list[dict]:
    return overlapping_pairs(group.intervals())


def _steady(impl: str, ctx: dict) -> dict:
    args = ctx["args"]
    group = Group(impl, f"{impl}-steady", ctx["workdir"], ctx["kubeconfig"], args, ctx["registry"])
    try:
        for k in range(args.contenders):
            group.start(f"{impl}-steady-{k}")
        leader = group.wait_ready(STARTUP_TIMEOUT_S)
        time.sleep(args.lease_duration + 1.0)
        t0 = time.monotonic()
        time.sleep(args.steady_seconds)
        t1 = time.monotonic()
        time.sleep(1.5)  # one more periodic report past the window's end
        events = group.read()
        group.kill_all()
    finally:
        group.kill_all()
    changes = [e for e in events if e["event"] in ("elected", "revoked") and t0 - 0.5 <= e["mono"] <= t1]
    per: dict[str, dict] = {}
    for identity in group.processes:
        reports = [e for e in events if e["event"] == "requests" and e["id"] == identity]
        inside = [e for e in reports if t0 <= e["mono"] <= t1 + 1.1]
        if len(inside) < 2:
            raise BenchError(f"{impl} steady state: {identity} reported its requests only {len(inside)} times")
        first, last = inside[0], inside[-1]
        span = last["mono"] - first["mono"]
        methods = set(first["by_method"]) | set(last["by_method"])
        per[identity] = {
            "role": "leader" if identity == leader else "follower",
            "requests_per_s": (last["count"] - first["count"]) / span,
            "by_method_per_s": {m: (last["by_method"].get(m, 0) - first["by_method"].get(m, 0)) / span
                                for m in sorted(methods)},
            "window_s": span}
    followers = [p for p in per.values() if p["role"] == "follower"]
    methods = sorted({m for p in per.values() for m in p["by_method_per_s"]})
    return {
        "leader": leader,
        "leadership_changes_in_window": len(changes),
        "requests_per_s_per_contender": sum(p["requests_per_s"] for p in per.values()) / len(per),
        "requests_per_s_leader": per[leader]["requests_per_s"],
        "requests_per_s_follower": sum(p["requests_per_s"] for p in followers) / len(followers) if followers else None,
        "requests_by_method_per_s": {
            "leader": per[leader]["by_method_per_s"],
            "follower": {m: sum(p["by_method_per_s"].get(m, 0) for p in followers) / len(followers)
                         for m in methods} if followers else {}},
        "contenders": per,
    }


def _config_rejections(workdir: Path) -> list[str]:
    messages: set[str] = set()
    for path in workdir.glob("official-*.jsonl"):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("event") == "config_rejected":
                    messages.add(str(event.get("message")))
    return sorted(messages)


def _stats(samples: list[float], failed: int) -> dict:
    return {"median": percentile(samples, 50), "p95": percentile(samples, 95),
            "min": min(samples) if samples else None, "max": max(samples) if samples else None,
            "n": len(samples), "failed": failed, "samples": [round(s, 4) for s in samples]}


def _assets() -> str:
    from testkit.controlplane import ControlPlaneError, find_assets

    try:
        return find_assets()
    except ControlPlaneError as exc:
        raise BenchError(str(exc)) from None


def _validate(args: argparse.Namespace) -> None:
    if args.trials < 1:
        raise BenchError("--trials must be at least 1")
    if args.contenders < 2:
        raise BenchError("--contenders must be at least 2")
    if not args.lease_duration > args.renew_deadline > 1.2 * args.retry_period > 0:
        raise BenchError("need lease duration > renew deadline > 1.2 x retry period > 0")
    if args.steady_seconds < 2 or args.settle < 0:
        raise BenchError("--steady-seconds must be at least 2 and --settle not negative")


def run(args: argparse.Namespace) -> dict[str, Any]:
    _validate(args)
    assets = _assets()
    import kubernetes.client as k8s

    from testkit.controlplane import ControlPlane, ControlPlaneError

    registry: list[subprocess.Popen] = []
    samples = {impl: {scenario: [] for scenario, _ in SCENARIOS} for impl in IMPLEMENTATIONS}
    failures = {impl: {scenario: [] for scenario, _ in SCENARIOS} for impl in IMPLEMENTATIONS}
    overlaps: dict[str, list[dict]] = {impl: [] for impl in IMPLEMENTATIONS}
    exits: dict[str, list[float]] = {impl: [] for impl in IMPLEMENTATIONS}
    steady: dict[str, dict] = {}
    began = time.monotonic()
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-leader-"))
        teardown.callback(remove_tree, workdir)
        progress(f"starting etcd + kube-apiserver from {assets}")
        plane = ControlPlane(assets)
        teardown.stop_later("the control plane", plane.stop)
        try:
            plane.start()
        except ControlPlaneError as exc:
            raise BenchError(f"control plane did not start: {exc}") from None
        teardown.stop_later("contenders", lambda: _kill_all(registry))
        with plane.admin_client() as admin:
            k8s.CoreV1Api(admin).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=NAMESPACE)))
        ctx = {"args": args, "workdir": workdir, "kubeconfig": plane.kubeconfig, "registry": registry}

        for impl in IMPLEMENTATIONS:
            progress(f"{impl}: steady state, {args.contenders} contenders, {args.steady_seconds:.0f} s window")
            steady[impl] = _steady(impl, ctx)
            progress(f"{impl}: {steady[impl]['requests_per_s_per_contender']:.2f} requests/s per contender "
                     f"(leader {steady[impl]['requests_per_s_leader']:.2f}, "
                     f"follower {fmt(steady[impl]['requests_per_s_follower'], 2)})")
        for index in range(args.trials):
            for scenario, signum in SCENARIOS:
                for impl in IMPLEMENTATIONS:
                    outcome = _trial(impl, scenario, signum, index, ctx)
                    for pair in outcome["overlaps"]:
                        overlaps[impl].append({"trial": f"{scenario}#{index}", **pair})
                    if outcome.get("exit_s") is not None:
                        exits[impl].append(outcome["exit_s"])
                    if "seconds" in outcome:
                        samples[impl][scenario].append(outcome["seconds"])
                    else:
                        failures[impl][scenario].append(f"#{index}: {outcome['failed']}")
                    shown = f"{outcome['seconds']:.3f} s" if "seconds" in outcome else "FAILED"
                    progress(f"trial {index + 1}/{args.trials} {scenario[:-2]:<18} {impl:<8} {shown}"
                             + (f"  OVERLAPS {len(outcome['overlaps'])}" if outcome["overlaps"] else ""))
        rejected = _config_rejections(workdir)

    result: dict[str, Any] = {}
    for impl in IMPLEMENTATIONS:
        entry: dict[str, Any] = {
            "lease_duration_s": float(args.lease_duration), "renew_deadline_s": args.renew_deadline,
            "retry_period_s": args.retry_period, "trials": args.trials, "contenders": args.contenders}
        for scenario, _ in SCENARIOS:
            entry[scenario] = _stats(samples[impl][scenario], len(failures[impl][scenario]))
            if failures[impl][scenario]:
                entry[scenario]["failures"] = failures[impl][scenario]
        entry["sigterm_leader_exit_s"] = _stats(exits[impl], 0)
        entry["overlaps"] = len(overlaps[impl])
        entry["overlap_details"] = overlaps[impl][:20]
        s = steady[impl]
        for key in ("requests_per_s_per_contender", "requests_per_s_leader", "requests_per_s_follower",
                    "requests_by_method_per_s", "leadership_changes_in_window"):
            entry[key] = s[key]
        entry["steady_state"] = {"window_s": args.steady_seconds, "contenders": s["contenders"]}
        if impl == "official":
            entry["config_rejected"] = rejected
        result[impl] = entry
    for impl in IMPLEMENTATIONS:
        result[impl]["goals"] = _goals(result[impl], result["official"])
    result["vigil"]["elapsed_s"] = round(time.monotonic() - began, 1)
    return result


def _kill_all(registry: list[subprocess.Popen]) -> None:
    for process in registry:
        if process.poll() is None:
            process.kill()
    for process in registry:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)


def _goals(entry: dict, official: dict) -> dict:
    graceful, crash = entry["graceful_handover_s"], entry["crash_failover_s"]
    limit = entry["lease_duration_s"] + entry["retry_period_s"]
    return {
        "graceful_handover_p95_le_1s": graceful["p95"] is not None and graceful["p95"] <= 1.0
        and not graceful["failed"],
        "crash_failover_p95_le_lease_plus_retry": crash["p95"] is not None and crash["p95"] <= limit
        and not crash["failed"],
        "zero_overlaps": entry["overlaps"] == 0,
        "requests_le_official": entry["requests_per_s_per_contender"]
        <= official["requests_per_s_per_contender"] + 1e-9,
    }


# -- the table ---------------------------------------------------------------------------------
def table(result: dict[str, Any]) -> str:
    v, o = result["vigil"], result["official"]
    limit = v["lease_duration_s"] + v["retry_period_s"]
    goals = v["goals"]

    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    def row(label: str, a: Any, b: Any, digits: int, goal: str = "", met: str = "") -> list[str]:
        return [label, fmt(a, digits), fmt(b, digits), fmt(ratio(b, a), 2), goal, met]

    g, c = "graceful_handover_s", "crash_failover_s"
    rows = [
        row("graceful handover median (s)", v[g]["median"], o[g]["median"], 3),
        row("graceful handover p95 (s)", v[g]["p95"], o[g]["p95"], 3, "<= 1.0 s",
            yes(goals["graceful_handover_p95_le_1s"])),
        row("graceful handover max (s)", v[g]["max"], o[g]["max"], 3),
        row("leader exit after SIGTERM p95 (s)", v["sigterm_leader_exit_s"]["p95"],
            o["sigterm_leader_exit_s"]["p95"], 3),
        row("crash failover median (s)", v[c]["median"], o[c]["median"], 3),
        row("crash failover p95 (s)", v[c]["p95"], o[c]["p95"], 3, f"<= {limit:g} s (lease + retry)",
            yes(goals["crash_failover_p95_le_lease_plus_retry"])),
        row("crash failover max (s)", v[c]["max"], o[c]["max"], 3),
        ["trials ok / failed", f"{v[g]['n'] + v[c]['n']} / {v[g]['failed'] + v[c]['failed']}",
         f"{o[g]['n'] + o[c]['n']} / {o[g]['failed'] + o[c]['failed']}", "", "", ""],
        row("overlapping leaderships (pairs)", v["overlaps"], o["overlaps"], 0, "0", yes(goals["zero_overlaps"])),
        row("requests/s per contender", v["requests_per_s_per_contender"], o["requests_per_s_per_contender"], 2,
            "<= official", yes(goals["requests_le_official"])),
        row("  leader", v["requests_per_s_leader"], o["requests_per_s_leader"], 2),
        row("  follower", v["requests_per_s_follower"], o["requests_per_s_follower"], 2),
    ]
    title = (f"Leader election on one kube-apiserver: Vigil's LeaseElector vs kubernetes.leaderelection "
             f"(LeaseLock)\nlease {v['lease_duration_s']:g} s / renew deadline {v['renew_deadline_s']:g} s / "
             f"retry {v['retry_period_s']:g} s (client-go defaults 15 / 10 / 2); {v['trials']} trials per "
             f"scenario, {v['contenders']} contenders, fresh Lease per trial")
    lines = [title, "", format_table(["metric", "vigil", "official", "official/vigil", "goal (vigil)", "met"],
                                     rows)]
    methods = []
    for impl, entry in (("vigil", v), ("official", o)):
        for role in ("leader", "follower"):
            per = entry["requests_by_method_per_s"].get(role) or {}
            if per:
                methods.append(f"  {impl} {role}: " + ", ".join(f"{m} {x:.2f}/s" for m, x in per.items() if x))
    lines += ["", "requests by kind (steady state):", *methods]
    notes = []
    for impl, entry in (("vigil", v), ("official", o)):
        for scenario in (g, c):
            for failure in entry[scenario].get("failures", []):
                notes.append(f"{impl} {scenario[:-2]} failed {failure}")
        for pair in entry["overlap_details"][:5]:
            notes.append(f"{impl} overlap in {pair['trial']}: {pair['a']} and {pair['b']} for {pair['overlap_s']:.3f} s")
        if entry["leadership_changes_in_window"]:
            notes.append(f"{impl}: {entry['leadership_changes_in_window']} leadership changes during the "
                         "steady-state window")
    for message in o.get("config_rejected", []):
        notes.append(f"official Config refused these durations (sys.exit: {message!r}); "
                     "run with them set past its validation")
    if notes:
        lines += ["", "notes:", *(f"- {n}" for n in notes)]
    return "\n".join(lines)
