"""Pure rules of alerting: thresholds, maintenance windows (also across DST), the outbox's keys."""
from __future__ import annotations

from datetime import datetime

import pytest

from app.alerts.thresholds import advance


def run(outcomes: str, *, down_after: int, up_after: int, is_up=None, streak: int = 0):
    """Feed checks ('+' good, '-' failed); the events they raise, in order."""
    events = []
    for mark in outcomes:
        move = advance(is_up=is_up, streak=streak, ok=mark == "+", down_after=down_after, up_after=up_after)
        is_up, streak = move.is_up, move.streak
        if move.event:
            events.append(move.event)
    return events, is_up


def test_down_after_n_failures_in_a_row_and_a_good_check_resets_the_count():
    assert run("+-+-+-", down_after=2, up_after=1) == ([], True)
    assert run("+--", down_after=2, up_after=1) == (["down"], False)
    assert run("+---+", down_after=3, up_after=1) == (["down", "up"], True)


def test_up_after_m_good_checks():
    assert run("--++", down_after=1, up_after=3, is_up=True) == (["down"], False)
    assert run("--+++", down_after=1, up_after=3, is_up=True) == (["down", "up"], True)


def test_a_new_monitor_becomes_up_silently_but_down_loudly():
    assert run("+", down_after=2, up_after=1) == ([], True)
    assert run("-", down_after=2, up_after=1) == ([], None)  # still pending
    assert run("--", down_after=2, up_after=1) == (["down"], False)


def test_states_alternate_whatever_the_sequence():
    import random

    rng = random.Random(3)
    for _ in range(200):
        outcomes = "".join(rng.choice("+-") for _ in range(40))
        events, _ = run(outcomes, down_after=rng.randint(1, 4), up_after=rng.randint(1, 4), is_up=True)
        assert all(a != b for a, b in zip(events, events[1:])), events
        assert not events or events[0] == "down"


class Window:
    """The fields windows.is_active reads."""

    def __init__(self, **fields):
        self.cron = None
        self.starts_at = self.ends_at = None
        self.duration_minutes = None
        self.timezone = "UTC"
        self.__dict__.update(fields)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_one_off_window_covers_its_start_not_its_end():
    from app.alerts.windows import is_active

    window = Window(starts_at=utc("2026-12-06 10:00"), ends_at=utc("2026-12-06 11:00"))
    assert not is_active(window, utc("2026-12-06 09:59:59"))
    assert is_active(window, utc("2026-12-06 10:00"))
    assert is_active(window, utc("2026-12-06 10:59:59"))
    assert not is_active(window, utc("2026-12-06 11:00"))


@pytest.mark.parametrize("day, start_utc", [
    ("2026-03-28", "2026-03-28 01:00"),  # CET, UTC+1: 02:00 local is 01:00 UTC
    ("2026-03-30", "2026-03-30 00:00"),  # CEST, UTC+2: 02:00 local is 00:00 UTC
    ("2026-10-24", "2026-10-24 00:00"),  # still CEST
    ("2026-10-26", "2026-10-26 01:00"),  # CET again
])
def test_recurring_window_follows_local_time_across_dst(day, start_utc):
    from datetime import timedelta

    from app.alerts.windows import is_active

    window = Window(cron="0 2 * * *", duration_minutes=60, timezone="Europe/Berlin")
    start = utc(start_utc)
    assert not is_active(window, start - timedelta(seconds=1)), day
    assert is_active(window, start), day
    assert is_active(window, start + timedelta(minutes=59)), day
    assert not is_active(window, start + timedelta(minutes=60)), day


def test_on_the_night_the_clocks_skip_the_window_still_opens_and_lasts_its_duration():
    from datetime import timedelta

    from app.alerts.windows import is_active

    # 2026-03-29: in Berlin 02:00 local does not exist (01:59 CET -> 03:00 CEST = 01:00 UTC).
    window = Window(cron="30 2 * * *", duration_minutes=60, timezone="Europe/Berlin")
    moments = [utc("2026-03-29 00:00") + timedelta(minutes=m) for m in range(0, 240)]
    covered = [m for m in moments if is_active(window, m)]
    assert len(covered) == 60, (covered[:1], covered[-1:])


def test_bad_cron_and_time_zone_are_refused_with_a_message():
    from app.alerts.windows import validate_cron, validate_timezone

    for expression in ("", "* * *", "61 * * * *", "0 2 * * * *", "every day"):
        with pytest.raises(ValueError, match="cron expression"):
            validate_cron(expression)
    for zone in ("Mars/Olympus", "", "../etc/passwd", "Europe", "x" * 300):
        with pytest.raises(ValueError, match="time zone"):
            validate_timezone(zone)


def test_idempotency_keys_are_stable_and_distinct_per_event_and_channel():
    from app.alerts.outbox import IncidentEvent, idempotency_key

    def event(kind, sequence=0):
        return IncidentEvent(monitor_id=1, monitor_name="m", monitor_url="http://x", incident_id=7,
                             event=kind, at=utc("2026-12-06 10:00"), detail=None, sequence=sequence)

    keys = {idempotency_key(event(kind, seq), channel)
            for kind, seq in (("down", 0), ("up", 0), ("reminder", 1), ("reminder", 2)) for channel in (1, 2)}
    assert len(keys) == 8
    assert idempotency_key(event("down"), 1) == idempotency_key(event("down"), 1) == "vigil-7-down-1"


@pytest.mark.parametrize("night", ["2026-03-29", "2026-10-25"], ids=["spring-forward", "fall-back"])
def test_a_daily_window_opens_once_a_night_for_its_duration_across_both_dst_nights(night):
    """02:30 in Berlin is skipped on the spring night and repeated on the autumn night: the
    window still opens exactly once each night and covers exactly its 60 minutes."""
    from datetime import timedelta

    from app.alerts.windows import is_active, next_start

    window = Window(cron="30 2 * * *", duration_minutes=60, timezone="Europe/Berlin")
    first = utc(night) - timedelta(days=1)
    minutes = [first + timedelta(minutes=m) for m in range(3 * 24 * 60)]
    active = {m: is_active(window, m) for m in minutes}
    starts = [m for m in minutes[1:] if active[m] and not active[m - timedelta(minutes=1)]]
    assert len(starts) == 3 and sum(active.values()) == 3 * 60, starts
    for start in starts:
        assert next_start(window, start - timedelta(minutes=1)) == start


@pytest.mark.parametrize("url, shown", [
    ("json://hooks.example.com/t0ken", "json://hooks.example.com/…"),
    ("mailto://user:pa55word@smtp.example.com?to=ops@example.com", "mailto://user:****@smtp.example.com/…"),
    ("ntfy://S3CRETTOPIC", "ntfys://…"),              # the topic is where a host would be
    ("tgram://123456:ABCs3cret/987", "tgram://…"),     # so is a bot token
])
def test_a_saved_url_is_shown_only_up_to_a_real_host_name(url, shown):
    from app.alerts.senders import redacted

    assert redacted(url) == shown
