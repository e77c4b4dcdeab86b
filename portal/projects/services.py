"""Setting up projects and nodes (节点设立). Each change audited; the view commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.audit import services as audit
from portal.core.database import lock_row
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.dashboard.progress import ProjectProgress, project_progress
from portal.models import CardEvent, InvestmentReport, Node, Project, Unit, User

PROJECT_FIELDS = (
    "code", "name", "category_id", "theme_id", "year", "lead_leader_id", "lead_unit_id", "stage",
    "investment_total", "investment_planned", "investment_completed", "start_date", "end_date",
    "description", "is_archived",
)
NODE_FIELDS = (
    "title", "unit_id", "responsible_user_id", "deadline", "standard", "weight", "is_major",
    "is_key_supervision",
)


class StaleError(Exception):
    """The record changed since the form was loaded."""


def save_project(actor: User, project: Project, data: dict, co_units: list[Unit], contacts: list[User]) -> Project:
    creating = project.id is None
    before_links = None if creating else _links(project)
    audit.apply_changes(actor, project, data, "project.create" if creating else "project.update")
    project.co_units = co_units
    project.contacts = contacts
    db.session.flush()
    after_links = _links(project)
    if before_links != after_links:
        audit.record(actor, "project.links", project, summary=project.name, before=before_links, after=after_links)
    return project


def _links(project: Project) -> dict:
    return {
        "co_units": sorted(u.id for u in project.co_units),
        "contacts": sorted(u.id for u in project.contacts),
    }


def card_count(node_ids) -> int:
    if not node_ids:
        return 0
    return db.session.scalar(select(func.count(CardEvent.id)).where(CardEvent.node_id.in_(node_ids))) or 0


def delete_project(actor: User, project: Project) -> None:
    """Only a project without cards may go: cards are the county's record."""
    if card_count([n.id for n in project.nodes]):
        raise Refused(409, _("Cards have been issued on this project's nodes, so it cannot be deleted; you may archive it."))
    audit.record(
        actor, "project.delete", project, summary=project.name,
        before={**audit.snapshot(project, ["code", "name", "year"]), "nodes": len(project.nodes)},
    )
    db.session.delete(project)


def project_span(year: int, start: date | None, end: date | None) -> tuple[date, date]:
    """The dates a project's nodes may be due on: its year, widened to its start and end dates (cross-year plans).

    A project of 2026 running 2026-12 → 2027-12 may have nodes due in 2027;
    without dates outside its year, only its year. The node form and the
    ledger import both ask this.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    if isinstance(start, date) and start < first:
        first = start
    if isinstance(end, date) and end > last:
        last = end
    return first, last


def deadline_window(project: Project) -> tuple[date, date]:
    """:func:`project_span` of a saved project."""
    return project_span(project.year, project.start_date, project.end_date)


def deadline_problem(project: Project, deadline: date) -> str | None:
    """Why ``deadline`` cannot be a deadline of ``project`` (outside :func:`deadline_window`), or None."""
    first, last = deadline_window(project)
    if first <= deadline <= last:
        return None
    if (first, last) == (date(project.year, 1, 1), date(project.year, 12, 31)):
        return _("The deadline must fall within the project's year (%(year)d).", year=project.year)
    return _("The deadline must fall between %(first)s and %(last)s (the project's year and its start and end dates).",
             first=first.isoformat(), last=last.isoformat())


def responsible_problem(person: User | None, unit_id: int | None, co_unit_ids=()) -> str | None:
    """Why ``person`` cannot answer for a node of ``unit_id``: they must belong to it or to one of the node's co-units."""
    if person is None or unit_id is None or person.unit_id == unit_id or person.unit_id in set(co_unit_ids):
        return None
    unit = db.session.get(Unit, unit_id)
    return _("%(person)s belongs to %(theirs)s, not to the responsible unit %(unit)s or one of the node's co-units.",
             person=person.display_name, theirs=person.unit.name if person.unit else _("no unit"),
             unit=unit.name if unit else "")


def save_node(actor: User, node: Node, data: dict, expected_version: int | None = None,
              co_units: list[Unit] | None = None) -> Node:
    """Create or update a node; an update must name the version it was based on.

    ``co_units`` (when given) are the node's 联动单位: it shows, read-only, on
    their boards. The responsible person belongs to the responsible unit or
    to one of them.
    """
    if node.id is not None and expected_version is not None and node.version != expected_version:
        raise StaleError()
    co_units = [u for u in (node.co_units if co_units is None else co_units) if u.id != data.get("unit_id", node.unit_id)]
    person_id = data.get("responsible_user_id", node.responsible_user_id)
    problem = responsible_problem(db.session.get(User, person_id) if person_id else None,
                                  data.get("unit_id", node.unit_id), [u.id for u in co_units])
    if problem:
        raise Refused(422, problem)
    creating = node.id is None
    before = None if creating else sorted(u.id for u in node.co_units)
    audit.apply_changes(actor, node, data, "node.create" if creating else "node.update")
    node.co_units = co_units
    db.session.flush()
    after = sorted(u.id for u in node.co_units)
    if before is not None and before != after:
        audit.record(actor, "node.links", node, summary=node.title, before={"co_units": before}, after={"co_units": after})
    elif creating and after:
        audit.record(actor, "node.links", node, summary=node.title, before={"co_units": []}, after={"co_units": after})
    return node


def delete_node(actor: User, node: Node) -> None:
    if card_count([node.id]):
        raise Refused(409, _("Cards have been issued on this node, so it cannot be deleted."))
    if node.status == "done":
        raise Refused(409, _("A signed-off node cannot be deleted."))
    audit.record(actor, "node.delete", node, summary=node.title, before=audit.snapshot(node, list(NODE_FIELDS)))
    db.session.delete(node)


def progress_of(project: Project, as_of: date) -> ProjectProgress:
    """Where one project stands on ``as_of``: schedule, closed weight, colour (rule 8, as the dashboard computes it)."""
    return project_progress(as_of, project_ids=[project.id])[0]


# --------------------------------------------------------------------------
# Completed investment, reported monthly (the contact's 月报)
# --------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def reportable_months(project: Project, today: date) -> list[date]:
    """The months a project's completed investment may be reported for: its year, up to this month (latest first)."""
    last = min(month_start(today), date(project.year, 12, 1))
    return [date(project.year, m, 1) for m in range(last.month, 0, -1)] if last.year == project.year else []


def report_investment(actor: User, project: Project, month: date, completed, note: str, today: date) -> InvestmentReport:
    """Record the year's completed investment (cumulative, 万元) up to the end of ``month``.

    A second report of a month replaces its figure (audited as a correction).
    The figures never go down from one month to the next: a month cannot be
    below an earlier month or above a later one. The latest month's figure
    becomes the project's ``investment_completed``. The project row is locked
    first, so two contacts reporting at once are applied one after the other.
    """
    lock_row(project)
    month = month_start(month)
    if month not in reportable_months(project, today):
        raise Refused(422, _("Completed investment can be reported for the months of %(year)d up to this month.",
                             year=project.year))
    reports = {r.month: r for r in project.investment_reports}
    earlier = [r for m, r in reports.items() if m < month]
    later = [r for m, r in reports.items() if m > month]
    floor = max(earlier, key=lambda r: r.month) if earlier else None
    ceiling = min(later, key=lambda r: r.month) if later else None
    if floor is not None and completed < floor.completed:
        raise Refused(422, _("The year's completed investment cannot fall: %(month)s already reports %(amount)s (10k yuan).",
                             month=f"{floor.month.year}年{floor.month.month}月", amount=money_text(floor.completed)))
    if ceiling is not None and completed > ceiling.completed:
        raise Refused(422, _("The year's completed investment cannot be above a later month's: %(month)s reports %(amount)s (10k yuan); correct that month first.",
                             month=f"{ceiling.month.year}年{ceiling.month.month}月", amount=money_text(ceiling.completed)))
    report = reports.get(month)
    label = f"{project.name} {month.year}年{month.month}月"
    if report is None:
        report = InvestmentReport(project=project, month=month, completed=completed, note=note, reported_by=actor)
        db.session.add(report)
        db.session.flush()
        audit.record(actor, "investment.report", project, summary=label,
                     after={"month": month.isoformat(), "completed": completed, "note": note})
    else:
        before = {"completed": report.completed, "note": report.note}
        if before == {"completed": completed, "note": note}:
            return report
        report.completed, report.note, report.reported_by = completed, note, actor
        db.session.flush()
        audit.record(actor, "investment.correct", project, summary=label, before=before,
                     after={"completed": completed, "note": note})
    latest = max([*reports.values(), report], key=lambda r: r.month)
    project.investment_completed = latest.completed
    db.session.flush()
    return report


def money_text(value) -> str:
    return f"{value:,.2f}"


@dataclass(frozen=True)
class InvestmentMonth:
    month: date
    completed: Decimal | None  # cumulative in the year, as reported; None: not reported
    added: Decimal | None  # since the previous report
    report: InvestmentReport | None


@dataclass(frozen=True)
class InvestmentHistory:
    planned: Decimal
    months: list[InvestmentMonth]  # January to December of the project's year
    scale: Decimal  # the chart's top: the plan or the largest figure, whichever is higher

    @property
    def reports(self) -> list[InvestmentMonth]:
        return [m for m in reversed(self.months) if m.report is not None]


def investment_history(project: Project) -> InvestmentHistory:
    """The year's monthly reports, month by month, for the project page's table and chart."""
    reports = {r.month: r for r in project.investment_reports}
    months, previous = [], Decimal(0)
    for m in range(1, 13):
        report = reports.get(date(project.year, m, 1))
        completed = report.completed if report else None
        months.append(InvestmentMonth(date(project.year, m, 1), completed,
                                      None if completed is None else completed - previous, report))
        previous = completed if completed is not None else previous
    planned = Decimal(project.investment_planned or 0)
    top = max([planned, *(r.completed for r in reports.values())], default=Decimal(0))
    return InvestmentHistory(planned, months, top or Decimal(1))


# --------------------------------------------------------------------------
# Carrying a project into next year (结转)
# --------------------------------------------------------------------------

CARRY_FROM_MONTH = 10  # next year's plan is drawn up from the fourth quarter


def carry_problem(project: Project, today: date) -> str | None:
    """Why ``project`` cannot be carried into next year on ``today``, or None."""
    if project.carried_to is not None:
        return _("This project has already been carried into %(year)d as %(code)s.",
                 year=project.carried_to.year, code=project.carried_to.code)
    if today < date(project.year, CARRY_FROM_MONTH, 1):
        return _("A project of %(year)d can be carried into next year from %(day)s.",
                 year=project.year, day=date(project.year, CARRY_FROM_MONTH, 1).isoformat())
    return None


def carried_code(project: Project) -> str:
    """The next year's code: the year in the code moved on (2026-CY-001 → 2027-CY-001), else the code and the year."""
    year, following = str(project.year), str(project.year + 1)
    code = project.code.replace(year, following, 1) if year in project.code else f"{project.code}-{following}"
    return code[:30]


def carry_over(actor: User | None, project: Project, code: str, end_date: date | None, today: date) -> Project:
    """The same project in the next year, taking this year's open nodes with it (结转).

    The open nodes (未启动 and 推进中) move, with their cards, progress,
    evidence and re-commitments; signed-off nodes and those waiting for
    sign-off stay with this year's project, which keeps its figures and
    history. The new project starts where this one started (so an overdue
    node keeps a deadline inside its span), its investment plan for the year
    is to be set, and its completed investment starts the year at zero.
    """
    lock_row(project)
    problem = carry_problem(project, today)
    if problem:
        raise Refused(409, problem)
    following = project.year + 1
    if end_date is not None and end_date < date(following, 1, 1):
        raise Refused(422, _("The end date must fall in %(year)d or later.", year=following))
    if db.session.scalar(select(func.count(Project.id)).where(Project.code == code)):
        raise Refused(422, _("This project code is already in use."))
    co_units, contacts = list(project.co_units), list(project.contacts)
    carried = Project(
        code=code, name=project.name, category_id=project.category_id, theme_id=project.theme_id, year=following,
        lead_leader_id=project.lead_leader_id, lead_unit_id=project.lead_unit_id, stage=project.stage,
        investment_total=project.investment_total, investment_planned=Decimal(0), investment_completed=Decimal(0),
        start_date=project.start_date or date(project.year, 1, 1),
        end_date=end_date or max(project.end_date or date.min, date(following, 12, 31)),
        description=project.description,
    )
    db.session.add(carried)
    carried.carried_from, carried.co_units, carried.contacts = project, co_units, contacts
    db.session.flush()
    moving = [n for n in project.nodes if n.is_open]
    for node in moving:
        node.project = carried
    db.session.flush()
    audit.record(actor, "project.carry", carried, summary=f"{project.name}：{project.year} → {following}",
                 before={"project_id": project.id, "code": project.code, "year": project.year},
                 after={"project_id": carried.id, "code": carried.code, "year": following,
                        "nodes": [n.id for n in moving]})
    return carried
