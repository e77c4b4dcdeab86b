"""Validators and filters shared by every form."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import wtforms
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DecimalField, SelectChoice, SelectMultipleField, validators
from wtforms.validators import ValidationError

from portal.core.extensions import db
from portal.core.inputs import FIRST_YEAR, LAST_YEAR, in_calendar, parse_id
from portal.models import EVIDENCE_KINDS

REQUIRED = _l("This field is required.")

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?]|javascript:", re.IGNORECASE)


def has_markup(text: str | None) -> bool:
    """Whether free text holds an HTML tag or a script URL (names, titles and remarks are plain text)."""
    return bool(text) and _TAG.search(text) is not None


def strip(value):
    """Trim surrounding white space (and turn None into '')."""
    return value.strip() if isinstance(value, str) else value


class NoMarkup:
    """Refuse HTML tags and script URLs: names and titles are plain text."""

    def __init__(self, message=None):
        self.message = message or _l("Must not contain HTML tags or scripts.")

    def __call__(self, form, field):
        if isinstance(field.data, str) and has_markup(field.data):
            raise ValidationError(self.message)


class _InCalendar:
    """Dates and times within the portal's years: 0001-01-01 or 9999-12-31 would overflow the
    first week, month or time-zone conversion built on them (core.inputs holds the bounds)."""

    def pre_validate(self, form):
        super().pre_validate(form)
        if not in_calendar(self.data):
            raise ValidationError(str(_l("Enter a date between the years %(first)d and %(last)d.",
                                         first=FIRST_YEAR, last=LAST_YEAR)))


class DateField(_InCalendar, wtforms.DateField):
    """Every date field of the portal: wtforms' DateField, bounded to the portal's years."""


class DateTimeLocalField(_InCalendar, wtforms.DateTimeLocalField):
    """Every date-and-time field of the portal, bounded like DateField."""


REASON_MAX = 1000


def reason_field(label, message=None):
    """Every free-text reason (a card by hand, a withdrawal, a re-commitment, sending a node back, reopening it):
    trimmed, at most REASON_MAX characters, plain text; required when ``message`` says what to write."""
    checks = [validators.Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX)), NoMarkup()]
    if message is not None:
        checks.insert(0, validators.DataRequired(message))
    return wtforms.TextAreaField(label, filters=[strip], validators=checks)


class NumberRange(validators.NumberRange):
    """wtforms' NumberRange, except that an integer too large for a float is out of range.

    wtforms calls ``math.isnan()`` on the value, which raises OverflowError (a 500) for
    an integer field given a few hundred digits.
    """

    def __call__(self, form, field):
        if isinstance(field.data, int):
            try:
                float(field.data)
            except OverflowError:
                raise ValidationError(self.message) from None
        super().__call__(form, field)


class Unique:
    """The value is not taken by another row (the one being edited excepted)."""

    def __init__(self, column, message=None, case_insensitive=False):
        self.column = column
        self.message = message or _l("This name is already in use.")
        self.case_insensitive = case_insensitive

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        model = self.column.class_
        column = func.lower(self.column) if self.case_insensitive else self.column
        value = field.data.lower() if self.case_insensitive else field.data
        stmt = select(model.id).where(column == value)
        editing = getattr(form, "editing_id", None)
        if editing is not None:
            stmt = stmt.where(model.id != editing)
        if db.session.scalar(stmt.limit(1)) is not None:
            raise ValidationError(self.message)


def options(pairs, blank: str | None = None) -> list[SelectChoice]:
    """Select choices from (value, label) pairs, optionally led by a blank "none"."""
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(value, label) for value, label in pairs]


class MultiSelect(SelectMultipleField):
    """A multiple select whose refusal of an unknown value speaks the user's language."""

    def process_formdata(self, valuelist):
        try:
            self.data = [self.coerce(value) for value in valuelist]
        except (ValueError, TypeError):
            self.data = None
            raise ValueError(_l("Not a valid choice.")) from None

    def pre_validate(self, form):
        if not self.validate_choice or not self.data:
            return
        known = {str(choice.value) for choice in self.iter_choices()}
        if any(str(value) not in known for value in self.data):
            raise ValidationError(_l("Not a valid choice."))


class EmptyForm(FlaskForm):
    """A button-only POST (delete, log out): the CSRF token and nothing else."""


def optional_id(value):
    """A select's value as an id, or None for the blank choice."""
    return int(value) if value not in (None, "", "None") else None


def choice_id(value):
    """A select's id; the blank choice is None, and anything not an id is 0 (no such choice: refused in Chinese)."""
    if value in (None, "", "None"):
        return None
    return parse_id(value) or 0


EVIDENCE_KIND_LABELS = {
    "document": _l("Document"),
    "photo": _l("Site photo"),
    "acceptance": _l("Acceptance record"),
    "other": _l("Other"),
}
EVIDENCE_KIND_CHOICES = options((k, EVIDENCE_KIND_LABELS[k]) for k in EVIDENCE_KINDS)
EVIDENCE_FILES_LABEL = _l("Evidence files (PDF, JPG, PNG, DOCX, XLSX; at most 20 MB each)")


class BoundedDecimal(DecimalField):
    """A decimal in [low, high] with at most ``places`` decimals, read leniently (full-width digits, minus, point,
    thousands separators) and refused with one message whatever is wrong (letters, NaN, too many decimals, out
    of range), so a field never shows two errors and no value reaches a comparison that raises."""

    def __init__(self, label, low, high, places: int, message, **kwargs):
        kwargs.setdefault("validators", [validators.InputRequired(REQUIRED)])
        super().__init__(label, places=places, **kwargs)
        self.low, self.high, self.message = Decimal(low), Decimal(high), message
        self.quantum = Decimal(1).scaleb(-places)

    def process_formdata(self, valuelist):
        raw = unicodedata.normalize("NFKC", valuelist[0] if valuelist else "").strip()
        raw = raw.replace("−", "-").replace(",", "").replace(" ", "")
        self.data = None
        if not raw:
            return
        try:
            value = Decimal(raw)
            ok = value.is_finite() and self.low <= value <= self.high and value == value.quantize(self.quantum)
        except InvalidOperation:
            ok = False
        if not ok:
            raise ValueError(str(self.message))
        self.data = value + 0  # −0 is 0
