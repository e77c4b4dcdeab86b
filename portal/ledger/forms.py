"""The ledger upload form, and the forms of the import wizard."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portal.core.forms import DateField, NoMarkup, NumberRange, Unique, options, strip
from portal.models import LedgerMapping


class LedgerUploadForm(FlaskForm):
    """One .xlsx file; its contents are checked by the service, not here."""

    file = FileField(
        _l("Ledger file (.xlsx, at most 20 MB)"),
        validators=[FileRequired(_l("Choose a ledger file to import."))],
    )


class WizardUploadForm(LedgerUploadForm):
    """Step 1 of the wizard: the file (xlsx, xls, ods or CSV, told apart by content) and what the file may not say itself."""

    file = FileField(
        _l("Ledger file (.xlsx, .xls, .ods or .csv, at most 20 MB)"),
        validators=[FileRequired(_l("Choose a ledger file to import."))],
    )
    saved_mapping = SelectField(_l("Saved column mapping"), default="")
    year = IntegerField(
        _l("Year of the ledger"),
        validators=[Optional(), NumberRange(2000, 2100, _l("Enter a year from 2000 to 2100."))],
    )
    category = SelectField(_l("Category of rows that name none"), default="")
    go_live = DateField(_l("Go-live date (启用日期)"), format="%Y-%m-%d", validators=[Optional()])
    create_units = BooleanField(_l("Create the units the county does not have yet"))

    def __init__(self, *args, mappings: list[str], categories: list[str], county_go_live: date | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved_mapping.choices = options(((m, m) for m in mappings), blank=_l("— none: detect the columns —"))
        self.category.choices = options(((c, c) for c in categories), blank=_l("— from the sheet or its headings —"))
        self.county_go_live = county_go_live

    def validate_go_live(self, field):
        if self.county_go_live is not None and field.data is not None and field.data != self.county_go_live:
            raise ValidationError(_l(
                "The county's go-live date is already %(day)s; an import does not change it.",
                day=self.county_go_live.isoformat()))


class WizardStepForm(FlaskForm):
    """A wizard step's POST: the token of the import the page was shown for (it must be the session's)."""

    token = HiddenField(validators=[InputRequired(_l("This form belongs to no import. Reload the page."))])


class ColumnsForm(WizardStepForm):
    """Step 3: one select per column (added by ``columns_form``), the sheet to read, and a name to save the mapping."""

    sheet = SelectField(_l("Sheets to import"), default="")
    save_name = StringField(
        _l("Save this mapping as (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=60, message=_l("At most %(max)d characters.", max=60)), NoMarkup(),
                    Unique(LedgerMapping.name, message=_l("A mapping with this name already exists."))],
    )


def field_choices(fields: list[tuple[str, str]]):
    return options(fields, blank=_l("Do not import"))


def columns_form(columns: list[tuple[str, str]], fields: list[tuple[str, str]], sheets: list[str], **kwargs) -> ColumnsForm:
    """The columns form for these columns ((input name, the field it holds now)) and sheets."""

    class Form(ColumnsForm):
        pass

    for name, current in columns:  # a column the POST leaves out keeps its field
        setattr(Form, name, SelectField(choices=field_choices(fields), default=current or ""))
    form = Form(**kwargs)
    form.sheet.choices = options(((s, s) for s in sheets), blank=_l("Every sheet with a table"))
    return form


NEW_UNIT = "new"


def units_form(names: list[tuple[str, str]], units: list[tuple[int, str]], suggested: list[list[int]],
               *, create: bool, **kwargs):
    """Step 4: for each name ((input name, the choice so far: a unit id, ``NEW_UNIT`` or "")) a select of units,
    its suggestions first, and “create this unit”."""

    class Form(WizardStepForm):
        names = HiddenField()
        create_units = BooleanField(_l("Create a new unit for every name left without a unit"))

    blank = _l("Create this unit") if create else _l("Leave it (the dry run will refuse these rows)")
    for (name, _chosen), ids in zip(names, suggested, strict=True):
        labels = dict(units)
        choices = options([], blank=blank)
        if not create:
            choices += options([(NEW_UNIT, _l("Create it as a new unit"))])
        suggestions = options((str(i), labels[i]) for i in ids if i in labels)
        for choice in suggestions:
            choice.optgroup = str(_l("Suggested"))
        others = options((str(i), label) for i, label in units if i not in ids)
        for choice in others:
            choice.optgroup = str(_l("Other units"))
        setattr(Form, name, SelectField(choices=choices + suggestions + others, default=""))
    form = Form(**kwargs)
    if not form.is_submitted():
        for name, chosen in names:
            form[name].data = chosen
        form.create_units.data = create
    return form


def people_form(names: list[tuple[str, bool]], **kwargs):
    """Step 5: for each person without an account ((input name, asked so far)) a box: create an account."""

    class Form(WizardStepForm):
        names = HiddenField()

    for name, _asked in names:
        setattr(Form, name, BooleanField(_l("Create an account")))
    form = Form(**kwargs)
    if not form.is_submitted():
        for name, asked in names:
            form[name].data = asked
    return form
