from datetime import datetime

import pytest

from app.jobs import schedule
from app.jobs.export import timing
from app.jobs.registry import get_job, job, load_jobs

NOW = datetime(2026, 11, 24, 12, 34, 56)


@pytest.mark.parametrize("expression, previous, following", [
    ("* * * * *", datetime(2026, 11, 24, 12, 34), datetime(2026, 11, 24, 12, 35)),
    ("5 * * * *", datetime(2026, 11, 24, 12, 5), datetime(2026, 11, 24, 13, 5)),
    ("17 3 * * *", datetime(2026, 11, 24, 3, 17), datetime(2026, 11, 25, 3, 17)),
    ("0 0 1 1 *", datetime(2026, 1, 1), datetime(2027, 1, 1)),
])
def test_fire_times(expression, previous, following):
    assert schedule.previous_fire_time(expression, NOW) == previous
    assert schedule.next_fire_time(expression, NOW) == following


def test_a_fire_time_is_its_own_previous():
    assert schedule.previous_fire_time("* * * * *", datetime(2026, 1, 1, 0, 1)) == datetime(2026, 1, 1, 0, 1)


def test_slot_from_the_name_a_cronjob_gives_its_job():
    # CronJobs name their Jobs <cronjob>-<scheduled time in minutes since the epoch>.
    minutes = 29400000  # 2025-11-24T16:00:00Z
    assert schedule.slot_from_job_name(f"vigil-check-monitors-{minutes}") == datetime(2025, 11, 24, 16, 0)
    assert schedule.slot_from_job_name("vigil-check-monitors-manual-x") is None
    assert schedule.slot_from_job_name(None) is None


def test_timer_slots_align_to_the_interval():
    assert schedule.floor_to_interval(NOW, 15) == datetime(2026, 11, 24, 12, 34, 45)
    assert schedule.floor_to_interval(NOW, 60) == datetime(2026, 11, 24, 12, 34)


def test_parse_slot():
    assert schedule.parse_slot("2026-01-31T12:00:00Z") == datetime(2026, 1, 31, 12)
    assert schedule.parse_slot("2026-01-31T13:00:00+01:00") == datetime(2026, 1, 31, 12)
    with pytest.raises(schedule.BadSlot, match="ISO 8601"):
        schedule.parse_slot("yesterday")


def test_period_and_derived_cronjob_timing():
    assert schedule.period_seconds("*/5 * * * *") == 300
    check = get_job("check-monitors")
    times = timing(check)
    assert times["activeDeadlineSeconds"] < check.period_s
    assert times["startingDeadlineSeconds"] <= check.period_s / 2


def test_builtin_jobs_are_declared():
    jobs = load_jobs()
    assert {"check-monitors", "rollup-stats", "prune-history", "refresh-summary", "reap-stale-runs"} <= set(jobs)
    assert jobs["check-monitors"].schedule == "* * * * *"
    assert jobs["refresh-summary"].interval_s == 15 and jobs["reap-stale-runs"].interval_s == 60


@pytest.mark.parametrize("kwargs, message", [
    ({"cron": "* * * *"}, "five fields"),
    ({"cron": "* * * * *", "every": 5}, "exactly one"),
    ({"every": 0}, "positive"),
])
def test_bad_declarations_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        job("bad-job", description="x", deadline=5, **kwargs)


def test_names_must_be_dns_labels():
    with pytest.raises(ValueError, match="DNS label"):
        job("Bad_Name", description="x", deadline=5, every=1)


def test_a_cron_deadline_must_leave_room_for_pod_startup():
    with pytest.raises(ValueError, match="no room for pod start-up"):
        job("too-long", description="x", deadline=45, cron="* * * * *")
    for declared in load_jobs().values():
        if declared.kind == "cron":
            assert timing(declared)["activeDeadlineSeconds"] >= declared.deadline_s + 15
