"""The bulletin draft form."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from portal.core.forms import has_markup, strip
from portal.core.inputs import parse_date
from portal.documents.services import BULLETIN_PERIODS


def _day(raw: str | None) -> date | None:
    """An optional ISO date within the portal's years; ValueError for anything else."""
    if not raw:
        return None
    day = parse_date(raw)
    if day is None:
        raise ValueError(raw)
    return day


class BulletinForm(FlaskForm):
    """A weekly, monthly or ad hoc bulletin: its period, optional title and remarks.

    Checked as a whole so every problem is listed at once above the form.
    """

    period = StringField(filters=[strip])
    date = StringField(filters=[strip])
    start = StringField(filters=[strip])
    end = StringField(filters=[strip])
    title = StringField(filters=[strip])
    body = TextAreaField(filters=[strip])

    def check(self, today: date) -> list[str]:
        """The problems, in the order the form shows them; sets ``day``, ``start_day`` and ``end_day``."""
        errors = []
        period = self.period.data or ""
        if period not in BULLETIN_PERIODS:
            errors.append(_("Please choose the kind of bulletin (weekly, monthly or special)."))
        try:
            self.day = _day(self.date.data) or today
            self.start_day = _day(self.start.data) if period == "adhoc" else None
            self.end_day = _day(self.end.data) if period == "adhoc" else None
        except ValueError:
            errors.append(_("Dates must be written YYYY-MM-DD."))
            self.day = self.start_day = self.end_day = None
        if len(self.body.data or "") > 4000:
            errors.append(_("The bulletin text may have at most %(count)d characters.", count=4000))
        if has_markup(self.body.data) or has_markup(self.title.data):
            errors.append(_("HTML tags or scripts are not allowed."))
        if not errors and period == "adhoc" and (self.start_day is None or self.end_day is None or self.end_day < self.start_day):
            errors.append(_("A special bulletin needs a start and an end date, and the end may not be before the start."))
        return errors


class BulletinTextForm(FlaskForm):
    """A draft's lead paragraph (导语) and remarks (备注), written by the office."""

    lead = TextAreaField(filters=[strip])
    body = TextAreaField(filters=[strip])

    def check(self) -> list[str]:
        errors = []
        for field, limit in ((self.lead, 2000), (self.body, 4000)):
            if len(field.data or "") > limit:
                errors.append(_("The bulletin text may have at most %(count)d characters.", count=limit))
        if has_markup(self.lead.data) or has_markup(self.body.data):
            errors.append(_("HTML tags or scripts are not allowed."))
        return errors
