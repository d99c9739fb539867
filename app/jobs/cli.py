"""`python -m app.jobs`: list, run and export jobs. The contract scripts rely on:

    list [--format table|json]          name, kind, schedule or interval
    run NAME [--slot TIME]              0 succeeded or skipped duplicate slot,
        [--shard K --shards N]          1 failed, 2 usage error, 143 interrupted;
                                        a sharded job's shard K of N (default:
                                        JOB_COMPLETION_INDEX, which an Indexed Job
                                        sets, of VIGIL_JOB_SHARDS, which the chart
                                        sets; else 0 of 1)
    export --format values [--output PATH]
                                        the chart's job values; the chart renders
                                        the CronJobs (hack/render-manifests.sh)

Errors are one readable line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Sequence

from app import runtime
from app.jobs import registry, schedule

EXIT_USAGE = 2


class BadShard(ValueError):
    """A shard number or count that cannot be; the message is fit for a user."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m app.jobs", description="Vigil's jobs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = commands.add_parser("list", help="list every job")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    run = commands.add_parser("run", help="run one job for one slot")
    run.add_argument("name")
    run.add_argument("--slot", help="ISO 8601 time (UTC if naive) or 'now'; default: see docs")
    run.add_argument("--trigger", choices=("schedule", "manual"), default=None,
                     help="recorded with the run; default: schedule inside a Job, else manual")
    run.add_argument("--shard", type=int, default=None,
                     help="this shard's number k, 0 to N-1 (default: JOB_COMPLETION_INDEX, else 0)")
    run.add_argument("--shards", type=int, default=None,
                     help="how many shards share the slot (default: VIGIL_JOB_SHARDS, else 1)")
    export = commands.add_parser("export", help="write the chart's job values (the chart renders the CronJobs)")
    export.add_argument("--format", choices=("values",), required=True)
    export.add_argument("--output", help="a file; default or '-': stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit code (tests call this); ``__main__`` exits with ``exit_now``."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list(args.format)
        if args.command == "export":
            return _export(args.output)
        return _run(args.name, args.slot, args.trigger, args.shard, args.shards)
    except (registry.UnknownJob, schedule.BadSlot, BadShard) as exc:
        print(f"python -m app.jobs: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _list(fmt: str) -> int:
    jobs = sorted(registry.load_jobs().values(), key=lambda j: j.name)
    rows = [{"name": j.name, "kind": j.kind, "schedule": j.schedule, "interval_s": j.interval_s,
             "deadline_s": j.deadline_s, "description": j.description} for j in jobs]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        when = row["schedule"] if row["kind"] == "cron" else f"every {row['interval_s']:g}s"
        print(f"{row['name']:<18} {row['kind']:<6} {when:<14} {row['description']}")
    return 0


def _export(output: str | None) -> int:
    from app.jobs import export

    text = export.to_yaml(export.values())
    if output and output != "-":
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def default_slot(job: registry.Job, now: datetime) -> datetime:
    explicit = os.environ.get("VIGIL_JOB_SLOT")  # set on Jobs started with "Run now"
    if explicit:
        return schedule.parse_slot(explicit)
    if job.kind == "timer":
        return runtime.current_slot(job, now)
    return schedule.slot_from_job_name(os.environ.get("VIGIL_JOB_NAME")) or runtime.current_slot(job, now)


def shard_of_process(job: registry.Job, shard: int | None, shards: int | None) -> tuple[int, int]:
    """(k, n): the flags, else what the Indexed Job and the chart set, else 0 of 1."""
    def number(value: int | None, variable: str, default: int) -> int:
        if value is not None:
            return value
        raw = os.environ.get(variable, "").strip()
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            raise BadShard(f"{variable} must be a whole number, not {raw!r}") from None

    k, n = number(shard, "JOB_COMPLETION_INDEX", 0), number(shards, "VIGIL_JOB_SHARDS", 1)
    if n < 1 or not 0 <= k < n:
        raise BadShard(f"shard {k} of {n} does not exist (shards are numbered 0 to n-1)")
    if n > 1 and not job.sharded:
        raise BadShard(f"job {job.name} is not sharded; run it without --shard/--shards")
    return k, n


def _run(name: str, slot_text: str | None, trigger: str | None, shard: int | None = None,
         shards: int | None = None) -> int:
    job = registry.get_job(name)
    from app.config import ConfigError
    from app.models import utcnow

    shard, shards = shard_of_process(job, shard, shards)
    slot = schedule.parse_slot(slot_text) if slot_text else default_slot(job, utcnow())
    trigger = trigger or os.environ.get("VIGIL_JOB_TRIGGER") or (
        "schedule" if os.environ.get("VIGIL_JOB_NAME") else "manual")
    if trigger not in ("schedule", "manual"):
        raise schedule.BadSlot(f"bad trigger {trigger!r}: use schedule or manual")
    _log_runs_as_json_lines()
    try:
        from app import create_app

        app = create_app(web=False)
    except ConfigError as exc:
        print(f"python -m app.jobs: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from app.jobs.runner import DeadlineExceeded, Interrupted, run_job

    def on_sigterm(signum, frame):
        raise Interrupted()

    def on_alarm(signum, frame):
        raise DeadlineExceeded()

    gc.freeze()  # start-up objects live as long as the process; never scan them again
    gc.enable()
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, job.deadline_s)
    try:
        with app.app_context():
            result = run_job(job, slot=slot, trigger=trigger, shard=shard, shards=shards)
    except Interrupted:
        print(f"job {name} slot {slot.isoformat()}: interrupted by SIGTERM", file=sys.stderr)
        return 143
    except DeadlineExceeded:  # outside the job body, e.g. while recording the run
        print(f"job {name} slot {slot.isoformat()}: deadline of {job.deadline_s:g}s exceeded",
              file=sys.stderr)
        return 1
    except Exception as exc:  # the database or Redis is down: say so in one line
        print(f"job {name} slot {slot.isoformat()}: could not run: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    where = f" shard {shard} of {shards}" if shards > 1 else ""
    print(f"job {name} slot {slot.isoformat()}{where}: {result.outcome}"
          + (f" ({result.message})" if result.message else ""), file=sys.stderr)
    return result.exit_code


def _log_runs_as_json_lines() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    runs = logging.getLogger("vigil.jobs.runs")
    runs.addHandler(handler)
    runs.setLevel(logging.INFO)
    runs.propagate = False


def exit_now(code: int) -> None:
    """Exit without the interpreter's teardown.

    Tearing down a process that imported Flask, SQLAlchemy and the job modules
    spends about 0.25 s in full garbage-collection passes (measured with perf in
    bench/jobstart), time every CronJob pod pays for nothing: the run is already
    recorded and committed. So flush what is buffered, then leave at once.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
