"""Commands that load the app but serve nothing start no timer: `flask shell`,
`flask db ...`, `flask vigil ...` and `python -m app.jobs ...`.

Each runs in this process, through the real entry points (Flask's `flask` click
group with `--app app`, and app.jobs.cli.main), with the host-local gate and the
in-process cron jobs on, as in development; afterwards no new thread may be alive
(the gate's thread, or APScheduler's once the gate is won, would be). The first
test shows the check sees a timer service when one is started; the last, which
process of `flask run` qualifies to start them.
"""
from __future__ import annotations

import threading

import click
import pytest
from click.testing import CliRunner
from flask.cli import cli as flask_cli
from flask.cli import run_command, shell_command

from app import create_app
from app.jobs.cli import main as jobs_main
from app.scheduling.devserver import serves_requests_under_flask_run
from app.scheduling.service import start_for_worker, stop_for_worker


@pytest.fixture(autouse=True)
def development_env(tmp_path, monkeypatch):
    for name in ("REDIS_URL", "REDIS2_URL", "WERKZEUG_RUN_MAIN", "FLASK_DEBUG", "FLASK_APP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIGIL_ENV", "development")
    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'vigil.db'}")
    monkeypatch.setenv("VIGIL_TIMER_BACKEND", "host")
    monkeypatch.setenv("VIGIL_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("VIGIL_CRON_IN_PROCESS", "1")
    monkeypatch.setenv("VIGIL_EXTRA_JOBS", "testkit.jobs")


def _new_threads(before: set[int]) -> list[str]:
    return [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]


def _threads() -> set[int]:
    return {t.ident for t in threading.enumerate()}


def test_the_check_sees_a_started_timer_service():
    before = _threads()
    try:
        assert start_for_worker(create_app()) is not None
        assert _new_threads(before), "starting the timers started no thread: the check below proves nothing"
    finally:
        stop_for_worker()


FLASK_COMMANDS = [
    (["db", "upgrade"], None),
    (["db", "current"], None),
    (["vigil", "seed"], None),
    (["vigil", "wait-for-database", "--timeout", "5"], None),
    (["shell"], "print('shell ran')\n"),
]


def test_flask_commands_start_no_timer():
    runner = CliRunner()
    for args, stdin in FLASK_COMMANDS:
        before = _threads()
        result = runner.invoke(flask_cli, ["--app", "app", *args], input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        assert stdin is None or "shell ran" in result.output, result.output
        assert not _new_threads(before), (f"flask {' '.join(args)} started", _new_threads(before))


def test_job_entrypoint_starts_no_timer():
    assert CliRunner().invoke(flask_cli, ["--app", "app", "db", "upgrade"]).exit_code == 0
    for argv in (["list"], ["run", "test-ok"]):
        before = _threads()
        assert jobs_main(argv) == 0, argv
        assert not _new_threads(before), (f"python -m app.jobs {' '.join(argv)} started", _new_threads(before))


@pytest.mark.parametrize("command, reload, flask_debug, run_main, serves", [
    ("run", None, "1", None, False),      # `flask run --debug`: the reloader's parent only watches
    ("run", None, "1", "true", True),     # ... its child serves
    ("run", False, "1", None, True),      # `flask run --debug --no-reload`: one process
    ("run", None, "0", None, True),       # `flask run`: no reloader, one process
    ("shell", None, "1", "true", False),  # a child of the dev server inherits WERKZEUG_RUN_MAIN
])
def test_only_the_process_serving_flask_run_qualifies(monkeypatch, command, reload, flask_debug, run_main, serves):
    monkeypatch.setenv("FLASK_DEBUG", flask_debug)
    if run_main:
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", run_main)
    with click.Context({"run": run_command, "shell": shell_command}[command]) as ctx:
        ctx.params["reload"] = reload
        assert serves_requests_under_flask_run() is serves
