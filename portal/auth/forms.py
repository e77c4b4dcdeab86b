from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from portal.auth.passwords import password_problem


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"), validators=[DataRequired(_l("Please enter your username.")), Length(max=40)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Please enter your password.")), Length(max=200)]
    )



class ChangePasswordForm(FlaskForm):
    """The current (or one-time) password and the new one twice; the rules are portal.auth.passwords.password_problem."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password.")), Length(max=200)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password."))])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(_l("Enter the new password again.")),
                    EqualTo("new_password", message=_l("The two new passwords differ."))],
    )

    def __init__(self, *args, username: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username

    def validate_new_password(self, field):
        problem = password_problem(self.username, field.data or "")
        if problem:
            raise ValidationError(problem)
