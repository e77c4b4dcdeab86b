"""The one input layer for ids, integers, years and dates from paths, query strings and forms.

Every number or date a request carries is read here, with bounds: an id
beyond what a column holds, a year with five digits, the calendar's ends
(whose week or month would overflow ``date``) or digits that ``str.isdigit``
accepts but ``int`` refuses (²) answer a 404 in a path and a 400 in a query
string, never a 500. Only ASCII digits count: ``int("٣")`` is 3, but nobody
types an Arabic-Indic digit into a board filter on purpose.

- Paths: the ``int`` converter is replaced by :class:`IdConverter` (1 to
  :data:`MAX_ID`); ``<day:...>`` is a bounded ISO date.
- Query strings: :func:`arg_id`, :func:`arg_int`, :func:`arg_year`,
  :func:`arg_date` return ``None`` (or the default) when the argument is
  absent or empty and raise :class:`BadArgument` (400, in the user's
  language) when it is present but unusable.
- Form fields and other text: :func:`parse_int`, :func:`parse_id`,
  :func:`parse_date` return ``None`` for anything unusable.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import request
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter, ValidationError

from portal.core.errors import Refused

# The largest id a PostgreSQL integer column holds; SQLite holds more, but ids are the same everywhere.
MAX_ID = 2**31 - 1
# Years a county plans in. A date outside them is refused before any week, month or year is built on it.
FIRST_YEAR, LAST_YEAR = 2000, 2100
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)

_INT = re.compile(r"-?[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadArgument(Refused):
    """A query-string value that cannot be used: shown as a 400 page in the user's language."""

    def __init__(self, message: str):
        super().__init__(400, message)


def parse_int(raw, lo: int, hi: int) -> int | None:
    """An integer written in ASCII digits within ``lo..hi``, or None."""
    text = str(raw if raw is not None else "").strip()
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if lo <= value <= hi else None


def parse_id(raw) -> int | None:
    """A row id (1 to MAX_ID), or None."""
    return parse_int(raw, 1, MAX_ID)


def in_calendar(day: date | datetime | None) -> bool:
    """Whether a date lies in the years the portal works with."""
    if day is None:
        return True
    return FIRST_DAY <= (day.date() if isinstance(day, datetime) else day) <= LAST_DAY


def parse_date(raw) -> date | None:
    """An ISO date (YYYY-MM-DD) within the portal's years, or None."""
    text = str(raw if raw is not None else "").strip()
    if not _DATE.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if in_calendar(day) else None


def _raw(name: str, args=None) -> str:
    return ((request.args if args is None else args).get(name) or "").strip()


def arg_int(name: str, default: int | None = None, *, lo: int = 0, hi: int = MAX_ID, args=None) -> int | None:
    """An integer query argument within bounds; absent or empty gives ``default``."""
    raw = _raw(name, args)
    if not raw:
        return default
    value = parse_int(raw, lo, hi)
    if value is None:
        raise BadArgument(_("%(name)s must be a whole number from %(lo)d to %(hi)d.", name=name, lo=lo, hi=hi))
    return value


def arg_id(name: str, args=None) -> int | None:
    """An optional record id from the query string (a filter, a scope); ``args`` defaults to the request's."""
    raw = _raw(name, args)
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise BadArgument(_("%(name)s must be the number of a record: choose one from the list.", name=name))
    return value


def arg_page(name: str = "page") -> int:
    """A page number of a list, 1 when absent."""
    return arg_int(name, 1, lo=1, hi=100_000)


def arg_year(name: str = "year", default: int | None = None) -> int | None:
    """A year from FIRST_YEAR to LAST_YEAR."""
    raw = _raw(name)
    if not raw:
        return default
    value = parse_int(raw, FIRST_YEAR, LAST_YEAR)
    if value is None:
        raise BadArgument(_("The year must be a number from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR))
    return value


def arg_date(name: str, default: date | None = None) -> date | None:
    """A date written YYYY-MM-DD within the portal's years."""
    raw = _raw(name)
    if not raw:
        return default
    value = parse_date(raw)
    if value is None:
        raise BadArgument(_("%(name)s must be a date written YYYY-MM-DD between %(first)s and %(last)s.",
                            name=name, first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()))
    return value


class IdConverter(BaseConverter):
    """``<int:...>`` in every route: a record id from 1 to MAX_ID in ASCII digits; anything else is a 404."""

    regex = r"[0-9]{1,10}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class DayConverter(BaseConverter):
    """``<day:...>``: an ISO date within the portal's years; anything else is a 404."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    part_isolating = True

    def to_python(self, value: str) -> date:
        day = parse_date(value)
        if day is None:
            raise ValidationError()
        return day

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)


def init_app(app) -> None:
    """Install the bounded converters (before any blueprint adds its routes)."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["day"] = DayConverter
