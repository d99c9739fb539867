"""APScheduler in the web process, started only while this process leads.

Each timer is an APScheduler job with coalesce (missed ticks collapse into one),
max_instances 1 (a slow tick never overlaps itself) and a small misfire grace.
Ticks are aligned to multiples of the interval since the epoch, so every process
agrees on a tick's slot; each tick goes through the job runner, whose unique
(job, slot) key stops a tick from running twice even across a handover.
With ``VIGIL_CRON_IN_PROCESS`` (the embedded default, where there are no
CronJobs) the cron jobs are scheduled here too, behind the same gate.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app import runtime
from app.jobs import schedule
from app.jobs.registry import Job, cron_jobs, timer_jobs
from app.scheduling import status
from app.scheduling.gate import LeaderGate

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0


class TimerService:
    def __init__(self, app: Flask, gate: LeaderGate, *, include_cron: bool = False) -> None:
        self.app = app
        self.gate = gate
        self.include_cron = include_cron
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.gate.start(on_elected=self._elected, on_revoked=self._revoked)

    def stop(self) -> None:
        self.gate.stop()

    def _elected(self, epoch: int) -> None:
        scheduler = BackgroundScheduler(timezone=timezone.utc, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 5})
        now = datetime.now(timezone.utc)
        scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=status.HEARTBEAT_S), args=[epoch, now],
                          id="leader-heartbeat", next_run_time=now)
        for job in timer_jobs():
            first = schedule.floor_to_interval(now, job.interval_s) + timedelta(seconds=job.interval_s)
            scheduler.add_job(self._tick, IntervalTrigger(
                seconds=job.interval_s, start_date=first.replace(tzinfo=timezone.utc)
                + timedelta(milliseconds=20)), args=[job], id=job.name, name=job.name)
        if self.include_cron:
            for job in cron_jobs():
                scheduler.add_job(self._tick, schedule.trigger(job.schedule), args=[job],
                                  id=job.name, name=job.name)
        with self._lock:
            self._scheduler = scheduler
            scheduler.start()
        log.info("timers started (epoch %d): %s", epoch, ", ".join(j.id for j in scheduler.get_jobs()))

    def _heartbeat(self, epoch: int, since: datetime) -> None:
        if self.gate.is_leader():
            with self.app.app_context():
                status.publish(backend=self.app.config["VIGIL_TIMER_BACKEND"], epoch=epoch, since=since,
                               extra=getattr(self.gate, "describe", dict)())

    def _revoked(self) -> None:
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        with self.app.app_context():
            status.withdraw()
        # shutdown(wait=True) waits for running ticks without a bound; bound it.
        stopper = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
        stopper.start()
        stopper.join(STOP_WAIT_S)
        log.info("timers stopped%s", "" if not stopper.is_alive() else " (a tick is still finishing)")

    def _tick(self, job: Job) -> None:
        from app.jobs.runner import run_job
        from app.models import utcnow

        if not self.gate.is_leader():
            return  # leadership ended between scheduling and now
        now = utcnow()
        slot = runtime.current_slot(job, now)
        with self.app.app_context():
            try:
                run_job(job, slot=slot, trigger="timer" if job.kind == "timer" else "schedule",
                        epoch=self.gate.epoch)
            except Exception:  # a broken database must not kill the scheduler thread
                log.exception("timer %s could not run", job.name)
