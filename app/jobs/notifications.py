"""The notification timer: reminders that fell due, then the outbox (app.alerts.dispatch).

check-monitors sends what it queued itself; this timer, on the one process that holds
the timer lease, sends the rest: retries, reminders, rows a crashed sender left.
"""
from __future__ import annotations

from app.alerts.dispatch import DISPATCH_EVERY_S, dispatch
from app.alerts.reminders import queue_due_reminders
from app.jobs.registry import JobContext, job
from app.models import utcnow

DEADLINE_S = 60


@job("dispatch-notifications", every=DISPATCH_EVERY_S, deadline=DEADLINE_S,
     description="Send due notifications from the outbox (retries, reminders, leftovers); queue reminders.")
def dispatch_notifications(ctx: JobContext) -> str:
    reminders = queue_due_reminders(utcnow())
    stats = dispatch(budget_s=DEADLINE_S - 10)
    return f"{reminders} reminders queued; {stats}"
