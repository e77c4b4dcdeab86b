"""The bulletin draft form."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from portal.core.forms import has_markup, strip
from portal.documents.services import BULLETIN_PERIODS


def _day(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


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
            errors.append("请选择通报类型（周报、月报或专项通报）。")
        try:
            self.day = _day(self.date.data) or today
            self.start_day = _day(self.start.data) if period == "adhoc" else None
            self.end_day = _day(self.end.data) if period == "adhoc" else None
        except ValueError:
            errors.append("日期须为 YYYY-MM-DD 格式。")
            self.day = self.start_day = self.end_day = None
        if len(self.body.data or "") > 4000:
            errors.append("通报正文最多 4000 个字符。")
        if has_markup(self.body.data) or has_markup(self.title.data):
            errors.append("不能包含 HTML 标签或脚本。")
        if not errors and period == "adhoc" and (self.start_day is None or self.end_day is None or self.end_day < self.start_day):
            errors.append("专项通报须填写起止日期，且结束日期不早于开始日期。")
        return errors
