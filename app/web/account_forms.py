"""Forms of the account pages (password, sign out everywhere, confirmations)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

MIN_PASSWORD = 12


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password."),
                                                           Length(max=256)])
    new = PasswordField("New password", validators=[
        DataRequired("Enter a new password."),
        Length(min=MIN_PASSWORD, max=256, message=f"Use {MIN_PASSWORD} to 256 characters.")])
    confirm = PasswordField("New password again", validators=[
        DataRequired("Enter the new password again."),
        EqualTo("new", message="The two new passwords differ.")])


class ConfirmForm(FlaskForm):
    """A POST with only a CSRF token: the second step of a destructive action, so that it
    needs a confirmation without JavaScript."""
