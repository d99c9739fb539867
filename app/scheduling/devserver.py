"""Timers under the Flask development server (`flask run`, with or without --debug).

Guarantees:
- Under `flask run` the timers (and the cron jobs, with ``VIGIL_CRON_IN_PROCESS``)
  start only in the process that serves requests: the reloader's child, or the one
  process when the reloader is off. The reloader's parent only watches files.
- That process still takes the host-local leader gate before any timer runs, so
  across reloads, and beside any other Vigil process on the same lock directory
  (a second dev server, `make run`), each tick runs in one process, and every
  reload starts a new fencing epoch.
- Nothing else that loads the app starts timers: `flask shell`, `flask db ...`,
  `flask vigil ...` (their click command is not `run`), `python -m app.jobs`
  (``create_app(web=False)``) and gunicorn (its ``post_worker_init`` does it).

Why ``WERKZEUG_RUN_MAIN`` alone is not enough: Flask 3 loads the app in the
reloader's parent *and* its child, and the variable (set only in the child) tells
them apart, so it is the right way to skip the parent. But it is unset when the
reloader is off, where the one process must run the timers; it is inherited by
anything the child spawns; and it excludes nothing: it says "I am a reloader
child", not "I am the only one". A second dev server, or gunicorn, on the same
instance would run every tick again, and a timer run would carry no fencing
epoch. So the variable only picks the candidate; the gate decides.

Caveat: ``app.run()`` called from a script is not covered (Vigil has no such
script); use `flask run`.
"""
from __future__ import annotations

import atexit
import logging

import click
from flask import Flask
from flask.cli import run_command
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from app.scheduling.service import start_for_worker, stop_for_worker

log = logging.getLogger(__name__)


def serves_requests_under_flask_run() -> bool:
    """True in the process where `flask run` will serve requests, false elsewhere."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command is not run_command:
        return False  # not `flask run`: shell, db, vigil, a test, gunicorn, the job CLI
    reload = ctx.params.get("reload")
    if reload is None:  # as flask.cli.run_command decides it: --debug turns the reloader on
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def start_if_serving(app: Flask) -> bool:
    """Start the gated timers if this is `flask run`'s serving process; say whether it did.

    They are stopped at interpreter exit (a reload exits the child with code 3),
    before the kernel drops the flock, so the next child takes over cleanly.
    """
    if not serves_requests_under_flask_run():
        return False
    if start_for_worker(app) is not None:
        atexit.register(stop_for_worker)
        log.info("development server: timers compete for the host-local leader gate")
    return True
