"""Cadre files (干部档案): each responsible person's nodes and the cards those nodes earned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.core.extensions import db
from portal.dashboard.services import COLOURS, count_where, overdue_on
from portal.models import CardEvent, Node, Project, Unit, User
from portal.rankings.services import on_time_share

# --------------------------------------------------------------------------
# Cadre files (干部档案)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CadreFigures:
    """One responsible person's year: their nodes and the cards those nodes earned."""

    user_id: int
    name: str
    unit: str
    title: str
    nodes: int = 0
    done: int = 0
    overdue: int = 0
    green: int = 0
    yellow: int = 0
    red: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Green ÷ (green + yellow) cards, as the rankings count it; None if no node was judged."""
        return on_time_share(self.green, self.yellow)


def _year_cards(year: int):
    return (
        select(Node.responsible_user_id.label("user_id"), CardEvent.colour, CardEvent.effective_date)
        .join(Node, Node.id == CardEvent.node_id)
        .where(CardEvent.is_withdrawn.is_(False),
               CardEvent.effective_date.between(date(year, 1, 1), date(year, 12, 31)))
    )


def cadre_figures(year: int, as_of: date, user_id: int | None = None) -> list[CadreFigures]:
    """Every responsible person with nodes in ``year`` (or one person), in three queries.

    Nodes are those of the year's projects the person is responsible for
    (as the node says now); cards are the live card events of their nodes
    effective in the year. Ordered by unit, then name. The on-time rate counts
    cards, so a node closed before go-live (no card, SPEC rule 11) is done
    but neither on time nor late, as on the dashboard.
    """
    node_stmt = (
        select(
            Node.responsible_user_id, func.count(Node.id), count_where(Node.status == "done"),
            count_where(overdue_on(as_of)),
        )
        .join(Project, Project.id == Node.project_id)
        .where(Project.year == year, Node.responsible_user_id.is_not(None))
        .group_by(Node.responsible_user_id)
    )
    cards = _year_cards(year).subquery()
    card_stmt = select(
        cards.c.user_id, *(count_where(cards.c.colour == c) for c in COLOURS)
    ).where(cards.c.user_id.is_not(None)).group_by(cards.c.user_id)
    if user_id is not None:
        node_stmt = node_stmt.where(Node.responsible_user_id == user_id)
        card_stmt = card_stmt.where(cards.c.user_id == user_id)
    nodes = {uid: [int(v or 0) for v in values] for uid, *values in db.session.execute(node_stmt)}
    card_rows = {uid: [int(v or 0) for v in values] for uid, *values in db.session.execute(card_stmt)}
    people = set(nodes) | set(card_rows) if user_id is None else {user_id}
    if not people:
        return []
    users = db.session.execute(
        select(User.id, User.display_name, Unit.name, User.title)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .where(User.id.in_(people))
        .order_by(Unit.sort_order, Unit.name, User.display_name, User.id)
    )
    return [
        CadreFigures(uid, name, unit or "", title or "", *nodes.get(uid, (0, 0, 0)), *card_rows.get(uid, (0, 0, 0)))
        for uid, name, unit, title in users
    ]


def cadre_cards_by_month(user_id: int, year: int) -> list[tuple[int, int, int, int]]:
    """(month, green, yellow, red) for the twelve months of ``year``: the person's live cards, one query."""
    months = {m: [0, 0, 0] for m in range(1, 13)}
    cards = _year_cards(year).where(Node.responsible_user_id == user_id)
    for _uid, colour, day in db.session.execute(cards):
        months[day.month][COLOURS.index(colour)] += 1
    return [(m, *values) for m, values in months.items()]


def by_quarter(months: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Fold (month, green, yellow, red) rows into (quarter, green, yellow, red)."""
    quarters = {q: [0, 0, 0] for q in range(1, 5)}
    for month, *values in months:
        for i, v in enumerate(values):
            quarters[(month - 1) // 3 + 1][i] += v
    return [(q, *values) for q, values in quarters.items()]


def cadre_nodes(user_id: int, year: int) -> list[Node]:
    """The person's nodes of the year's projects, by deadline, with project and unit loaded."""
    return list(
        db.session.scalars(
            select(Node)
            .join(Project, Project.id == Node.project_id)
            .options(joinedload(Node.project), joinedload(Node.unit))
            .where(Node.responsible_user_id == user_id, Project.year == year)
            .order_by(Node.deadline, Node.id)
        ).unique()
    )
