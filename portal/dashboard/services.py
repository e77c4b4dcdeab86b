"""The command view (挂图作战): dashboard figures, project colours, the year timeline, cadre files.

Every figure comes from set-based queries (``GROUP BY``), so a page costs the
same handful of queries for ten projects or ten thousand. Nothing here reads
the wall clock or the logged-in user: callers pass the date (``as_of``) and
the filters.

Definitions used throughout:

- a node is **due** once its deadline (the original one, as the field reports
  count) is on or before ``as_of``; **completion rate** = signed off ÷ due and
  **on-time rate** = green ÷ signed off, exactly as
  :func:`portal.rankings.services.completion_by_category` computes them;
- a node is **overdue now** when it is not yet submitted (``todo`` or
  ``doing``) and its effective deadline (the re-committed one if approved) is
  before ``as_of`` — it is late from the day after its deadline (SPEC §3);
  a node waiting for sign-off is with the supervisors, not late;
- a node is **open** until it is signed off (``done``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from portal.core.extensions import db
from portal.core.periods import period_bounds
from portal.models import STAGES, CardEvent, Category, Node, Project, Theme, Unit, User
from portal.models.policy import policy_on
from portal.rankings.services import Completion, on_time_share

COLOURS = ("green", "yellow", "red")



def _overdue(as_of: date):
    """Not submitted and past the effective deadline (late from the day after it)."""
    return and_(Node.is_open, Node.effective_deadline < as_of)


def _count(condition) -> object:
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


def _league_units(league_id: int):
    return select(Unit.id).where(Unit.league_id == league_id).scalar_subquery()


def _scope_nodes(stmt, filters: Filters):
    """Narrow a query that joins Node and Project: the project's year, category and theme; the node's unit's league."""
    stmt = stmt.where(Project.year == filters.year)
    if filters.category_id is not None:
        stmt = stmt.where(Project.category_id == filters.category_id)
    if filters.theme_id is not None:
        stmt = stmt.where(Project.theme_id == filters.theme_id)
    if filters.league_id is not None:
        stmt = stmt.where(Node.unit_id.in_(_league_units(filters.league_id)))
    return stmt


def dashboard_as_of(year: int, today: date) -> date:
    """The date a year's dashboard is read at: today, or the last day of a past year."""
    return min(today, date(year, 12, 31))


# --------------------------------------------------------------------------
# Per category
# --------------------------------------------------------------------------


@dataclass
class CategoryFigures(Completion):
    """A category's nodes (:class:`Completion`: due, done, on time) plus what the dashboard adds."""

    category_id: int | None = None
    nodes: int = 0  # every node of the year, due or not
    overdue: int = 0  # not submitted, past the effective deadline
    key_open: int = 0  # 重点督办 not yet signed off


def category_figures(filters: Filters, as_of: date) -> list[CategoryFigures]:
    """Per category, one ``GROUP BY``: nodes, due, signed off, on time, overdue now, key supervision open.

    Due, done and on time are :func:`~portal.rankings.services.completion_by_category`'s
    figures with the dashboard's filters applied; with none they are the same.
    """
    due = Node.deadline <= as_of
    stmt = _scope_nodes(
        select(
            Project.category_id,
            func.count(Node.id),
            _count(due),
            _count(and_(due, Node.status == "done")),
            _count(and_(due, Node.card == "green")),
            _count(_overdue(as_of)),
            _count(and_(Node.is_key_supervision, Node.status != "done")),
        ).join(Node, Node.project_id == Project.id),
        filters,
    ).group_by(Project.category_id)
    rows = {cid: [int(v or 0) for v in values] for cid, *values in db.session.execute(stmt)}
    categories = select(Category.id, Category.name).order_by(Category.sort_order, Category.id)
    if filters.category_id is not None:
        categories = categories.where(Category.id == filters.category_id)
    result = []
    for cid, name in db.session.execute(categories):
        nodes, due_n, done, green, overdue, key_open = rows.get(cid, (0, 0, 0, 0, 0, 0))
        result.append(CategoryFigures(name, due_n, done, green, cid, nodes, overdue, key_open))
    return result


def total_figures(rows: Iterable[CategoryFigures], name: str) -> CategoryFigures:
    """The sum of the category rows (rates are recomputed from the sums, not averaged)."""
    rows = list(rows)
    return CategoryFigures(
        name, sum(r.due for r in rows), sum(r.done for r in rows), sum(r.on_time for r in rows), None,
        sum(r.nodes for r in rows), sum(r.overdue for r in rows), sum(r.key_open for r in rows),
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
    columns = [_count(when.between(start, end)) for start, end in periods.values()]
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
        stmt = stmt.where(CardEvent.unit_id.in_(_league_units(filters.league_id)))
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
    return _node_list(filters, _overdue(as_of), limit)


def key_supervision_nodes(filters: Filters, limit: int = 50) -> list[Node]:
    """重点督办: open (not yet signed off) nodes flagged for key supervision, earliest deadline first."""
    return _node_list(filters, and_(Node.is_key_supervision, Node.status != "done"), limit)


# --------------------------------------------------------------------------
# Project colours (SPEC rule 8)
# --------------------------------------------------------------------------


def project_colour(closed_weight_share: float, elapsed_share: float, yellow_lag: int, red_lag: int) -> str:
    """Red, yellow or green by how far a project's closed work lags its schedule (SPEC rule 8).

    Both shares are fractions from 0 to 1; the lags are percentage points.
    ``lag = elapsed % − closed-weight %``, where elapsed % is the share of the
    schedule already past and closed-weight % the share of the node weight
    signed off. ``lag ≥ red_lag`` → ``"red"``; ``lag ≥ yellow_lag`` →
    ``"yellow"``; otherwise (including a project ahead of schedule)
    ``"green"``. The lag is rounded to 1e-6 points so that 50 % − 40 % is
    exactly 10.
    """
    lag = round((elapsed_share - closed_weight_share) * 100, 6)
    if lag >= red_lag:
        return "red"
    if lag >= yellow_lag:
        return "yellow"
    return "green"


@dataclass(frozen=True)
class ProjectProgress:
    """Where a project stands on a date: its schedule, its closed weight and its colour."""

    project_id: int
    code: str
    name: str
    stage: str
    lead_unit: str
    total_weight: int
    closed_weight: int
    start: date | None  # the schedule: project dates, else the span of its node deadlines
    end: date | None
    elapsed_share: float | None
    investment_planned: Decimal
    investment_completed: Decimal
    colour: str | None  # None: not judged (no nodes, or no schedule)

    @property
    def closed_share(self) -> float | None:
        return self.closed_weight / self.total_weight if self.total_weight else None

    @property
    def lag(self) -> float | None:
        """Percentage points by which the closed weight trails the elapsed schedule."""
        if self.closed_share is None or self.elapsed_share is None:
            return None
        return (self.elapsed_share - self.closed_share) * 100

    @property
    def investment_share(self) -> float | None:
        """Investment completed ÷ planned this year; None when nothing is planned."""
        planned = self.investment_planned or 0
        return float(self.investment_completed or 0) / float(planned) if planned else None

    @property
    def stage_index(self) -> int:
        return STAGES.index(self.stage) if self.stage in STAGES else 0


def elapsed_share(start: date | None, end: date | None, as_of: date) -> float | None:
    """The share of the schedule [start, end] past on ``as_of``, clamped to 0…1 (None without dates)."""
    if start is None or end is None:
        return None
    if end <= start:
        return 1.0 if as_of >= end else 0.0
    return min(1.0, max(0.0, (as_of - start).days / (end - start).days))


def project_progress(
    as_of: date, filters: Filters | None = None, project_ids: Iterable[int] | None = None
) -> list[ProjectProgress]:
    """Every project's shares and colour on ``as_of``, in one ``GROUP BY`` (plus the policy).

    Closed weight is the sum of the weights of signed-off (``done``) nodes.
    The elapsed share runs from ``project.start_date`` to ``project.end_date``;
    a missing date falls back to the earliest / latest node deadline. The
    thresholds are the policy's ``project_yellow_lag`` / ``project_red_lag``
    in force on ``as_of``. With ``filters``, archived projects are left out and
    the league is the lead unit's.
    """
    policy = policy_on(as_of)
    stmt = (
        select(
            Project.id, Project.code, Project.name, Project.stage, Unit.name, Project.start_date, Project.end_date,
            Project.investment_planned, Project.investment_completed,
            func.coalesce(func.sum(Node.weight), 0),
            func.coalesce(func.sum(case((Node.status == "done", Node.weight), else_=0)), 0),
            func.min(Node.deadline), func.max(Node.deadline),
        )
        .join(Unit, Unit.id == Project.lead_unit_id)
        .outerjoin(Node, Node.project_id == Project.id)
        .group_by(
            Project.id, Project.code, Project.name, Project.stage, Unit.name, Project.start_date, Project.end_date,
            Project.investment_planned, Project.investment_completed,
        )
        .order_by(Project.code)
    )
    if filters is not None:
        stmt = stmt.where(Project.year == filters.year, Project.is_archived.is_(False))
        if filters.category_id is not None:
            stmt = stmt.where(Project.category_id == filters.category_id)
        if filters.theme_id is not None:
            stmt = stmt.where(Project.theme_id == filters.theme_id)
        if filters.league_id is not None:
            stmt = stmt.where(Project.lead_unit_id.in_(_league_units(filters.league_id)))
    if project_ids is not None:
        stmt = stmt.where(Project.id.in_(list(project_ids)))
    result = []
    for (pid, code, name, stage, unit, start, end, planned, completed, total, closed, first, last) in db.session.execute(stmt):
        start, end = start or first, end or last
        elapsed = elapsed_share(start, end, as_of)
        total, closed = int(total), int(closed)
        colour = None
        if total and elapsed is not None:
            colour = project_colour(closed / total, elapsed, policy.project_yellow_lag, policy.project_red_lag)
        result.append(ProjectProgress(pid, code, name, stage, unit, total, closed, start, end, elapsed,
                                      planned or Decimal(0), completed or Decimal(0), colour))
    return result


@dataclass
class ColourSummary:
    """Projects by colour, and the red and yellow ones, furthest behind first."""

    counts: dict[str, int] = field(default_factory=dict)
    behind: list[ProjectProgress] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return sum(self.counts.get(c, 0) for c in COLOURS)


def colour_summary(progress: Iterable[ProjectProgress]) -> ColourSummary:
    items = list(progress)
    counts = {c: 0 for c in (*COLOURS, None)}
    for p in items:
        counts[p.colour] += 1
    behind = sorted((p for p in items if p.colour in ("red", "yellow")), key=lambda p: (-(p.lag or 0), p.code))
    return ColourSummary(counts, behind)


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
    """The major nodes (``is_major``) of a year's projects, one band per active theme, in two queries.

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
        .where(Project.year == year, Node.is_major, Node.deadline.between(date(year, 1, 1), date(year, 12, 31)))
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
    effective in the year. Ordered by unit, then name.
    """
    node_stmt = (
        select(
            Node.responsible_user_id, func.count(Node.id), _count(Node.status == "done"),
            _count(_overdue(as_of)),
        )
        .join(Project, Project.id == Node.project_id)
        .where(Project.year == year, Node.responsible_user_id.is_not(None))
        .group_by(Node.responsible_user_id)
    )
    cards = _year_cards(year).subquery()
    card_stmt = select(
        cards.c.user_id, *(_count(cards.c.colour == c) for c in COLOURS)
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
