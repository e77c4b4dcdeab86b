"""League rankings (SPEC rule 7) and completion figures, from card events only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import and_, case, func, literal, select

from portal.core.database import report_rows
from portal.core.extensions import db
from portal.core.periods import period_bounds, previous_period
from portal.models import CardEvent, Category, League, Node, Project, Unit


def on_time_share(green: int, yellow: int) -> float | None:
    """Green cards among the nodes judged (green or yellow); None when none were judged."""
    judged = green + yellow
    return green / judged if judged else None


class UnitScore(NamedTuple):
    """What the cards of one unit add up to in a period (a tuple: a province builds 20,000 per ranking)."""

    unit_id: int
    name: str
    sort_order: int = 0
    score: int = 0
    green: int = 0
    yellow: int = 0
    red: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Green cards among the nodes judged in the period (green or yellow); None if none were."""
        return on_time_share(self.green, self.yellow)


@dataclass(slots=True)
class RankedRow:
    rank: int
    unit: UnitScore
    previous_rank: int | None = None

    @property
    def movement(self) -> int | None:
        """Places gained since the previous period (negative: lost)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


def rank(scores: list[UnitScore]) -> list[RankedRow]:
    """Rank the units of one league.

    Order: higher score first; on a tie, the higher on-time rate (a unit with
    no node judged in the period counts as 0 %); then fewer red cards. Units
    equal on all three share a rank and the next rank is skipped (1, 2, 2, 4);
    within a shared rank they are listed in the unit list's order.
    """

    def key(s: UnitScore):
        return (-s.score, -(s.on_time_rate or 0.0), s.red)

    # Each unit's key is computed once (10,000 units in a province).
    ordered = sorted(((key(s), s.sort_order, s.name, i) for i, s in enumerate(scores)))
    rows: list[RankedRow] = []
    previous = None
    for position, (k, _, _, i) in enumerate(ordered, start=1):
        rows.append(RankedRow(rows[-1].rank if rows and k == previous else position, scores[i]))
        previous = k
    return rows


def active_units():
    """(id, name, sort_order, league_id) of every active unit, in one query."""
    return report_rows(select(Unit.id, Unit.name, Unit.sort_order, Unit.league_id).where(Unit.is_active))


def unit_scores(start: date, end: date, units=None) -> dict[int, UnitScore]:
    """Every active unit's score in [start, end], in one GROUP BY over card events.

    Withdrawn cards do not count; units without cards score 0. ``units`` (from
    ``active_units``) saves reading the unit list again.
    """
    totals = {
        row[0]: row[1:]
        for row in report_rows(
            select(
                CardEvent.unit_id,
                func.sum(CardEvent.points).label("score"),
                func.sum(case((CardEvent.colour == "green", 1), else_=0)).label("green"),
                func.sum(case((CardEvent.colour == "yellow", 1), else_=0)).label("yellow"),
                func.sum(case((CardEvent.colour == "red", 1), else_=0)).label("red"),
            )
            # The dates are written into the SQL, not bound: psycopg prepares a
            # statement run five times, and PostgreSQL then plans it for any
            # dates, walking a whole year's cards through the date index at
            # twice the cost of the scan it picks for the actual dates.
            .where(CardEvent.is_withdrawn.is_(False), CardEvent.effective_date.between(
                literal(start, literal_execute=True), literal(end, literal_execute=True)))
            .group_by(CardEvent.unit_id)
        )
    }
    scores = {}
    none = (0, 0, 0, 0)
    for unit_id, name, sort_order, *_ in active_units() if units is None else units:
        score, green, yellow, red = totals.get(unit_id, none)
        scores[unit_id] = UnitScore(
            unit_id, name, sort_order, int(score or 0), int(green or 0), int(yellow or 0), int(red or 0),
        )
    return scores


@dataclass
class LeagueTable:
    league_id: int | None
    name: str
    rows: list[RankedRow] = field(default_factory=list)


def league_tables(kind: str, day: date) -> tuple[tuple[date, date], list[LeagueTable]]:
    """The league tables for the period of ``kind`` containing ``day``, with movement."""
    start, end = period_bounds(kind, day)
    units = active_units()
    now = unit_scores(start, end, units)
    before = unit_scores(*previous_period(kind, start), units)
    leagues = db.session.execute(select(League.id, League.name).order_by(League.sort_order, League.id)).all()
    groups: dict[int | None, list[int]] = {}
    for unit in units:
        groups.setdefault(unit.league_id, []).append(unit.id)
    tables = []
    named = [(league_id, name) for league_id, name in leagues] + ([(None, "未分组单位")] if None in groups else [])
    for league_id, name in named:
        ids = groups.get(league_id, [])
        if not ids:
            continue
        rows = rank([now[i] for i in ids])
        earlier = {r.unit.unit_id: r.rank for r in rank([before[i] for i in ids])}
        for row in rows:
            row.previous_rank = earlier.get(row.unit.unit_id)
        tables.append(LeagueTable(league_id, name, rows))
    return (start, end), tables


@dataclass
class Completion:
    """Nodes due by a date: how many are signed off (done), judged and on time.

    ``judged`` are the signed-off nodes that carry a card (green, yellow or
    red); ``on_time`` the signed-off ones whose card is green. A node closed
    without a card — finished before the county went live (SPEC rule 11), or
    whose card a supervisor withdrew — was never judged: it counts as
    complete, and neither on time nor late.
    """

    name: str
    due: int
    done: int
    on_time: int
    judged: int

    @property
    def rate(self) -> float | None:
        """Completion rate: signed off ÷ due."""
        return self.done / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        """On-time rate: green ÷ judged (signed off with a card); None when none was judged."""
        return self.on_time / self.judged if self.judged else None


# The node conditions behind Completion, shared with the dashboard (one definition).
SIGNED_OFF = Node.status == "done"
JUDGED = and_(SIGNED_OFF, Node.card != "none")
ON_TIME = and_(SIGNED_OFF, Node.card == "green")

_DONE = func.sum(case((SIGNED_OFF, 1), else_=0))
_GREEN = func.sum(case((ON_TIME, 1), else_=0))
_JUDGED = func.sum(case((JUDGED, 1), else_=0))


def completion_by_category(year: int, until: date) -> list[Completion]:
    """Per category, like the field reports: 产业项目完成节点265个，完成率97.1%.

    A node counts once its deadline has come (deadline on or before ``until``);
    it is complete when signed off, on time when it earned its green card,
    judged when signed off with any card (see :class:`Completion`).
    """
    rows = {
        cid: (due, done or 0, green or 0, judged or 0)
        for cid, due, done, green, judged in db.session.execute(
            select(Project.category_id, func.count(Node.id), _DONE, _GREEN, _JUDGED)
            .join(Node, Node.project_id == Project.id)
            .where(Project.year == year, Node.deadline <= until)
            .group_by(Project.category_id)
        )
    }
    result = []
    for cid, name in db.session.execute(select(Category.id, Category.name).order_by(Category.sort_order, Category.id)):
        due, done, green, judged = rows.get(cid, (0, 0, 0, 0))
        result.append(Completion(name, due, done, green, judged))
    return result


def project_leaderboard(year: int, until: date, limit: int = 10) -> tuple[list[Completion], list[Completion]]:
    """节点排行榜: the projects that closed the largest and the smallest share of their due nodes."""
    rows = [
        Completion(f"{name}", due, done or 0, green or 0, judged or 0)
        for name, due, done, green, judged in db.session.execute(
            select(Project.name, func.count(Node.id), _DONE, _GREEN, _JUDGED)
            .join(Node, Node.project_id == Project.id)
            .where(Project.year == year, Node.deadline <= until)
            .group_by(Project.id, Project.name)
        )
    ]
    ordered = sorted(rows, key=lambda c: (-(c.rate or 0), -c.due, c.name))
    bottom = list(reversed(ordered[-limit:])) if len(ordered) > limit else []
    return ordered[:limit], bottom


def unit_history(unit_id: int, year: int) -> list[tuple[int, int, int, int, int]]:
    """A unit's (month, score, green, yellow, red) through a year, from one query."""
    months = {m: [0, 0, 0, 0] for m in range(1, 13)}
    rows = db.session.execute(
        select(CardEvent.effective_date, CardEvent.colour, CardEvent.points).where(
            CardEvent.unit_id == unit_id, CardEvent.is_withdrawn.is_(False),
            CardEvent.effective_date.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )
    for day, colour, points in rows:
        month = months[day.month]
        month[0] += points
        month[{"green": 1, "yellow": 2, "red": 3}[colour]] += 1
    return [(m, *values) for m, values in months.items()]
