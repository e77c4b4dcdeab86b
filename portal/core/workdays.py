"""Chinese working days: Monday to Friday, except statutory holidays, plus make-up days (调休).

The exceptions live in the ``calendar_day`` table, seeded from the maintained
``chinese-calendar`` package (migration 0002) and editable by admins for
years the package does not know yet.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import CalendarDay


class WorkCalendar:
    """Working days between two dates, loaded with one query."""

    def __init__(self, start: date, end: date):
        rows = db.session.execute(
            select(CalendarDay.day, CalendarDay.is_workday).where(CalendarDay.day.between(start, end))
        ).all()
        self.start, self.end = start, end
        self.exceptions = dict(rows)

    def is_workday(self, day: date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def nth_workday(self, start: date, n: int) -> date:
        """The n-th working day counting from ``start`` (``start`` itself is the first if it works)."""
        day = start
        seen = 0
        while True:
            if self.is_workday(day):
                seen += 1
                if seen >= n:
                    return day
            day += timedelta(days=1)
