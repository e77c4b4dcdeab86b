"""The one source of "now" and "today".

Rules never read the wall clock: services take an ``as_of`` date, and views
and jobs ask the app's clock for it, so tests can travel in time by swapping
the clock instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app


class Clock:
    """The real clock in the county's time zone."""

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        return datetime.now(UTC)

    def today(self) -> date:
        """The county's calendar date right now."""
        return self.now().astimezone(self.tz).date()

    def local(self, instant: datetime) -> datetime:
        """An instant shown in the county's time zone."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return instant.astimezone(self.tz)

    def local_date(self, instant: datetime) -> date:
        """The county calendar date on which an instant falls."""
        return self.local(instant).date()

    def start_of(self, day: date) -> datetime:
        """The UTC instant at which a county calendar day begins."""
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)


class FixedClock(Clock):
    """A clock that stands still (or moves only when told): tests and demos."""

    def __init__(self, at: datetime | date, tz: str = "Asia/Shanghai") -> None:
        super().__init__(tz)
        self.set(at)

    def set(self, at: datetime | date) -> None:
        if isinstance(at, datetime):
            self._now = at if at.tzinfo else at.replace(tzinfo=self.tz)
        else:
            # Ten in the morning, county time: an ordinary working moment.
            self._now = datetime.combine(at, time(10, 0), tzinfo=self.tz)
        self._now = self._now.astimezone(UTC)

    def now(self) -> datetime:
        return self._now


def get_clock() -> Clock:
    """The clock of the current app."""
    return current_app.extensions["jiedian.clock"]


def init_app(app) -> None:
    tz = app.config["JIEDIAN_TZ"]
    fixed = app.config.get("JIEDIAN_TODAY")
    if fixed:
        clock: Clock = FixedClock(date.fromisoformat(fixed), tz)
    else:
        clock = Clock(tz)
    app.extensions["jiedian.clock"] = clock
