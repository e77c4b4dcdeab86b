"""The node page's forms: progress, evidence, re-commitment, cards by hand."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.core.forms import (
    EVIDENCE_FILES_LABEL,
    EVIDENCE_KIND_CHOICES,
    DateField,
    NoMarkup,
    NumberRange,
    options,
    reason_field,
    strip,
)


class ProgressForm(FlaskForm):
    body = TextAreaField(
        _l("Progress"),
        filters=[strip],
        validators=[DataRequired(_l("Write what has happened.")), Length(max=1000, message=_l("At most %(max)d characters.", max=1000)), NoMarkup()],
    )
    percent = IntegerField(_l("Percent complete"), validators=[Optional(), NumberRange(0, 100, _l("Enter a whole number from 0 to 100."))])
    version = HiddenField()  # the node version the page showed: a stale one is refused with 409


class EvidenceForm(FlaskForm):
    kind = SelectField(_l("Type of evidence"), choices=EVIDENCE_KIND_CHOICES, default="document")
    files = MultipleFileField(EVIDENCE_FILES_LABEL)


class RecommitForm(FlaskForm):
    reason = reason_field(_l("Why the node is late"), _l("Explain why the node is late."))
    new_deadline = DateField(_l("New completion date"), format="%Y-%m-%d", validators=[InputRequired(_l("Enter a date as YYYY-MM-DD."))])


class ManualCardForm(FlaskForm):
    colour = SelectField(_l("Card"), choices=options([("yellow", _l("Yellow card")), ("red", _l("Red card")), ("green", _l("Green card"))]))
    reason = reason_field(_l("Reason"), _l("A card by hand needs a reason."))


class WithdrawForm(FlaskForm):
    reason = reason_field(_l("Reason for withdrawal"), _l("A withdrawal needs a reason."))
