"""The sign-off application (销号申请): moving a card to 待销号 with its evidence."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.core.forms import (
    EVIDENCE_FILES_LABEL,
    EVIDENCE_KIND_CHOICES,
    NoMarkup,
    reason_field,
    strip,
)


class SubmitForm(FlaskForm):
    """销号申请: what was done, and the evidence."""

    note = TextAreaField(
        _l("What was done"),
        filters=[strip],
        validators=[DataRequired(_l("Describe what was done.")), Length(max=2000, message=_l("At most %(max)d characters.", max=2000)), NoMarkup()],
    )
    kind = SelectField(_l("Type of evidence"), choices=EVIDENCE_KIND_CHOICES, default="document")
    files = MultipleFileField(EVIDENCE_FILES_LABEL)
    version = HiddenField()


class MoveForm(FlaskForm):
    """A board move's free text: the reason for sending a node back or reopening it (the move itself says whether one is needed)."""

    reason = reason_field(_l("Reason"))
