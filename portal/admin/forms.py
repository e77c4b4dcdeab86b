from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from portal.forms import MultiSelect, NoMarkup, Unique, options, strip
from portal.models import ROLES, Category, League, Theme, Unit, User
from portal.templating import ROLE_LABELS

REQUIRED = _l("This field is required.")


def _name(max_len: int, column, label):
    return StringField(
        label,
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=max_len, message=_l("At most %(max)d characters.", max=max_len)),
            NoMarkup(),
            Unique(column),
        ],
    )


def _sort_order():
    return IntegerField(
        _l("Sort order"),
        default=0,
        validators=[Optional(), NumberRange(0, 9999, _l("Enter a whole number from 0 to 9999."))],
    )


def _optional_id(value):
    """Select fields use '' for "none"."""
    if value in ("", None, "None"):
        return None
    return int(value)


class LeagueForm(FlaskForm):
    name = _name(40, League.name, _l("League name"))
    description = StringField(
        _l("Description"),
        filters=[strip],
        validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200)), NoMarkup()],
    )
    sort_order = _sort_order()


class CategoryForm(FlaskForm):
    name = _name(30, Category.name, _l("Name"))
    sort_order = _sort_order()
    is_active = BooleanField(_l("In use"), default=True)


class ThemeForm(FlaskForm):
    name = _name(30, Theme.name, _l("Name"))
    sort_order = _sort_order()
    is_active = BooleanField(_l("In use"), default=True)


class UnitForm(FlaskForm):
    name = _name(60, Unit.name, _l("Unit name"))
    short_name = StringField(
        _l("Short name"),
        filters=[strip],
        validators=[Length(max=20, message=_l("At most %(max)d characters.", max=20)), NoMarkup()],
    )
    league_id = SelectField(_l("League"), coerce=_optional_id, validate_choice=True)
    head_name = StringField(
        _l("Head of unit"),
        filters=[strip],
        validators=[Length(max=40, message=_l("At most %(max)d characters.", max=40)), NoMarkup()],
    )
    sort_order = _sort_order()
    is_active = BooleanField(_l("Active"), default=True)


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(min=3, max=40, message=_l("Between %(min)d and %(max)d characters.", min=3, max=40)),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, '.', '-' or '_' only.")),
            Unique(User.username, message=_l("This username is already taken."), case_insensitive=True),
        ],
    )
    display_name = StringField(
        _l("Full name"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Length(max=40, message=_l("At most %(max)d characters.", max=40)), NoMarkup()],
    )
    unit_id = SelectField(_l("Unit"), coerce=_optional_id, validate_choice=True)
    title = StringField(
        _l("Position"),
        filters=[strip],
        validators=[Length(max=40, message=_l("At most %(max)d characters.", max=40)), NoMarkup()],
    )
    phone = StringField(
        _l("Phone"),
        filters=[strip],
        validators=[Optional(), Regexp(r"^[0-9+\- ]{5,20}$", message=_l("Enter a valid phone number."))],
    )
    roles = MultiSelect(
        _l("Roles"),
        choices=options((r, ROLE_LABELS[r]) for r in ROLES),
        validators=[DataRequired(_l("Choose at least one role."))],
    )
    units_in_charge = MultiSelect(_l("Units in charge (leaders)"), coerce=int)
    # No Optional(): it would stop the chain before validate_password runs.
    password = PasswordField(_l("Password"))
    is_active = BooleanField(_l("Account active"), default=True)

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating

    def validate_password(self, field):
        if not field.data:
            if self.creating:
                raise ValidationError(_l("A new account needs a password of at least 8 characters."))
            return
        if not 8 <= len(field.data) <= 200:
            raise ValidationError(_l("Between %(min)d and %(max)d characters.", min=8, max=200))

    def validate_unit_id(self, field):
        if field.data is None and {"unit_staff", "contact"} & set(self.roles.data or []):
            raise ValidationError(_l("Unit staff and project contacts must belong to a unit."))

    def validate_units_in_charge(self, field):
        if field.data and "leader" not in (self.roles.data or []):
            raise ValidationError(_l("Only leaders have units in charge."))
