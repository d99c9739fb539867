"""The CLI contract of `python -m app.jobs`, run as a subprocess on SQLite."""
from __future__ import annotations

import json
import signal
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
import yaml

from app.extensions import db
from app.jobs.runner import reap_stale_runs
from app.models import JobRun
from testkit.jobcli import jobs_cli, start_jobs_cli

SLOT = "2026-01-01T00:00:00Z"


@pytest.fixture
def env(app, tmp_path):
    return {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "VIGIL_ENV": "testing",
            "VIGIL_INSTANCE_PATH": str(tmp_path / "instance")}


def runs(app, job: str) -> list[JobRun]:
    with app.app_context():
        return list(db.session.scalars(sa.select(JobRun).where(JobRun.job == job)))


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    return lines[-1]


def test_list_json_has_every_job(env):
    done = jobs_cli("list", "--format", "json", env=env)
    assert done.returncode == 0
    jobs = {row["name"]: row for row in json.loads(done.stdout)}
    assert jobs["check-monitors"]["kind"] == "cron" and jobs["check-monitors"]["schedule"] == "* * * * *"
    assert jobs["refresh-summary"]["kind"] == "timer" and jobs["refresh-summary"]["interval_s"] == 15


def test_success_then_duplicate_slot_is_skipped(app, env):
    first = jobs_cli("run", "test-ok", "--slot", SLOT, env=env)
    assert first.returncode == 0, first.stderr
    line = json.loads(first.stdout.strip().splitlines()[-1])
    assert line["outcome"] == "succeeded" and line["job"] == "test-ok" and line["run_id"]
    second = jobs_cli("run", "test-ok", "--slot", SLOT, env=env)
    assert second.returncode == 0
    assert "skipped" in one_line(second.stderr)
    assert [r.status for r in runs(app, "test-ok")] == ["succeeded"]


@pytest.mark.parametrize("args, message", [
    (["run", "no-such-job"], "unknown job 'no-such-job'"),
    (["run", "test-ok", "--slot", "tomorrow-ish"], "bad slot"),
    (["frobnicate"], "invalid choice"),
    (["export", "--format", "helm"], "invalid choice"),
    # CronJobs are rendered by the chart only (hack/render-manifests.sh), not by the CLI.
    (["export", "--format", "manifests"], "invalid choice: 'manifests'"),
])
def test_usage_errors_exit_2_with_one_line(env, args, message):
    done = jobs_cli(*args, env=env)
    assert done.returncode == 2
    assert message in one_line(done.stderr)


def test_a_failing_job_exits_1_and_is_recorded(app, env):
    done = jobs_cli("run", "test-fail", "--slot", SLOT, env=env)
    assert done.returncode == 1
    assert "failed" in one_line(done.stderr)
    [run] = runs(app, "test-fail")
    assert run.status == "failed" and "after 2 attempts" in run.message


def test_a_job_past_its_deadline_exits_1(app, env):
    done = jobs_cli("run", "test-slow", "--slot", SLOT, env=env)
    assert done.returncode == 1
    [run] = runs(app, "test-slow")
    assert run.status == "failed" and "deadline" in run.message


def test_sigterm_marks_the_run_interrupted(app, env):
    process = start_jobs_cli("run", "test-ok", "--slot", SLOT, env={**env, "VIGIL_TEST_SLEEP": "20"})
    deadline = time.monotonic() + 20
    while not runs(app, "test-ok") and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 143
    assert "interrupted" in one_line(stderr)
    assert [r.status for r in runs(app, "test-ok")] == ["interrupted"]


def test_a_killed_run_is_reaped_as_lost(app, env):
    process = start_jobs_cli("run", "test-ok", "--slot", SLOT, env={**env, "VIGIL_TEST_SLEEP": "20"})
    deadline = time.monotonic() + 20
    while not runs(app, "test-ok") and time.monotonic() < deadline:
        time.sleep(0.1)
    process.kill()
    process.wait()
    [run] = runs(app, "test-ok")
    assert run.status == "running"
    with app.app_context():
        assert reap_stale_runs(now=run.started_at) == 0  # not past its deadline yet
        assert reap_stale_runs(now=run.deadline_at + timedelta(seconds=29)) == 0  # grace of 30 s
        assert reap_stale_runs(now=run.deadline_at + timedelta(seconds=31)) == 1
    assert [r.status for r in runs(app, "test-ok")] == ["lost"]


def test_export_writes_the_charts_job_values_deterministically(env, tmp_path):
    first = jobs_cli("export", "--format", "values", env=env)
    second = jobs_cli("export", "--format", "values", "--output", "-", env=env)
    assert first.returncode == 0 and first.stdout == second.stdout
    jobs = yaml.safe_load(first.stdout)["jobs"]
    assert {"check-monitors", "rollup-stats", "prune-history"} <= set(jobs)
    assert not {"refresh-summary", "reap-stale-runs"} & set(jobs)  # timers are not CronJobs
    assert jobs["check-monitors"]["activeDeadlineSeconds"] < 60
    to_file = jobs_cli("export", "--format", "values", "--output", str(tmp_path / "jobs.yaml"), env=env)
    assert to_file.returncode == 0 and (tmp_path / "jobs.yaml").read_text() == first.stdout


# Imported only by the web process, `flask db` or one job's body; a CronJob pod that runs
# any job must not pay for them at start-up (bench/jobstart measures what they cost).
NOT_ON_THE_JOB_PATH = ("flask_migrate", "alembic", "mako", "flask_wtf", "wtforms", "httpx",
                       "kubernetes", "prometheus_client")


def test_job_start_leaves_web_and_other_jobs_imports_alone(env):
    done = jobs_cli("run", "test-ok", "--slot", SLOT, env={**env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"flask", "sqlalchemy", "app"} <= imported  # the profile was really taken
    assert imported.isdisjoint(NOT_ON_THE_JOB_PATH), sorted(imported & set(NOT_ON_THE_JOB_PATH))
