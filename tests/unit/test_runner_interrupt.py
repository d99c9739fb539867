"""SIGTERM between the claim's commit and the code that records the outcome: the run is still
marked interrupted, never left "running" for the reaper (a race CI once hit)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.jobs import runner
from app.jobs.registry import load_jobs
from app.models import JobRun

SLOT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_sigterm_right_after_the_claim_committed_marks_the_run_interrupted(app, monkeypatch):
    real_claim = runner._claim

    def claim_then_sigterm(*args, **kwargs):
        real_claim(*args, **kwargs)  # committed: the row exists and names this process
        raise runner.Interrupted()   # what the SIGTERM handler raises, before the id came back

    monkeypatch.setattr(runner, "_claim", claim_then_sigterm)
    with app.app_context():
        with pytest.raises(runner.Interrupted):
            runner.run_job(load_jobs()["rollup-stats"], slot=SLOT, trigger="manual")
        rows = db.session.execute(sa.select(JobRun.status, JobRun.message)).all()
    assert [tuple(row) for row in rows] == [("interrupted", "interrupted by SIGTERM")]
