"""WTForms forms. The monitor form is also the API's validator, so the UI and
the JSON API accept and reject exactly the same input."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import (BooleanField, FloatField, IntegerField, PasswordField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.alerts.thresholds import DEFAULT_DOWN_AFTER, DEFAULT_UP_AFTER, MAX_CHECKS_IN_A_ROW, REMINDER_MINUTES_RANGE
from app.models.monitor import INTERVALS_MINUTES, METHODS


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_control_chars(form, field) -> None:
    if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
        raise ValidationError("Control characters are not allowed.")


def http_url(form, field) -> None:
    """Only absolute http(s) URLs with a host; no credentials embedded in them."""
    value = field.data or ""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ValidationError("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise ValidationError("The URL needs a host name.")
    if parts.username or parts.password:
        raise ValidationError("Put no user name or password in the URL.")
    if any(ch.isspace() for ch in value):
        raise ValidationError("A URL cannot contain spaces.")
    if port == 0:
        raise ValidationError("Port 0 is not a valid port.")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        if not all(part and len(part) <= 63 for part in parts.hostname.split(".")):
            raise ValidationError("The host name is not valid.") from None


class BoundedIntegerField(IntegerField):
    """An IntegerField that refuses numbers too large to compare as floats.

    WTForms' NumberRange calls math.isnan() on the value, which raises
    OverflowError for integers beyond float range: reject them while parsing.
    """

    LIMIT = 10**9

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, int) and abs(self.data) > self.LIMIT:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))


def _checks_in_a_row(label: str, default: int) -> "BoundedIntegerField":
    return BoundedIntegerField(
        label, default=default,
        validators=[InputRequired("Enter a number of checks."),
                    NumberRange(min=1, max=MAX_CHECKS_IN_A_ROW,
                                message=f"Choose between 1 and {MAX_CHECKS_IN_A_ROW} checks.")])


class ChannelCheckboxes(SelectMultipleField):
    """Channel ids as a list of checkboxes; the choices are the channels that exist now."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MonitorForm(FlaskForm):
    name = StringField("Name", filters=[strip],
                       validators=[DataRequired("Give the monitor a name."),
                                   Length(max=100, message="Use at most 100 characters."),
                                   no_control_chars])
    url = StringField("URL", filters=[strip],
                      validators=[DataRequired("Enter the URL to check."),
                                  Length(max=2048, message="Use at most 2048 characters."),
                                  no_control_chars, http_url])
    method = SelectField("Method", choices=[SelectChoice(m, m) for m in METHODS], default="GET",
                         validate_choice=True)
    interval_minutes = SelectField(
        "Check every", coerce=int, default=5,
        choices=[SelectChoice(m, f"{m} minute" + ("s" if m > 1 else "")) for m in INTERVALS_MINUTES])
    timeout_seconds = FloatField(
        "Timeout (seconds)", default=10.0,
        validators=[InputRequired("Enter a timeout."),
                    NumberRange(min=1, max=60, message="Choose between 1 and 60 seconds.")])
    expected_status_min = BoundedIntegerField(
        "Lowest expected status", default=200,
        validators=[InputRequired("Enter a status code."),
                    NumberRange(min=100, max=599, message="A status code is between 100 and 599.")])
    expected_status_max = BoundedIntegerField(
        "Highest expected status", default=399,
        validators=[InputRequired("Enter a status code."),
                    NumberRange(min=100, max=599, message="A status code is between 100 and 599.")])
    keyword = StringField("Keyword in the body (optional)", filters=[strip],
                          validators=[Optional(), Length(max=200, message="Use at most 200 characters."),
                                      no_control_chars])
    enabled = BooleanField("Enabled", default=True)
    down_after = _checks_in_a_row("Down after N failed checks in a row", DEFAULT_DOWN_AFTER)
    up_after = _checks_in_a_row("Up after M good checks in a row", DEFAULT_UP_AFTER)
    notify_recovery = BooleanField("Notify on recovery", default=True)
    renotify_minutes = BoundedIntegerField(
        "Remind every K minutes while down (optional)",
        validators=[Optional(), NumberRange(*REMINDER_MINUTES_RANGE, message="Choose between {} and {} minutes, "
                                            "or leave empty for no reminders.".format(*REMINDER_MINUTES_RANGE))])
    channel_ids = ChannelCheckboxes(
        "Channels", coerce=int, choices=[],
        invalid_value_message="Channels are given by their numeric ids.",
        invalid_choice_message=lambda n: ("There is no channel with the id %(value)s." if n == 1
                                          else "There are no channels with the ids '%(value)s'."))

    def __init__(self, *args, **kwargs) -> None:
        from app.alerts.channel_service import list_channels

        super().__init__(*args, **kwargs)
        self.channel_ids.choices = [SelectChoice(c.id, c.name) for c in list_channels()]

    def validate_expected_status_max(self, field) -> None:
        low = self.expected_status_min.data
        if isinstance(low, int) and isinstance(field.data, int) and field.data < low:
            raise ValidationError("The upper bound must not be below the lower one.")

    def validate_timeout_seconds(self, field) -> None:
        if field.data is not None and field.data != field.data:  # NaN passes NumberRange
            raise ValidationError("Enter a number.")


class LoginForm(FlaskForm):
    username = StringField("User name", filters=[strip],
                           validators=[DataRequired("Enter your user name."), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=256)])


class TokenForm(FlaskForm):
    name = StringField("What is it for?", filters=[strip],
                       validators=[DataRequired("Name the token, for example after the script that uses it."),
                                   Length(max=64, message="Use at most 64 characters."), no_control_chars])
