"""The channel form, shared by the channel pages and the channels API (app/web/api_input.py).

Guarantees: the URL field never renders a value, neither the saved URL nor one just
typed (a 422 page echoes nothing back), so a channel's secret can only leave Vigil in
its redacted form (app/alerts/channel_service.shown_url). Whether Apprise accepts the
URL is decided by channel_service.save (BadChannelUrl), the one place that checks it.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from app.alerts.senders import MAX_URL_LENGTH
from app.web.forms import no_control_chars, strip


class SecretField(StringField):
    """A text field that is never filled in when rendered."""

    def _value(self) -> str:
        return ""


class ChannelForm(FlaskForm):
    name = StringField("Name", filters=[strip],
                       validators=[DataRequired("Give the channel a name."),
                                   Length(max=100, message="Use at most 100 characters."), no_control_chars])
    url = SecretField("Apprise URL", filters=[strip],
                      validators=[Length(max=MAX_URL_LENGTH, message=f"Use at most {MAX_URL_LENGTH} characters."),
                                  no_control_chars],
                      render_kw={"autocomplete": "off", "spellcheck": "false"})
    is_default = BooleanField("Default for new monitors")

    def __init__(self, *args, creating: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating

    def validate_url(self, field) -> None:
        if self.creating and not field.data:
            raise ValidationError("Enter the channel's Apprise URL.")

    @property
    def new_url(self) -> str | None:
        """The URL to save: None keeps the saved one (an edit with the field left empty)."""
        return self.url.data or None
