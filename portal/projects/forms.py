from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from portal.core.extensions import db
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
from portal.core.templating import STAGE_LABELS
from portal.models import STAGES, Project, User
from portal.projects.services import deadline_problem, responsible_problem

BAD_DATE = _l("Enter a date as YYYY-MM-DD.")


def _max(n: int):
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


MONEY_MESSAGE = _l("Enter an amount from 0 to 999,999,999 (10k yuan).")


def _money(label):
    """An amount in 万元 with at most two decimals; blank is 0."""
    return BoundedDecimal(label, 0, 999_999_999, 2, MONEY_MESSAGE, default=0, validators=[Optional()])


class ProjectForm(FlaskForm):
    code = StringField(
        _l("Project code"),
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            _max(30),
            Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Use letters, digits, '-' or '_' only.")),
            Unique(Project.code, message=_l("This project code is already in use.")),
        ],
    )
    name = StringField(_l("Project name"), filters=[strip], validators=[DataRequired(REQUIRED), _max(100), NoMarkup()])
    category_id = SelectField(_l("Category"), coerce=optional_id, validators=[InputRequired(REQUIRED)])
    theme_id = SelectField(_l("Timeline theme"), coerce=optional_id)
    year = IntegerField(
        _l("Year"), validators=[InputRequired(REQUIRED), NumberRange(2000, 2100, _l("Enter a year from 2000 to 2100."))]
    )
    lead_leader_id = SelectField(_l("Leader in charge (包保领导)"), coerce=optional_id)
    lead_unit_id = SelectField(_l("Lead unit"), coerce=optional_id, validators=[InputRequired(REQUIRED)])
    co_unit_ids = MultiSelect(_l("Co-operating units"), coerce=int)
    contact_ids = MultiSelect(_l("Project contacts"), coerce=int)
    stage = SelectField(_l("Stage"), choices=options((s, STAGE_LABELS[s]) for s in STAGES), default="signed")
    investment_total = _money(_l("Total investment (10k yuan)"))
    investment_planned = _money(_l("Planned this year (10k yuan)"))
    investment_completed = _money(_l("Completed (10k yuan)"))
    start_date = DateField(_l("Start date"), validators=[Optional()], format="%Y-%m-%d")
    end_date = DateField(_l("End date"), validators=[Optional()], format="%Y-%m-%d")
    description = TextAreaField(_l("Description"), filters=[strip], validators=[_max(2000), NoMarkup()])
    is_archived = BooleanField(_l("Archived"))

    def validate_category_id(self, field):
        if field.data is None:
            raise ValidationError(REQUIRED)

    def validate_lead_unit_id(self, field):
        if field.data is None:
            raise ValidationError(REQUIRED)

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date cannot be before the start date."))


class NodeForm(FlaskForm):
    title = StringField(_l("Node"), filters=[strip], validators=[DataRequired(REQUIRED), _max(120), NoMarkup()])
    unit_id = SelectField(_l("Responsible unit"), coerce=optional_id, validators=[InputRequired(REQUIRED)])
    co_unit_ids = MultiSelect(_l("Co-units of this node (联动单位)"), coerce=int)
    responsible_user_id = SelectField(_l("Responsible person"), coerce=optional_id)
    deadline = DateField(_l("Deadline"), format="%Y-%m-%d", validators=[InputRequired(BAD_DATE)])
    standard = TextAreaField(
        _l("Completion standard"), filters=[strip], validators=[DataRequired(REQUIRED), _max(1000), NoMarkup()]
    )
    weight = IntegerField(
        _l("Weight"), default=1, validators=[InputRequired(REQUIRED), NumberRange(1, 10, _l("Enter a whole number from 1 to 10."))]
    )
    is_major = BooleanField(_l("Major node (shown on the year timeline)"))
    is_key_supervision = BooleanField(_l("Key supervision (重点督办)"))
    version = HiddenField()

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def validate_unit_id(self, field):
        if field.data is None:
            raise ValidationError(REQUIRED)

    def validate_deadline(self, field):
        problem = deadline_problem(self.project, field.data) if field.data else None
        if problem:
            raise ValidationError(problem)

    def validate_responsible_user_id(self, field):
        if field.errors:  # not one of the choices: said already, and not an id to look up
            return
        person = db.session.get(User, field.data) if field.data else None
        problem = responsible_problem(person, self.unit_id.data, self.co_unit_ids.data or [])
        if problem:
            raise ValidationError(problem)


class InvestmentForm(FlaskForm):
    """A month's completed investment (本年累计完成投资, 万元), reported by the project's contact."""

    month = SelectField(_l("Month reported"), validators=[InputRequired(REQUIRED)])
    completed = BoundedDecimal(_l("Completed this year, cumulative (10k yuan)"), 0, 999_999_999, 2, MONEY_MESSAGE)
    note = StringField(_l("Note"), filters=[strip], validators=[_max(200), NoMarkup()])


class CarryForm(FlaskForm):
    """结转: the code and the end date of the project's next-year record."""

    code = StringField(
        _l("Project code"), filters=[strip],
        validators=[DataRequired(REQUIRED), _max(30),
                    Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Use letters, digits, '-' or '_' only.")),
                    Unique(Project.code, message=_l("This project code is already in use."))],
    )
    end_date = DateField(_l("End date"), validators=[Optional()], format="%Y-%m-%d")
