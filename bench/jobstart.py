"""Job start-up: wall time of `python -m app.jobs run test-ok`, against bare Python and `import flask`.

What is measured: what a CronJob pod pays before and around a job that does
nothing. Three commands, each run ``--runs`` times (at least 10) as a fresh
process from this one, interleaved round by round (so a disturbance on the
machine hits all three alike), after one untimed run of each (bytecode caches
written, files in the page cache):

- ``jobstart``: ``python -m app.jobs run test-ok --slot <unique>`` (the real
  entrypoint: parse, load the registry, create_app(web=False), push the app
  context, claim the (job, slot) row, run the no-op body, record the result)
  with ``VIGIL_EXTRA_JOBS=testkit.jobs`` on a SQLite database migrated
  with ``flask db upgrade``, ``VIGIL_ENV=testing``, and ``REDIS_URL`` /
  ``REDIS2_URL`` on a redis-server the bench starts on 127.0.0.1 (as in a pod;
  ``--redis embedded`` drops the URLs, so the in-process stand-in, fakeredis, is
  imported instead); each run gets a new slot, so none is skipped as a duplicate;
- ``python``: ``python -c pass`` (the interpreter's own floor);
- ``import_flask``: ``python -c "import flask"``;
- ``jobstart_os_exit`` (a what-if, not the target): the same entrypoint run
  through ``runpy`` by a wrapper that, once the CLI returned and stdout and
  stderr are flushed, ends with ``os._exit`` (no atexit handlers, no
  interpreter finalization). ``finalization_s`` = jobstart median minus this
  median: what tearing the interpreter down costs a job that has finished.

Each time is exec to exit as this process sees it: ``perf_counter`` before
``subprocess.run`` and after it returns (fork, exec, run, exit, reap).
``exec_to_body_s`` splits the job's time without touching the app: the job body
appends a line to ``VIGIL_TEST_JOB_LOG``, a new file per run, and that file's
modification time (the kernel's coarse clock: a few ms of resolution) is the
moment the body ran; it is compared with ``time.time()`` taken right before
the process was started. ``body_to_exit_s`` is the rest (recording the result,
interpreter shutdown).

Target (from the issue): the job starts in at most 0.6 s, and at most 3 times
``import flask``; both are judged on the medians of jobstart (exec to exit,
which includes exec to body) and import_flask.

Then one more run under ``python -X importtime`` (not timed: the option slows
imports down), parsed from stderr: the imports with the largest cumulative time
(a module's own time plus everything it imported), each with the module that
imported it, the top-level imports (the tree's roots: their cumulative times add
up to all the import time), and the top packages by their own (self) time
summed. That is the list to read when deciding what to import lazily. A root
(``imported_by: (root)``) was imported while no import statement was running:
by code at run time, or by a module loaded with ``importlib.import_module``,
which Python 3.11's ``-X importtime`` does not list at all: the job modules the
registry loads (``app.jobs.check_monitors``, ``app.jobs.maintenance``,
``testkit.jobs``) have no line of their own, and what they import shows
up as roots.

``--json`` prints ``{"jobstart_s": {"median", "p95", ...}, "python_s": {...},
"import_flask_s": {...}, "exec_to_body_s": {...}, ...}`` with ``ratio_to_import_flask``,
``targets`` and the import lists.

Caveats:
- One machine, shared with whatever else runs (2 cores here); the interleaving
  shares disturbances, it does not remove them. p95 of 15 runs is the 15th
  smallest of 15, i.e. the slowest run.
- SQLite on local disk: a MySQL connection in a pod adds the driver import and
  a TCP handshake.
- No container: a pod adds its own start-up (image, namespaces) before exec.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import mean
from typing import Any, Sequence

from bench.common import BenchError, Teardown, format_table, percentile, progress, ratio, remove_tree
from testkit import ROOT

TARGET_S = 0.6
TARGET_RATIO = 3.0
TOP = 10
COMMANDS = ("jobstart", "python", "import_flask", "jobstart_os_exit")
# What if the CLI ended with os._exit once its output is flushed? The same entrypoint,
# run through runpy, skipping atexit handlers and the interpreter's finalization.
_OS_EXIT_WRAPPER = """\
import os, runpy, sys
sys.argv[0] = "app.jobs"
try:
    runpy.run_module("app.jobs", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=15,
                        help="timed runs of each command (default 15, at least 10)")
    parser.add_argument("--redis", choices=("server", "embedded"), default="server",
                        help="server (default): a redis-server on 127.0.0.1, as a pod has; "
                             "embedded: no Redis URL, the in-process stand-in")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.runs < 10:
        raise BenchError("--runs must be at least 10")
    from testkit.servers import RedisServer, migrate, stop_or_kill

    load_before = os.getloadavg()
    with Teardown() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-jobstart-"))
        teardown.callback(remove_tree, workdir)
        database = f"sqlite:///{workdir / 'vigil.db'}"
        progress("migrating a SQLite database")
        try:
            migrate(database)
        except subprocess.CalledProcessError as exc:
            raise BenchError(f"flask db upgrade failed: {exc.stderr.decode(errors='replace')[-2000:]}") from None
        env = {key: value for key, value in os.environ.items()
               if key not in ("REDIS_URL", "REDIS2_URL", "VIGIL_JOB_NAME", "PYTHONPROFILEIMPORTTIME")}
        env.update({"DATABASE_URL": database, "VIGIL_ENV": "testing",
                    "VIGIL_EXTRA_JOBS": "testkit.jobs",
                    "VIGIL_INSTANCE_PATH": str(workdir / "instance"), "VIGIL_TEST_SLEEP": "0"})
        if args.redis == "server":
            if not shutil.which("redis-server"):
                raise BenchError("redis-server is not on PATH (install it, or pass --redis embedded)")
            (workdir / "redis").mkdir()
            redis = RedisServer(workdir / "redis")
            teardown.stop_later("Redis", lambda: stop_or_kill(redis))
            redis.start()
            env.update({"REDIS_URL": redis.url(0), "REDIS2_URL": redis.url(1)})
        slots = _slots()
        argv = {
            "jobstart": [sys.executable, "-m", "app.jobs", "run", "test-ok", "--slot"],
            "python": [sys.executable, "-c", "pass"],
            "import_flask": [sys.executable, "-c", "import flask"],
            "jobstart_os_exit": [sys.executable, "-c", _OS_EXIT_WRAPPER, "run", "test-ok", "--slot"],
        }

        def once(name: str, index: int) -> tuple[float, float | None]:
            """(exec to exit, exec to body or None) of one run of `name`."""
            job = name.startswith("jobstart")
            command = argv[name] + ([next(slots)] if job else [])
            run_env = dict(env, VIGIL_TEST_JOB_LOG=str(workdir / f"body-{name}-{index}.log"))
            body_log = Path(run_env["VIGIL_TEST_JOB_LOG"])
            started_wall = time.time()
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True,
                                  timeout=120)
            elapsed = time.perf_counter() - started
            if done.returncode != 0 or (job and "succeeded" not in done.stderr):
                raise BenchError(f"{' '.join(command[1:])} exited {done.returncode}: "
                                 f"{(done.stderr or done.stdout).strip()[-2000:]}")
            if not job:
                return elapsed, None
            try:
                body_at = body_log.stat().st_mtime_ns / 1e9
            except FileNotFoundError:
                raise BenchError("the test-ok body did not write VIGIL_TEST_JOB_LOG") from None
            return elapsed, body_at - started_wall

        progress("one untimed run of each command (bytecode and page cache)")
        for name in COMMANDS:
            once(name, -1)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        to_body: list[float] = []
        for index in range(args.runs):
            shift = index % len(COMMANDS)
            order = COMMANDS[shift:] + COMMANDS[:shift]  # each command leads a round in turn
            for name in order:
                elapsed, body = once(name, index)
                times[name].append(elapsed)
                if name == "jobstart":
                    to_body.append(body)
            progress(f"round {index + 1}/{args.runs}: jobstart {times['jobstart'][-1]:.3f} s, "
                     f"python {times['python'][-1]:.3f} s, import flask {times['import_flask'][-1]:.3f} s, "
                     f"jobstart ending in os._exit {times['jobstart_os_exit'][-1]:.3f} s")

        progress("one run under -X importtime")
        profile = subprocess.run([sys.executable, "-X", "importtime", *argv["jobstart"][1:], next(slots)],
                                 cwd=ROOT, env=dict(env, VIGIL_TEST_JOB_LOG=str(workdir / "importtime.log")),
                                 capture_output=True, text=True, timeout=120)
        if profile.returncode != 0:
            raise BenchError(f"the -X importtime run exited {profile.returncode}: {profile.stderr[-2000:]}")
        imports = parse_importtime(profile.stderr)

    result: dict[str, Any] = {f"{name}_s": _stats(values) for name, values in times.items()}
    result["exec_to_body_s"] = _stats(to_body)
    body_to_exit = [total - body for total, body in zip(times["jobstart"], to_body)]
    result["body_to_exit_s"] = _stats(body_to_exit)
    job, flask = result["jobstart_s"]["median"], result["import_flask_s"]["median"]
    result["ratio_to_import_flask"] = _round(ratio(job, flask), 2)
    # The fastest runs are the least disturbed by anything else on the machine.
    result["ratio_of_minimums_to_import_flask"] = _round(
        ratio(result["jobstart_s"]["min"], result["import_flask_s"]["min"]), 2)
    result["ratio_to_python"] = _round(ratio(job, result["python_s"]["median"]), 1)
    result["finalization_s"] = _round(job - result["jobstart_os_exit_s"]["median"])
    result["targets"] = {
        "max_s": TARGET_S, "max_ratio_to_import_flask": TARGET_RATIO, "judged_on": "medians",
        "time_met": job <= TARGET_S, "ratio_met": (job / flask) <= TARGET_RATIO,
        "met": job <= TARGET_S and (job / flask) <= TARGET_RATIO,
    }
    result.update(_import_summary(imports))
    result["settings"] = {"runs": args.runs, "database": "sqlite", "redis": "redis-server" if args.redis == "server" else "in-process stand-in",
                          "python": sys.version.split()[0], "cores": os.cpu_count(),
                          # Load average (1 min) before and after: above the core count, the
                          # machine was busy with something else and the times are inflated.
                          "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]}
    return result


def _slots():
    """Distinct slots, one minute apart, far in the past so no real run can collide."""
    base = datetime(2001, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=time.time_ns() % 1_000_000)
    index = 0
    while True:
        yield (base + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        index += 1


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {"median": _round(percentile(values, 50)), "p95": _round(percentile(values, 95)),
            "min": _round(min(values)) if values else None, "max": _round(max(values)) if values else None,
            "mean": _round(mean(values)) if values else None, "runs": len(values)}


# --- -X importtime ---------------------------------------------------------------------------

def parse_importtime(stderr: str) -> list[dict[str, Any]]:
    """Entries of ``-X importtime`` output, in its order, with ``level`` and ``parent``.

    The output is post-order (a module's line follows those of the modules it
    imported) and indents two spaces per level, so read backwards (pre-order),
    a module's parent is the last line seen one level up.
    """
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        raw = parts[2]
        name = raw.strip()
        level = max(0, (len(raw) - len(raw.lstrip()) - 1) // 2)
        rows.append({"name": name, "self_us": int(parts[0]), "cumulative_us": int(parts[1]), "level": level})
    last_at_level: dict[int, str] = {}
    for row in reversed(rows):
        row["parent"] = last_at_level.get(row["level"] - 1) if row["level"] > 0 else None
        last_at_level[row["level"]] = row["name"]
        for deeper in [lvl for lvl in last_at_level if lvl > row["level"]]:
            del last_at_level[deeper]
    return rows


def _import_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def entry(row: dict[str, Any]) -> dict[str, Any]:
        return {"module": row["name"], "cumulative_ms": round(row["cumulative_us"] / 1000, 1),
                "self_ms": round(row["self_us"] / 1000, 1),
                "imported_by": row["parent"] or "(root)"}

    by_cumulative = sorted(rows, key=lambda r: r["cumulative_us"], reverse=True)
    roots = [r for r in rows if r["level"] == 0]
    packages: dict[str, int] = {}
    for row in rows:
        top = row["name"].split(".")[0]
        packages[top] = packages.get(top, 0) + row["self_us"]
    return {
        "import_total_ms": round(sum(r["cumulative_us"] for r in roots) / 1000, 1),
        "top_imports": [entry(r) for r in by_cumulative[:TOP]],
        "top_level_imports": [entry(r) for r in sorted(roots, key=lambda r: r["cumulative_us"],
                                                       reverse=True)[:TOP]],
        "top_packages_self_ms": [{"package": name, "self_ms": round(us / 1000, 1)}
                                 for name, us in sorted(packages.items(), key=lambda kv: kv[1],
                                                        reverse=True)[:TOP]],
    }


# --- output ------------------------------------------------------------------------------

def table(result: dict[str, Any]) -> str:
    settings = result.get("settings", {})
    lines = [f"Process start to exit, {settings.get('runs', '?')} runs each, interleaved; "
             f"SQLite, {settings.get('redis', '?')} Redis; Python {settings.get('python', '?')}, "
             f"{settings.get('cores', '?')} CPU cores, load average {settings.get('loadavg_1m', '?')} "
             "(before, after)", ""]
    rows = []
    for key, label in (("jobstart_s", "python -m app.jobs run test-ok"),
                       ("exec_to_body_s", "  of which exec -> job body"),
                       ("body_to_exit_s", "  of which job body -> exit"),
                       ("import_flask_s", "python -c 'import flask'"),
                       ("python_s", "python -c pass"),
                       ("jobstart_os_exit_s", "what if: the job CLI ending in os._exit")):
        s = result[key]
        rows.append([label, _s(s["median"]), _s(s["p95"]), _s(s["min"]), _s(s["max"])])
    lines.append(format_table(["command", "median s", "p95 s", "min s", "max s"], rows))
    targets = result["targets"]
    lines += [
        "",
        f"jobstart / import flask (medians): x{result['ratio_to_import_flask']:.2f}; "
        f"fastest runs (least disturbed): {result['jobstart_s']['min']:.3f} s / "
        f"{result['import_flask_s']['min']:.3f} s = x{result['ratio_of_minimums_to_import_flask']:.2f}",
        f"target <= {targets['max_s']:g} s: {'met' if targets['time_met'] else 'NOT met'} "
        f"(median {result['jobstart_s']['median']:.3f} s, p95 {result['jobstart_s']['p95']:.3f} s)",
        f"target <= x{targets['max_ratio_to_import_flask']:g} import flask: "
        f"{'met' if targets['ratio_met'] else 'NOT met'}",
        f"interpreter finalization after the job (jobstart - os._exit what-if, medians): "
        f"{result['finalization_s']:.3f} s",
        "",
        f"imports in the job path (one -X importtime run; {result['import_total_ms']:.0f} ms in all, "
        "inflated by the profiling):",
    ]
    lines.append(format_table(["module (top 10 by cumulative)", "cumulative ms", "self ms", "imported by"],
                              [[r["module"], r["cumulative_ms"], r["self_ms"], r["imported_by"]]
                               for r in result["top_imports"]]))
    lines.append("(root): imported at run time or by a module loaded with importlib.import_module, "
                 "e.g. the registry's job modules, which -X importtime does not list")
    lines.append("")
    lines.append(format_table(["top-level import (roots)", "cumulative ms", "self ms"],
                              [[r["module"], r["cumulative_ms"], r["self_ms"]]
                               for r in result["top_level_imports"]]))
    lines.append("")
    lines.append("packages by own import time: " + ", ".join(
        f"{p['package']} {p['self_ms']:.0f} ms" for p in result["top_packages_self_ms"]))
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
