"""The maintenance window form (app/web/windows.py).

Guarantees: the form only reads and types the input (text, a date and time, a whole
number, ticked monitors) and carries the CSRF token; every rule about what makes a
window valid is app/alerts/window_service.save's, whose messages the page puts back on
the fields (app/web/forms.py ``add_errors``), so the pages and the JSON API refuse the
same windows with the same words. Times are shown and read as wall-clock times in the window's time zone.
"""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.fields import DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from app.alerts import window_service
from app.alerts.windows import validate_timezone
from app.models import MaintenanceWindow
from app.web.forms import BoundedIntegerField, ChannelCheckboxes, strip

FORM_FIELDS = ("name", "kind", "starts_at", "ends_at", "cron", "duration_minutes", "timezone", "all_monitors",
               "monitor_ids")


class WallClockField(DateTimeLocalField):
    """A date and time as <input type="datetime-local"> sends it, with a message for people."""

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(label, format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()],
                         **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a date and time such as 2026-12-06T22:00.") from None


class KindField(RadioField):
    def pre_validate(self, form) -> None:
        if self.data not in window_service.KINDS:
            raise ValidationError("Choose one-off or recurring.")


class WindowForm(FlaskForm):
    name = StringField("Name", filters=[strip])
    kind = KindField("Kind", default=window_service.ONE_OFF, choices=[
        SelectChoice(window_service.ONE_OFF, "One-off: from a start to an end"),
        SelectChoice(window_service.RECURRING, "Recurring: on a cron schedule, for a duration")])
    starts_at = WallClockField("Starts")
    ends_at = WallClockField("Ends")
    cron = StringField("Cron expression", filters=[strip], render_kw={"spellcheck": "false"})
    duration_minutes = BoundedIntegerField("Duration (minutes)", validators=[Optional()])
    timezone = StringField("Time zone", default="UTC", filters=[strip],
                           render_kw={"list": "time-zones", "spellcheck": "false"})
    all_monitors = BooleanField("All monitors, present and future")
    monitor_ids = ChannelCheckboxes(
        "Monitors", coerce=int, choices=[],
        invalid_value_message="Monitors are given by their numeric ids.",
        invalid_choice_message=lambda n: ("There is no monitor with the id %(value)s." if n == 1
                                          else "There are no monitors with the ids '%(value)s'."))

    def __init__(self, *args, **kwargs) -> None:
        from app import monitor_service

        super().__init__(*args, **kwargs)
        self.monitor_ids.choices = [SelectChoice(m.id, m.name) for m in monitor_service.list_monitors()]

    @classmethod
    def for_window(cls, window: MaintenanceWindow) -> "WindowForm":
        """The form filled in with `window`, its times as wall-clock times in its zone."""
        values = window_service.values_of(window)
        zone = validate_timezone(window.timezone)
        for key in ("starts_at", "ends_at"):
            if values[key] is not None:
                values[key] = values[key].astimezone(zone).replace(tzinfo=None)
        return cls(**values)

    def values(self) -> dict[str, Any]:
        """What window_service.save takes."""
        return {key: getattr(self, key).data for key in FORM_FIELDS}

