"""The command view (挂图作战): the dashboard's figures. Project colours are in ``progress``, the
year timeline in ``timeline``, cadre files in ``cadres``.

Every figure comes from set-based queries (``GROUP BY``), so a page costs the
same handful of queries for ten projects or ten thousand. Nothing here reads
the wall clock or the logged-in user: callers pass the date (``as_of``) and
the filters.

Definitions used throughout:

- a node is **due** once its deadline (the original one, as the field reports
  count) is on or before ``as_of``; **completion rate** = signed off ÷ due and
  **on-time rate** = green ÷ judged, where judged are the signed-off nodes
  that carry a card, exactly as
  :func:`portal.rankings.services.completion_by_category` computes them: a
  node closed without a card (finished before go-live, SPEC rule 11) is
  complete but neither on time nor late;
- a node is **overdue now** when it is not yet submitted (``todo`` or
  ``doing``) and its effective deadline (the re-committed one if approved) is
  before ``as_of`` — it is late from the day after its deadline (SPEC §3);
  a node waiting for sign-off is with the supervisors, not late;
- a node is **open** until it is signed off (``done``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from portal.core.extensions import db
from portal.core.periods import period_bounds
from portal.models import CardEvent, Category, Node, Project, Unit
from portal.rankings.services import JUDGED, ON_TIME, SIGNED_OFF, Completion

COLOURS = ("green", "yellow", "red")



def overdue_on(as_of: date):
    """Not submitted and past the effective deadline (late from the day after it)."""
    return and_(Node.is_open, Node.effective_deadline < as_of)


def count_where(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to; ``None`` means every one."""

    year: int
    category_id: int | None = None
    theme_id: int | None = None
    league_id: int | None = None

    def as_args(self) -> dict[str, int]:
        """The filters as URL query arguments (the ones that are set)."""
        args = {"year": self.year, "category": self.category_id, "theme": self.theme_id, "league": self.league_id}
        return {k: v for k, v in args.items() if v is not None}


def league_units(league_id: int):
    return select(Unit.id).where(Unit.league_id == league_id).scalar_subquery()


def _scope_nodes(stmt, filters: Filters):
    """Narrow a query that joins Node and Project: the project's year, category and theme; the node's unit's league."""
    stmt = stmt.where(Project.year == filters.year)
    if filters.category_id is not None:
        stmt = stmt.where(Project.category_id == filters.category_id)
    if filters.theme_id is not None:
        stmt = stmt.where(Project.theme_id == filters.theme_id)
    if filters.league_id is not None:
        stmt = stmt.where(Node.unit_id.in_(league_units(filters.league_id)))
    return stmt


def dashboard_as_of(year: int, today: date) -> date:
    """The date a year's dashboard is read at: today, or the last day of a past year."""
    return min(today, date(year, 12, 31))


# --------------------------------------------------------------------------
# Per category
# --------------------------------------------------------------------------


@dataclass
class CategoryFigures(Completion):
    """A category's nodes (:class:`Completion`: due, done, on time, judged) plus what the dashboard adds."""

    category_id: int | None = None
    nodes: int = 0  # every node of the year, due or not
    overdue: int = 0  # not submitted, past the effective deadline
    key_open: int = 0  # 重点督办 not yet signed off


def category_figures(filters: Filters, as_of: date) -> list[CategoryFigures]:
    """Per category, one ``GROUP BY``: nodes, due, signed off, on time, judged, overdue now, key supervision open.

    Due, done, on time and judged are :func:`~portal.rankings.services.completion_by_category`'s
    figures with the dashboard's filters applied; with none they are the same.
    """
    due = Node.deadline <= as_of
    stmt = _scope_nodes(
        select(
            Project.category_id,
            func.count(Node.id),
            count_where(due),
            count_where(and_(due, SIGNED_OFF)),
            count_where(and_(due, ON_TIME)),
            count_where(and_(due, JUDGED)),
            count_where(overdue_on(as_of)),
            count_where(and_(Node.is_key_supervision, Node.status != "done")),
        ).join(Node, Node.project_id == Project.id),
        filters,
    ).group_by(Project.category_id)
    rows = {cid: [int(v or 0) for v in values] for cid, *values in db.session.execute(stmt)}
    categories = select(Category.id, Category.name).order_by(Category.sort_order, Category.id)
    if filters.category_id is not None:
        categories = categories.where(Category.id == filters.category_id)
    result = []
    for cid, name in db.session.execute(categories):
        nodes, due_n, done, green, judged, overdue, key_open = rows.get(cid, (0, 0, 0, 0, 0, 0, 0))
        result.append(CategoryFigures(name, due_n, done, green, judged, cid, nodes, overdue, key_open))
    return result


def total_figures(rows: Iterable[CategoryFigures], name: str) -> CategoryFigures:
    """The sum of the category rows (rates are recomputed from the sums, not averaged)."""
    rows = list(rows)
    return CategoryFigures(
        name, sum(r.due for r in rows), sum(r.done for r in rows), sum(r.on_time for r in rows),
        sum(r.judged for r in rows), None, sum(r.nodes for r in rows), sum(r.overdue for r in rows), sum(r.key_open for r in rows),
    )


# --------------------------------------------------------------------------
# Cards this week and this month
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CardCounts:
    """Live (not withdrawn) card events effective in a period, by colour."""

    start: date
    end: date
    green: int = 0
    yellow: int = 0
    red: int = 0

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red


def card_counts(filters: Filters, as_of: date) -> dict[str, CardCounts]:
    """Cards effective this ISO week and this month (up to ``as_of``), by colour, in one query.

    The league filter applies to the unit the card was issued to.
    """
    periods = {kind: period_bounds(kind, as_of) for kind in ("week", "month")}
    periods = {kind: (start, min(end, as_of)) for kind, (start, end) in periods.items()}
    when = CardEvent.effective_date
    columns = [count_where(when.between(start, end)) for start, end in periods.values()]
    stmt = (
        select(CardEvent.colour, *columns)
        .join(Node, Node.id == CardEvent.node_id)
        .join(Project, Project.id == Node.project_id)
        .where(
            CardEvent.is_withdrawn.is_(False),
            when.between(min(s for s, _ in periods.values()), as_of),
        )
        .group_by(CardEvent.colour)
    )
    stmt = _scope_nodes(stmt, Filters(filters.year, filters.category_id, filters.theme_id))
    if filters.league_id is not None:
        stmt = stmt.where(CardEvent.unit_id.in_(league_units(filters.league_id)))
    counts: dict[str, dict[str, int]] = {kind: {} for kind in periods}
    for colour, *values in db.session.execute(stmt):
        for kind, value in zip(periods, values, strict=True):
            counts[kind][colour] = int(value or 0)
    return {kind: CardCounts(*periods[kind], **counts[kind]) for kind in periods}


# --------------------------------------------------------------------------
# Node lists: overdue now, key supervision
# --------------------------------------------------------------------------


def _node_list(filters: Filters, condition, limit: int) -> list[Node]:
    stmt = _scope_nodes(
        select(Node)
        .join(Project, Project.id == Node.project_id)
        .options(joinedload(Node.project), joinedload(Node.unit), joinedload(Node.responsible_user))
        .where(condition),
        filters,
    ).order_by(Node.effective_deadline, Node.id).limit(limit)
    return list(db.session.scalars(stmt).unique())


def overdue_nodes(filters: Filters, as_of: date, limit: int = 20) -> list[Node]:
    """The longest-overdue nodes first: not submitted and past their effective deadline."""
    return _node_list(filters, overdue_on(as_of), limit)


def key_supervision_nodes(filters: Filters, limit: int = 50) -> list[Node]:
    """重点督办: open (not yet signed off) nodes flagged for key supervision, earliest deadline first."""
    return _node_list(filters, and_(Node.is_key_supervision, Node.status != "done"), limit)


# -- problems (问题/堵点): raised and solved per month, overdue ones -------------------------


def problem_figures(year: int, as_of: date) -> dict:
    """The problems panel: (month, raised, solved) for the year and those open past the policy limit.

    The overdue list names project, unit and type only: a problem's own text
    stays on its page, for those who may read it.
    """
    from portal.problems import services as problems

    months = problems.per_month(year)
    return {"months": months, "raised": sum(m[1] for m in months), "solved": sum(m[2] for m in months),
            "most": max([1, *(max(m[1], m[2]) for m in months)]), "overdue": problems.overdue(as_of, limit=20)}
