"""When a monitor's state changes: N failed checks in a row make it down, M good ones up.

Pure logic, no I/O. The streak is one signed number: +k after k good checks in a row,
-k after k failed ones, 0 before the first check. A monitor's first state is set by the
same rule (so a new monitor that fails once with down_after=2 stays pending), and only
a change from a known state is an event that people hear about: pending -> up is not
news, pending -> down is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_DOWN_AFTER = 2
DEFAULT_UP_AFTER = 1
MAX_CHECKS_IN_A_ROW = 20
REMINDER_MINUTES_RANGE = (5, 1440)
MAX_REMINDERS = 10  # per incident: a reminder every K minutes, at most this many times

Event = Literal["down", "up"]


@dataclass(frozen=True)
class Transition:
    is_up: bool | None
    streak: int
    event: Event | None  # None: no state change (or pending -> up)
    changed: bool        # the state changed (an incident opens or closes)


def advance(*, is_up: bool | None, streak: int, ok: bool, down_after: int, up_after: int) -> Transition:
    """The state after one more check whose outcome is `ok`."""
    if ok:
        streak = streak + 1 if streak > 0 else 1
        if is_up is not True and streak >= up_after:
            return Transition(True, streak, "up" if is_up is False else None, True)
    else:
        streak = streak - 1 if streak < 0 else -1
        if is_up is not False and -streak >= down_after:
            return Transition(False, streak, "down", True)
    return Transition(is_up, streak, None, False)
