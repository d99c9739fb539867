"""Run now, one at a time: a second click while the first has not started, or while a run of
the job is running, is a 409 with a message; once the run has started (or the request has
expired) Run now is open again. Real job subprocesses: tests/integration/test_run_now_gunicorn.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import post_form

JOB = "rollup-stats"
RUN = f"/jobs/{JOB}/run"


@pytest.fixture
def started(monkeypatch):
    """Run now's subprocess starts, counted, without a process (the integration test runs them)."""
    import app.run_now as run_now

    calls = []
    monkeypatch.setattr(run_now.subprocess, "Popen", lambda args, **kwargs: calls.append(args))
    return calls


def click(client):
    return post_form(client, RUN, {}, form_path=f"/jobs/{JOB}")


def test_a_second_click_before_the_run_started_is_409_and_starts_nothing(admin_client, started):
    assert click(admin_client).status_code == 302
    second = click(admin_client)
    assert second.status_code == 409
    assert "has not started yet" in second.get_data(as_text=True)
    assert len(started) == 1


def test_once_the_run_started_run_now_is_open_again(app, admin_client, started):
    from app.extensions import db
    from app.models import JobRun, utcnow

    assert click(admin_client).status_code == 302
    with app.app_context():  # what the job process does when it starts: claim its run
        db.session.add(JobRun(job=JOB, slot=utcnow(), trigger="manual", status="running", started_at=utcnow()))
        db.session.commit()
    running = click(admin_client)
    assert running.status_code == 409 and "is running now" in running.get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.update(JobRun).values(status="succeeded"))
        db.session.commit()
    assert click(admin_client).status_code == 302
    assert len(started) == 2


def test_a_request_that_never_started_expires(app, admin_client, started):
    from app import run_now
    from app.extensions import db
    from app.models import RunRequest, utcnow

    assert click(admin_client).status_code == 302
    with app.app_context():
        db.session.execute(sa.update(RunRequest).values(
            requested_at=utcnow() - run_now.PENDING_LIMIT - timedelta(seconds=1)))
        db.session.commit()
    assert click(admin_client).status_code == 302
    assert len(started) == 2


def test_other_jobs_are_not_held_up(admin_client, started):
    assert click(admin_client).status_code == 302
    assert post_form(admin_client, "/jobs/prune-history/run", {}, form_path="/jobs/prune-history").status_code == 302
    assert len(started) == 2
