from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import NoMarkup, NumberRange, options, strip
from portal.models import EVIDENCE_KINDS

EVIDENCE_KIND_LABELS = {
    "document": _l("Document"),
    "photo": _l("Site photo"),
    "acceptance": _l("Acceptance record"),
    "other": _l("Other"),
}


class SubmitForm(FlaskForm):
    """销号申请: what was done, and the evidence."""

    note = TextAreaField(
        _l("What was done"),
        filters=[strip],
        validators=[DataRequired(_l("Describe what was done.")), Length(max=2000, message=_l("At most %(max)d characters.", max=2000)), NoMarkup()],
    )
    kind = SelectField(_l("Type of evidence"), choices=options((k, EVIDENCE_KIND_LABELS[k]) for k in EVIDENCE_KINDS), default="document")
    files = MultipleFileField(_l("Evidence files (PDF, JPG, PNG, DOCX, XLSX; at most 20 MB each)"))
    version = HiddenField()


class ProgressForm(FlaskForm):
    body = TextAreaField(
        _l("Progress"),
        filters=[strip],
        validators=[DataRequired(_l("Write what has happened.")), Length(max=1000, message=_l("At most %(max)d characters.", max=1000)), NoMarkup()],
    )
    percent = IntegerField(_l("Percent complete"), validators=[Optional(), NumberRange(0, 100, _l("Enter a whole number from 0 to 100."))])
    version = HiddenField()  # the node version the page showed: a stale one is refused with 409


class EvidenceForm(FlaskForm):
    kind = SelectField(_l("Type of evidence"), choices=options((k, EVIDENCE_KIND_LABELS[k]) for k in EVIDENCE_KINDS), default="document")
    files = MultipleFileField(_l("Evidence files (PDF, JPG, PNG, DOCX, XLSX; at most 20 MB each)"))
