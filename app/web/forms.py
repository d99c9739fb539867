"""WTForms forms. The monitor form takes its labels, defaults, choices, rules and
messages from the monitor's declaration (app/monitor_schema.py), which the JSON API
validates with too: the UI and the API accept and refuse the same values alike."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, FloatField, IntegerField, PasswordField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app import monitor_schema
from app.field_errors import FieldErrors
from app.monitor_schema import CONTROL_CHARS_REFUSED, default, has_control_chars, title


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_control_chars(form, field) -> None:
    if has_control_chars(field.data):
        raise ValidationError(CONTROL_CHARS_REFUSED)


def add_errors(form, fields: dict[str, list[str]]) -> None:
    """A service's messages (app/field_errors.py) under their boxes, on the boxes that have
    none yet (a box that could not be read already says so; "enter a date" on top of "not a
    date" would say it twice)."""
    for name, messages in fields.items():
        box = form[name]
        if not box.errors:
            box.errors = list(messages)


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


class ChannelCheckboxes(SelectMultipleField):
    """Channel ids as a list of checkboxes; the choices are the channels that exist now."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _minutes(m: int) -> str:
    return f"{m} minute" + ("s" if m > 1 else "")


class MonitorForm(FlaskForm):
    """Parses the text of the form; MonitorSettings judges the values (``settings`` holds
    them once validate() is true). The form has no rules of its own: an empty box is
    "missing" in the declaration's words, a value it refuses gets its message."""
    name = StringField(title("name"), filters=[strip])
    url = StringField(title("url"), filters=[strip])
    method = SelectField(title("method"), choices=[SelectChoice(m, m) for m in monitor_schema.form_choices("method")],
                         default=default("method"), validate_choice=False)
    interval_minutes = SelectField(
        title("interval_minutes"), coerce=int, default=default("interval_minutes"), validate_choice=False,
        choices=[SelectChoice(m, _minutes(m)) for m in monitor_schema.form_choices("interval_minutes")])
    timeout_seconds = FloatField(title("timeout_seconds"), default=default("timeout_seconds"))
    expected_status_min = IntegerField("Lowest expected status", default=default("expected_status")[0])
    expected_status_max = IntegerField("Highest expected status", default=default("expected_status")[1])
    keyword = StringField(title("keyword"), filters=[strip])
    enabled = BooleanField(title("enabled"), default=default("enabled"))
    down_after = IntegerField(title("down_after"), default=default("down_after"))
    up_after = IntegerField(title("up_after"), default=default("up_after"))
    notify_recovery = BooleanField(title("notify_recovery"), default=default("notify_recovery"))
    renotify_minutes = IntegerField(title("renotify_minutes"), validators=[Optional()])
    channel_ids = ChannelCheckboxes(title("channel_ids"), coerce=int, choices=[], validate_choice=False,
                                    invalid_value_message="Channels are given by their numeric ids.")

    # A pair in the declaration, two boxes here: an error of the pair goes to the upper box.
    STATUS_BOXES = ("expected_status_min", "expected_status_max")

    def __init__(self, *args, **kwargs) -> None:
        from app.alerts.channel_service import list_channels

        super().__init__(*args, **kwargs)
        self.channel_ids.choices = [SelectChoice(c.id, c.name) for c in list_channels()]
        self.settings: monitor_schema.MonitorSettings | None = None

    def validate(self, extra_validators=None) -> bool:
        parsed = super().validate(extra_validators)  # CSRF, and text that is not a number
        values, empty = {}, []
        for name in monitor_schema.MonitorSettings.model_fields:
            boxes = self.STATUS_BOXES if name == "expected_status" else (name,)
            if any(self[box].errors for box in boxes):
                continue  # already told what is wrong with its text
            data = [self[box].data for box in boxes]
            said = monitor_schema.says(name)
            if any(item is None or item == "" for item in data) and said and said.missing:
                empty.append(name)
                continue
            values[name] = data if name == "expected_status" else data[0]
        for name in empty:
            box = self.STATUS_BOXES[0 if self.expected_status_min.data in (None, "") else 1] \
                if name == "expected_status" else name
            self[box].errors.append(monitor_schema.says(name).missing)
        try:
            self.settings = monitor_schema.validate(values)
        except FieldErrors as exc:
            for (name, *index), message in exc.located:
                if name not in values:
                    continue  # left out above: its own error is shown already
                box = self.STATUS_BOXES[index[0] if index else 1] if name == "expected_status" else name
                if message not in self[box].errors:
                    self[box].errors.append(message)
            return False
        return parsed and not empty


class LoginForm(FlaskForm):
    username = StringField("User name", filters=[strip],
                           validators=[DataRequired("Enter your user name."), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=256)])


class TokenForm(FlaskForm):
    name = StringField("What is it for?", filters=[strip],
                       validators=[DataRequired("Name the token, for example after the script that uses it."),
                                   Length(max=64, message="Use at most 64 characters."), no_control_chars])
