"""Project colours (SPEC rule 8): each project's schedule, closed node weight and colour on a date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from portal.core.extensions import db
from portal.dashboard.services import COLOURS, Filters, league_units
from portal.models import STAGES, Node, Project, Unit
from portal.models.policy import policy_on

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

    Closed weight is the sum of the weights of signed-off (``done``) nodes,
    those closed before go-live included (rule 8 measures work done, not cards).
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
            stmt = stmt.where(Project.lead_unit_id.in_(league_units(filters.league_id)))
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
