"""The year timeline (时光轴): major nodes by month of their planned deadline, one band per theme."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Node, Project, Theme

# --------------------------------------------------------------------------
# The year timeline (时光轴)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    node_id: int
    project_id: int
    project_name: str
    title: str
    deadline: date
    committed_deadline: date | None
    status: str
    card: str


@dataclass
class Band:
    """One theme's major nodes, by the month of their (planned) deadline."""

    theme_id: int | None
    name: str
    months: list[list[TimelineItem]] = field(default_factory=lambda: [[] for _ in range(12)])

    @property
    def count(self) -> int:
        return sum(len(m) for m in self.months)


def year_timeline(year: int, no_theme: str) -> list[Band]:
    """The major nodes (``is_major``) due in a year, one band per active theme, in two queries.

    Nodes sit in the month of their planned deadline (the published plan); a
    re-committed date is carried along for display. Nodes of projects without
    a theme go to a last band named ``no_theme``, shown only if it has any.
    """
    bands = {
        tid: Band(tid, name)
        for tid, name in db.session.execute(
            select(Theme.id, Theme.name).where(Theme.is_active).order_by(Theme.sort_order, Theme.id)
        )
    }
    rows = db.session.execute(
        select(Node.id, Project.id, Project.name, Node.title, Node.deadline, Node.committed_deadline,
               Node.status, Node.card, Project.theme_id)
        .join(Project, Project.id == Node.project_id)
        # Every project's nodes due in the year: a cross-year or carried project's too.
        .where(Node.is_major, Node.deadline.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(Node.deadline, Project.code, Node.id)
    )
    for *values, theme_id in rows:
        item = TimelineItem(*values)
        if theme_id not in bands:  # no theme, or an inactive one
            bands.setdefault(None, Band(None, no_theme))
            theme_id = None
        bands[theme_id].months[item.deadline.month - 1].append(item)
    ordered = [b for tid, b in bands.items() if tid is not None]
    if None in bands:
        ordered.append(bands[None])
    return ordered


def by_month(bands: list[Band]) -> list[list[tuple[str, TimelineItem]]]:
    """The same nodes month by month, each with its band's name, in deadline order (the phone's list)."""
    return [
        sorted(((band.name, item) for band in bands for item in band.months[m]), key=lambda pair: pair[1].deadline)
        for m in range(12)
    ]
