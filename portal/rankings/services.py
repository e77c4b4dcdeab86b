"""League rankings (SPEC rules 7 and 14) and completion figures.

Scores come from card events only; the on-time rate from the nodes due in
the period (rule 14), so that a unit with late nodes never ties with one
that had nothing due, and a red card never sits beside 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, case, func, literal, not_, or_, select

from portal.core.database import report_rows
from portal.core.extensions import db
from portal.core.periods import period_bounds, previous_period
from portal.models import CardEvent, Category, League, Node, Project, Unit
from portal.models.policy import points


def on_time_share(green: int, yellow: int) -> float | None:
    """Green cards among the nodes judged (green or yellow); None when none were judged."""
    judged = green + yellow
    return green / judged if judged else None


class UnitScore(NamedTuple):
    """What the cards of one unit add up to in a period (a tuple: a province builds 20,000 per ranking).

    ``due``: the unit's nodes judged in the period — due in it (by the day
    before today, or signed off), or carded yellow or red in it; ``on_time``:
    those of them that earned their green card.
    """

    unit_id: int
    name: str
    sort_order: int = 0
    score: int | Decimal = 0  # one decimal place at most (see models.policy.points)
    green: int = 0
    yellow: int = 0
    red: int = 0
    due: int = 0
    on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """On time among the nodes due in the period (rule 14); None when nothing was due."""
        return self.on_time / self.due if self.due else None


@dataclass(slots=True)
class RankedRow:
    rank: int
    unit: UnitScore
    previous_rank: int | None = None
    ytd_score: int | Decimal | None = None  # the year to date, up to the period's end
    is_last: bool = False  # 末位: the last rank of its league, when the league is not all equal

    @property
    def movement(self) -> int | None:
        """Places gained since the previous period (negative: lost)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


TIE_BREAK = ("同分时依次比较：本期到期节点按时完成率高者在前（本期无到期节点视为按时），"
             "黄牌少者在前，红牌少者在前；各项均相同的单位并列，下一名次空缺。")


def rank(scores: list[UnitScore]) -> list[RankedRow]:
    """Rank the units of one league (SPEC rules 7 and 14).

    Order: higher score first; on a tie, the higher on-time rate over the
    nodes due in the period (a unit with nothing due missed nothing: it counts
    as on time, ahead of one with late nodes); then fewer yellow cards; then
    fewer red cards. Units equal on all four share a rank and the next rank is
    skipped (1, 2, 2, 4); within a shared rank they are listed in the unit
    list's order. The last rank is 末位 unless everyone shares it.
    """

    def key(s: UnitScore):
        rate = s.on_time_rate
        return (-s.score, -(1.0 if rate is None else rate), s.yellow, s.red)

    # Each unit's key is computed once (10,000 units in a province).
    ordered = sorted(((key(s), s.sort_order, s.name, i) for i, s in enumerate(scores)))
    rows: list[RankedRow] = []
    previous = None
    for position, (k, _, _, i) in enumerate(ordered, start=1):
        rows.append(RankedRow(rows[-1].rank if rows and k == previous else position, scores[i]))
        previous = k
    if rows and rows[-1].rank > 1:
        for row in rows:
            row.is_last = row.rank == rows[-1].rank
    return rows


def active_units():
    """(id, name, sort_order, league_id) of every active unit, in one query."""
    return report_rows(select(Unit.id, Unit.name, Unit.sort_order, Unit.league_id).where(Unit.is_active))


def _due_counts(start: date, end: date, today: date) -> dict[int, tuple[int, int]]:
    """Per unit, (nodes judged in [start, end], of them on time), in one GROUP BY over nodes.

    Judged: due in the period — by yesterday if still open (a node due today
    is not late yet), or signed off — or given a yellow or red card in it (a
    node due earlier that went red this week counts this week). Never judged:
    a node closed without a card (before go-live, or its card withdrawn), and
    with a go-live date set, a node due before it.
    """
    from portal.models.policy import go_live_on

    carded = (
        select(CardEvent.node_id)
        .where(CardEvent.colour.in_(("yellow", "red")), CardEvent.is_withdrawn.is_(False),
               CardEvent.effective_date.between(literal(start, literal_execute=True), literal(end, literal_execute=True)))
    )
    deadline = Node.effective_deadline
    due = and_(deadline.between(literal(start, literal_execute=True), literal(end, literal_execute=True)),
               or_(Node.status == "done", deadline < literal(today, literal_execute=True)))
    judged = and_(or_(due, Node.id.in_(carded)), not_(and_(Node.status == "done", Node.card == "none")))
    go_live = go_live_on()
    if go_live is not None:
        judged = and_(judged, deadline >= literal(go_live, literal_execute=True))
    return {
        unit_id: (int(count), int(green or 0))
        for unit_id, count, green in report_rows(
            select(Node.unit_id, func.count(Node.id), func.sum(case((Node.card == "green", 1), else_=0)))
            .where(judged).group_by(Node.unit_id)
        )
    }


def unit_scores(start: date, end: date, units=None, today: date | None = None) -> dict[int, UnitScore]:
    """Every active unit's score in [start, end], in one GROUP BY over card events.

    Withdrawn cards do not count; units without cards score 0. ``units`` (from
    ``active_units``) saves reading the unit list again. With ``today``, the
    nodes due in the period are counted too (``UnitScore.due``/``on_time``).
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
    due = _due_counts(start, end, today) if today is not None else {}
    scores = {}
    none = (0, 0, 0, 0)
    for unit_id, name, sort_order, *_ in active_units() if units is None else units:
        score, green, yellow, red = totals.get(unit_id, none)
        judged, on_time = due.get(unit_id, (0, 0))
        scores[unit_id] = UnitScore(
            unit_id, name, sort_order, points(score), int(green or 0), int(yellow or 0), int(red or 0),
            judged, on_time,
        )
    return scores


@dataclass
class LeagueTable:
    league_id: int | None
    name: str
    rows: list[RankedRow] = field(default_factory=list)


def league_tables(kind: str, day: date, *, today: date) -> tuple[tuple[date, date], list[LeagueTable]]:
    """The league tables for the period of ``kind`` containing ``day``, with movement and the year to date.

    Only units in a league are ranked (rule 14): the supervision office, the
    county government and other units outside the leagues are never ranked.
    ``today`` decides which nodes are due yet (see ``_due_counts``).
    """
    start, end = period_bounds(kind, day)
    units = [u for u in active_units() if u.league_id is not None]
    now = unit_scores(start, end, units, today)
    before = unit_scores(*previous_period(kind, start), units, today)
    year_start = date(end.year, 1, 1)
    ytd = now if start == year_start else unit_scores(year_start, end, units)
    leagues = db.session.execute(select(League.id, League.name).order_by(League.sort_order, League.id)).all()
    groups: dict[int, list[int]] = {}
    for unit in units:
        groups.setdefault(unit.league_id, []).append(unit.id)
    tables = []
    for league_id, name in leagues:
        ids = groups.get(league_id, [])
        if not ids:
            continue
        rows = rank([now[i] for i in ids])
        earlier = {r.unit.unit_id: r.rank for r in rank([before[i] for i in ids])}
        for row in rows:
            row.previous_rank = earlier.get(row.unit.unit_id)
            row.ytd_score = ytd[row.unit.unit_id].score
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


def unit_history(unit_id: int, year: int) -> list[tuple]:
    """A unit's (month, score, green, yellow, red) through a year, from one query."""
    months = {m: [0, 0, 0, 0] for m in range(1, 13)}
    rows = db.session.execute(
        select(CardEvent.effective_date, CardEvent.colour, CardEvent.points).where(
            CardEvent.unit_id == unit_id, CardEvent.is_withdrawn.is_(False),
            CardEvent.effective_date.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )
    for day, colour, card_points in rows:
        month = months[day.month]
        month[0] += card_points
        month[{"green": 1, "yellow": 2, "red": 3}[colour]] += 1
    return [(m, points(values[0]), *values[1:]) for m, values in months.items()]
