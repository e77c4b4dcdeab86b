from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from portal.auth.passwords import MIN_PASSWORD, password_problem
from portal.core.forms import (
    REQUIRED,
    BoundedDecimal,
    DateField,
    MultiSelect,
    NoMarkup,
    NumberRange,
    Unique,
    optional_id,
    options,
    strip,
)
from portal.core.templating import ROLE_LABELS
from portal.models import ROLES, Category, League, Theme, Unit, User


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
    league_id = SelectField(_l("League"), coerce=optional_id, validate_choice=True)
    head_name = StringField(
        _l("Head of unit"),
        filters=[strip],
        validators=[Length(max=40, message=_l("At most %(max)d characters.", max=40)), NoMarkup()],
    )
    sort_order = _sort_order()
    is_active = BooleanField(_l("Active"), default=True)
    # The unit's own group chat robot: its people's reminders go there instead of the county group.
    robot_channel = SelectField(_l("Group chat robot"), choices=options([
        ("", _l("None: the county's group")), ("wecom", _l("WeCom group robot")), ("dingtalk", _l("DingTalk group robot"))]), default="")
    robot_url = StringField(
        _l("Robot webhook address"),
        filters=[strip],
        validators=[Optional(), Length(max=500, message=_l("At most %(max)d characters.", max=500)),
                    Regexp(r"^https?://[^\s<>\"']+$", message=_l("Enter the webhook address, starting with https://."))],
    )
    robot_secret = PasswordField(
        _l("Robot signing secret (DingTalk)"),
        validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200))],
    )

    def validate_robot_channel(self, field):  # on the channel: the address's Optional() ends its own checks
        if field.data and not self.robot_url.data:
            raise ValidationError(_l("Enter the robot's webhook address, or choose no robot."))


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
    unit_id = SelectField(_l("Unit"), coerce=optional_id, validate_choice=True)
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
    email = StringField(
        _l("E-mail"),
        filters=[strip],
        validators=[Optional(), Length(max=120, message=_l("At most %(max)d characters.", max=120)), NoMarkup(),
                    Regexp(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$",
                           message=_l("Enter an e-mail address such as wangming@qingxi.gov.cn."))],
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
        # The username the account has: the form may not show the field when editing.
        self.editing_username = getattr(kwargs.get("obj"), "username", "") or ""

    def validate_password(self, field):
        """A new account's password, or a reset one: the rule every chosen password keeps (auth.passwords)."""
        if not field.data:
            if self.creating:
                raise ValidationError(_l("A new account needs a password of at least %(min)d characters.", min=MIN_PASSWORD))
            return
        problem = password_problem(self.username.data or self.editing_username, field.data)
        if problem:
            raise ValidationError(problem)

    def validate_unit_id(self, field):
        if field.data is None and {"unit_staff", "contact"} & set(self.roles.data or []):
            raise ValidationError(_l("Unit staff and project contacts must belong to a unit."))

    def validate_units_in_charge(self, field):
        if field.data and "leader" not in (self.roles.data or []):
            raise ValidationError(_l("Only leaders have units in charge."))


POINTS_MESSAGE = _l("Enter a number from -100 to 100 with at most one decimal place, such as -0.5.")


def _points(label):
    """Points per weight: from −100 to 100 with at most one decimal place (−0.5)."""
    return BoundedDecimal(label, -100, 100, 1, POINTS_MESSAGE)


def _days(label, low, high):
    return IntegerField(label, validators=[InputRequired(REQUIRED), NumberRange(low, high, _l("Enter a whole number from %(min)d to %(max)d.", min=low, max=high))])


def _clock(label, low, high):
    return IntegerField(label, validators=[Optional(), NumberRange(low, high, _l("Enter a whole number from %(min)d to %(max)d.", min=low, max=high))])


class PolicyForm(FlaskForm):
    """A new scoring policy, in force from its date (never rewriting past cards)."""

    effective_from = DateField(_l("In force from"), format="%Y-%m-%d", validators=[InputRequired(_l("Enter a date as YYYY-MM-DD."))])
    green_points = _points(_l("Green card points (per weight)"))
    yellow_points = _points(_l("Yellow card points (per weight)"))
    red_points = _points(_l("Red card points (per weight)"))
    warn_days = _days(_l("Due-soon warning (days before the deadline)"), 0, 30)
    recommit_grace_days = _days(_l("Grace for re-commitment (working days)"), 1, 30)
    interview_yellow_threshold = _days(_l("Yellow cards in a month that call an interview"), 1, 50)
    recommit_max_days = _days(_l("Longest re-commitment (days)"), 1, 365)
    project_yellow_lag = _days(_l("Project turns yellow when behind schedule by (percentage points)"), 0, 100)
    project_red_lag = _days(_l("Project turns red when behind schedule by (percentage points)"), 0, 100)
    # The 13710 clocks and the problems' limit: left out of a form, they keep the values in force.
    receipt_days = _clock(_l("Sign for receipt within (working days)"), 1, 30)
    feedback_days = _clock(_l("First report within (working days)"), 1, 60)
    resolve_days = _clock(_l("Resolve an ordinary matter within (working days)"), 1, 120)
    major_resolve_months = _clock(_l("Resolve a major matter within (months)"), 1, 12)
    problem_limit_days = _clock(_l("A problem is overdue when open longer than (working days)"), 1, 120)
    note = StringField(_l("Note"), filters=[strip], validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200)), NoMarkup()])

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_effective_from(self, field):
        if self.today and field.data and field.data < self.today:
            raise ValidationError(_l("A policy can start today or later; past cards keep their points."))

    def validate_project_red_lag(self, field):
        if field.data is not None and self.project_yellow_lag.data is not None and field.data < self.project_yellow_lag.data:
            raise ValidationError(_l("The red threshold cannot be below the yellow one."))


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Date"), format="%Y-%m-%d", validators=[InputRequired(_l("Enter a date as YYYY-MM-DD."))])
    is_workday = SelectField(_l("Kind"), choices=options([("0", _l("Holiday (no work)")), ("1", _l("Make-up working day"))]))
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(REQUIRED), Length(max=30, message=_l("At most %(max)d characters.", max=30)), NoMarkup()])


class OrgChartUploadForm(FlaskForm):
    """One .xlsx workbook; its contents are checked by portal.admin.orgchart, not here."""

    file = FileField(
        _l("Organisation workbook (.xlsx, at most 20 MB)"),
        validators=[FileRequired(_l("Choose an organisation workbook to check."))],
    )


class OrgChartConfirmForm(FlaskForm):
    """The checked file, carried back by the dry-run page (it is checked again before anything is written)."""

    content = HiddenField(validators=[DataRequired(_l("The checked file is missing: upload it again."))])
    filename = HiddenField(filters=[strip], validators=[Length(max=200)])
    fingerprint = HiddenField(validators=[DataRequired(_l("The checked file is missing: upload it again."))])


class DocumentLayoutForm(FlaskForm):
    """The county's printed documents (GB/T 9704): issuing organ, 抄送, 印发机关 and the seal image."""

    office = StringField(_l("Issuing organ (full name)"), filters=[strip],
                         validators=[Length(max=40, message=_l("At most %(max)d characters.", max=40)), NoMarkup()])
    cc = StringField(_l("Copies to (抄送)"), filters=[strip],
                     validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200)), NoMarkup()])
    printer = StringField(_l("Printed by (印发机关)"), filters=[strip],
                          validators=[Length(max=40, message=_l("At most %(max)d characters.", max=40)), NoMarkup()])
    seal = FileField(_l("Seal image (PNG, transparent background, at most 2 MB)"))
    remove_seal = BooleanField(_l("Stop printing the seal image (leave room for the paper seal)"))
