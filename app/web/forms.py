"""WTForms forms. The monitor form is also the API's validator, so the UI and
the JSON API accept and reject exactly the same input."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app.models.monitor import INTERVALS_MINUTES, METHODS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _no_control_chars(form, field) -> None:
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


class MonitorForm(FlaskForm):
    name = StringField("Name", filters=[_strip],
                       validators=[DataRequired("Give the monitor a name."),
                                   Length(max=100, message="Use at most 100 characters."),
                                   _no_control_chars])
    url = StringField("URL", filters=[_strip],
                      validators=[DataRequired("Enter the URL to check."),
                                  Length(max=2048, message="Use at most 2048 characters."),
                                  _no_control_chars, http_url])
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
    keyword = StringField("Keyword in the body (optional)", filters=[_strip],
                          validators=[Optional(), Length(max=200, message="Use at most 200 characters."),
                                      _no_control_chars])
    enabled = BooleanField("Enabled", default=True)

    def validate_expected_status_max(self, field) -> None:
        low = self.expected_status_min.data
        if isinstance(low, int) and isinstance(field.data, int) and field.data < low:
            raise ValidationError("The upper bound must not be below the lower one.")

    def validate_timeout_seconds(self, field) -> None:
        if field.data is not None and field.data != field.data:  # NaN passes NumberRange
            raise ValidationError("Enter a number.")


class LoginForm(FlaskForm):
    username = StringField("User name", filters=[_strip],
                           validators=[DataRequired("Enter your user name."), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=256)])


class TokenForm(FlaskForm):
    name = StringField("What is it for?", filters=[_strip],
                       validators=[DataRequired("Name the token, for example after the script that uses it."),
                                   Length(max=64, message="Use at most 64 characters."), _no_control_chars])
