"""A monitor's first check within seconds of being created or resumed, not at the next minute.

Saving such a monitor asks for a check-monitors run the way Run now does (app/run_now.py):
in Kubernetes a Job from the check-monitors CronJob, so checks still run only in job pods
with the job's deadline and the runner's record; locally a subprocess. Run now's
one-pending claim makes many saves at once start one run, which checks every monitor
that is due, new ones first.

Caveats: if a check-monitors run is running at that moment, the request is refused and
the monitor waits for the next minute (that run selected its monitors already); a
failure to start the run is logged and never fails the save. Off when
VIGIL_CHECK_ON_SAVE is false (the default under VIGIL_ENV=testing, where tests decide
when checks run).
"""
from __future__ import annotations

import logging

from flask import current_app

log = logging.getLogger(__name__)


def request_check() -> str | None:
    """Ask for a check-monitors run now; what happened, or None when turned off."""
    if not current_app.config["VIGIL_CHECK_ON_SAVE"]:
        return None
    from app import run_now
    from app.jobs.registry import get_job

    try:
        return run_now.start(get_job("check-monitors"))
    except run_now.RunNowRefused as refused:
        return str(refused)
    except Exception as exc:  # the save stands; the next scheduled run checks the monitor
        log.warning("first check: could not start check-monitors: %s: %s", type(exc).__name__, exc)
        return None
