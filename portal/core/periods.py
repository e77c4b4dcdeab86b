"""Reporting periods: ISO weeks, months, quarters and years as inclusive date ranges, and their Chinese labels."""

from __future__ import annotations

from datetime import date, timedelta

PERIODS = ("week", "month", "quarter", "year")


def period_bounds(kind: str, day: date) -> tuple[date, date]:
    """The period of ``kind`` containing ``day``, as inclusive (first, last) dates.

    Weeks are ISO weeks (Monday to Sunday), so a week can straddle two years.
    """
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if kind == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    if kind == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        following = date(day.year + (first_month == 10), 1 if first_month == 10 else first_month + 3, 1)
        return start, following - timedelta(days=1)
    if kind == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(f"unknown period {kind!r}")


def last_complete(kind: str, today: date) -> date:
    """A day of the last period of ``kind`` that has ended by ``today``: where rankings open (SPEC rule 14)."""
    start, _ = period_bounds(kind, today)
    return start - timedelta(days=1)


def previous_period(kind: str, start: date) -> tuple[date, date]:
    return period_bounds(kind, start - timedelta(days=1))


def period_label(kind: str, start: date, end: date) -> str:
    if kind == "week":
        iso = start.isocalendar()
        return f"{iso.year}年第{iso.week}周（{start.month}月{start.day}日—{end.month}月{end.day}日）"
    if kind == "month":
        return f"{start.year}年{start.month}月"
    if kind == "quarter":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年"
