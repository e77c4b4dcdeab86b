"""Problems and bottlenecks (问题/堵点, SPEC §7): raised, escalated level by level, answered, resolved, confirmed.

A problem is raised on a project or one of its nodes by unit staff, a
project contact or a supervisor. It waits first for the coordination of the
unit's leader in charge (分管领导), then, escalated, of the project's 包保领导,
then of a meeting (周例会…)::

    level:  in_charge → lead_leader → meeting        (escalate, each step audited)
    state:  open → answered → resolved → closed      (closed: confirmed by whoever raised it)
            answered / resolved → open               (reopened, with the reason)

A problem still open (not closed) more than ``problem_limit_days`` working
days after it was raised is overdue: the dashboard lists it. Services take
the actor and the clock, flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, extract, func, or_, select
from sqlalchemy.orm import joinedload

from portal import permissions
from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.database import lock_row
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.workdays import WorkCalendar
from portal.models import (
    PROBLEM_LEVELS,
    AuditEntry,
    Node,
    Problem,
    ProblemType,
    Project,
    User,
    project_co_unit,
    project_contact,
)
from portal.models.policy import policy_on
from portal.notifications import services as notify

LEVEL_LABELS = {"in_charge": "分管领导协调", "lead_leader": "包保领导协调", "meeting": "提交会议研究"}
STATE_LABELS = {"open": "待协调", "answered": "已答复", "resolved": "已解决待确认", "closed": "已销号"}
URGENCY_LABELS = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
STEP_LABELS = {"escalate": "上报", "answer": "答复", "resolve": "标记已解决", "confirm": "确认解决", "reopen": "重新打开"}
ACTION_LABELS = {"problem.raise": "提出问题", "problem.escalate": "逐级上报", "problem.answer": "答复问题",
                 "problem.resolve": "标记已解决", "problem.confirm": "确认解决并销号", "problem.reopen": "重新打开问题",
                 "problem.meeting": "列入会议议题"}
FIELDS = ("level", "state", "answer", "answered_by_id", "resolved_on", "closed_on", "meeting_id")


def types(*, active_only: bool = True) -> list[ProblemType]:
    stmt = select(ProblemType).order_by(ProblemType.sort_order, ProblemType.id)
    if active_only:
        stmt = stmt.where(ProblemType.is_active)
    return db.session.scalars(stmt).all()


def _blocked_unit_id(actor: User, project: Project, node: Node | None) -> int:
    """The unit the problem blocks: a unit member's own unit when it works on the project, else the node's or the lead unit."""
    if actor.unit_id is not None and actor.has_role("unit_staff"):
        units = {project.lead_unit_id, *(u.id for u in project.co_units), *(n.unit_id for n in project.nodes)}
        if actor.unit_id in units:
            return actor.unit_id
    return node.unit_id if node is not None else project.lead_unit_id


def raise_problem(actor: User, project: Project, node: Node | None, type_id: int, title: str, need: str,
                  needed_from: str, urgency: str, *, clock: Clock) -> Problem:
    """提出问题: it goes first to the leaders in charge of the unit it blocks (and the supervisors' office is told)."""
    if not permissions.can_raise_problem_on(actor, project):
        raise Refused(403, "只能就本单位承担或联系的项目提出问题。")
    if node is not None and node.project_id != project.id:
        raise Refused(422, "所选节点不属于该项目。")
    kind = db.session.get(ProblemType, type_id)
    if kind is None or not kind.is_active:
        raise Refused(422, "请选择问题类型。")
    title, need = (title or "").strip(), (need or "").strip()
    if not title or not need:
        raise Refused(422, "请填写问题和需要解决的事项。")
    problem = Problem(project_id=project.id, node_id=node.id if node else None,
                      unit_id=_blocked_unit_id(actor, project, node), type_id=kind.id, title=title, need=need,
                      needed_from=(needed_from or "").strip(), urgency=urgency, level="in_charge", state="open",
                      raised_by_id=actor.id, raised_on=clock.today(), answer="")
    db.session.add(problem)
    db.session.flush()
    audit.record(actor, "problem.raise", problem, summary=f"{project.name}：{title}",
                 after={"project_id": project.id, "node_id": problem.node_id, "unit_id": problem.unit_id,
                        "type": kind.name, "urgency": urgency, "level": "in_charge", "state": "open"})
    _tell(problem, notify.leaders_in_charge([problem.unit_id])[problem.unit_id] + notify.supervisors(),
          f"{project.name}提出{kind.name}问题：{title}", clock, key=f"problem:{problem.id}:raised")
    return problem


def _tell(problem: Problem, recipients, title: str, clock: Clock, *, key: str, body: str = "") -> None:
    notify.send([r for r in recipients if r], "problem", title, body=body or problem.need,
                link=f"/problems/{problem.id}", key=key, now=clock.now())


def next_level(problem: Problem) -> str | None:
    """The level above: a project without a 包保领导 goes from the leader in charge straight to a meeting."""
    index = PROBLEM_LEVELS.index(problem.level)
    if index + 1 >= len(PROBLEM_LEVELS):
        return None
    up = PROBLEM_LEVELS[index + 1]
    if up == "lead_leader" and problem.project.lead_leader_id is None:
        up = "meeting"
    return up


def next_steps(actor: User, problem: Problem) -> list[str]:
    """The steps open to this actor now, in the order the page offers them."""
    steps = []
    holder = permissions.holds_problem(actor, problem)
    raiser = permissions.raised_problem(actor, problem)
    if problem.state in ("open", "answered") and holder and next_level(problem):
        steps.append("escalate")
    if problem.state in ("open", "answered") and holder:
        steps.append("answer")
    if problem.state in ("open", "answered") and (holder or raiser):
        steps.append("resolve")
    if problem.state in ("answered", "resolved") and raiser:
        steps.append("confirm")
    if problem.state in ("answered", "resolved") and raiser:
        steps.append("reopen")
    return steps


def act(actor: User, problem: Problem, step: str, text: str, *, clock: Clock) -> str:
    """One step on a problem (``next_steps`` says which are open); returns what the page says after it."""
    if step not in STEP_LABELS:
        raise Refused(422, "请选择要办理的事项。")
    lock_row(problem)  # two people acting at once: the second sees the first's change
    if step not in next_steps(actor, problem):
        if not (permissions.holds_problem(actor, problem) or permissions.raised_problem(actor, problem)):
            raise Refused(403, "只有问题所在层级的协调领导、督查室或提出人可以办理。")
        raise Refused(422, f"问题当前为“{STATE_LABELS[problem.state]}·{LEVEL_LABELS[problem.level]}”，不能{STEP_LABELS[step]}。")
    text = (text or "").strip()
    if step in ("answer", "reopen") and not text:
        raise Refused(422, "答复和重新打开需要写明内容或原因。")
    before = audit.snapshot(problem, FIELDS)
    today = clock.today()
    title = problem.project.name + "：" + problem.title
    if step == "escalate":
        problem.level = next_level(problem)
        if problem.level == "lead_leader":
            recipients = [problem.project.lead_leader_id]
        else:
            recipients = notify.supervisors()
        _tell(problem, recipients, f"问题上报{LEVEL_LABELS[problem.level]}：{title}", clock,
              key=f"problem:{problem.id}:up:{problem.level}", body=text or problem.need)
        done = f"问题已上报{LEVEL_LABELS[problem.level]}。"
    elif step == "answer":
        problem.state, problem.answer, problem.answered_by_id = "answered", text, actor.id
        _tell(problem, [problem.raised_by_id], f"问题已答复：{title}", clock,
              key=f"problem:{problem.id}:answer:{audit_count(problem)}", body=text)
        done = "答复已送达提出人。"
    elif step == "resolve":
        problem.state, problem.resolved_on = "resolved", today
        if text:
            problem.answer = text
            problem.answered_by_id = actor.id
        _tell(problem, [problem.raised_by_id], f"问题已解决，请确认：{title}", clock,
              key=f"problem:{problem.id}:resolved:{audit_count(problem)}")
        done = "问题已标记为解决，待提出人确认。"
    elif step == "confirm":
        problem.state, problem.closed_on = "closed", today
        problem.resolved_on = problem.resolved_on or today
        done = "问题已确认解决并销号。"
    else:  # reopen
        problem.state, problem.resolved_on = "open", None
        _tell(problem, notify.supervisors() + [problem.answered_by_id], f"问题被重新打开：{title}", clock,
              key=f"problem:{problem.id}:reopen:{audit_count(problem)}", body=text)
        done = "问题已重新打开。"
    db.session.flush()
    after = audit.snapshot(problem, FIELDS)
    if text:
        after["note"] = text
    audit.record(actor, f"problem.{step}", problem, summary=f"{title}" + (f"：{text}" if text else ""),
                 before=before, after=after)
    return done


def audit_count(problem: Problem) -> int:
    """How many steps the problem has had: a key part, so a second answer is a new notice."""
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "problem", AuditEntry.object_id == problem.id))


# -- time limits ----------------------------------------------------------------


def due_on(raised_on: date, limit_days: int, calendar: WorkCalendar) -> date:
    """The last day a problem may stay open: ``limit_days`` working days after the day it was raised."""
    return calendar.nth_workday(raised_on + timedelta(days=1), limit_days)


def overdue(today: date, limit: int = 50) -> list[tuple[Problem, date]]:
    """Problems still open past their limit (not closed), oldest first, with the day they were due."""
    days = policy_on(today).problem_limit_days
    candidates = db.session.scalars(
        select(Problem).where(Problem.state != "closed", Problem.raised_on < today)
        .options(joinedload(Problem.project), joinedload(Problem.unit), joinedload(Problem.type))
        .order_by(Problem.raised_on, Problem.id)
    ).all()
    if not candidates:
        return []
    calendar = WorkCalendar(candidates[0].raised_on, today + timedelta(days=400))
    found = [(p, due_on(p.raised_on, days, calendar)) for p in candidates]
    return [(p, d) for p, d in found if d < today][:limit]


def per_month(year: int) -> list[tuple[int, int, int]]:
    """(month, raised, solved) for a year: solved counts problems confirmed (closed) in the month."""
    raised = dict(db.session.execute(
        select(extract("month", Problem.raised_on), func.count()).where(extract("year", Problem.raised_on) == year)
        .group_by(extract("month", Problem.raised_on))).all())
    solved = dict(db.session.execute(
        select(extract("month", Problem.closed_on), func.count()).where(extract("year", Problem.closed_on) == year)
        .group_by(extract("month", Problem.closed_on))).all())
    return [(m, int(raised.get(m, 0)), int(solved.get(m, 0))) for m in range(1, 13)]


# -- lists ---------------------------------------------------------------------------


@dataclass
class Filters:
    state: str = ""
    level: str = ""
    type_id: int | None = None
    unit_id: int | None = None
    project_id: int | None = None
    mine: bool = False


def visible(actor: User, filters: Filters):
    """The problems this actor may read, filtered; newest first."""
    stmt = select(Problem)
    if not permissions.can_view_all_units(actor):
        mine = [Problem.raised_by_id == actor.id,
                Problem.project_id.in_(select(project_contact.c.project_id).where(project_contact.c.user_id == actor.id))]
        if actor.has_role("unit_staff") and actor.unit_id is not None:
            mine.append(Problem.unit_id == actor.unit_id)
        stmt = stmt.where(or_(*mine))
    if filters.state:
        stmt = stmt.where(Problem.state == filters.state)
    if filters.level:
        stmt = stmt.where(Problem.level == filters.level)
    if filters.type_id:
        stmt = stmt.where(Problem.type_id == filters.type_id)
    if filters.unit_id:
        stmt = stmt.where(Problem.unit_id == filters.unit_id)
    if filters.project_id:
        stmt = stmt.where(Problem.project_id == filters.project_id)
    if filters.mine:
        stmt = stmt.where(Problem.state != "closed")
        holder = [Problem.raised_by_id == actor.id]
        if actor.has_role("leader"):
            holder += [and_(Problem.level == "in_charge", Problem.unit_id.in_([u.id for u in actor.units_in_charge])),
                       and_(Problem.level == "lead_leader",
                            Problem.project_id.in_(select(Project.id).where(Project.lead_leader_id == actor.id)))]
        stmt = stmt.where(or_(*holder))
    return stmt.options(joinedload(Problem.project), joinedload(Problem.unit), joinedload(Problem.type),
                        joinedload(Problem.raised_by)).order_by(Problem.raised_on.desc(), Problem.id.desc())


def projects_for(actor: User) -> list[Project]:
    """The projects the actor may raise a problem on (key projects and matters), in one query."""
    stmt = select(Project).where(Project.is_archived.is_(False)).order_by(Project.year.desc(), Project.code)
    if not permissions.can_raise_problems(actor):
        return []
    if not actor.has_role("supervisor"):
        mine = [Project.id.in_(select(project_contact.c.project_id).where(project_contact.c.user_id == actor.id))]
        if actor.has_role("unit_staff") and actor.unit_id is not None:
            mine += [Project.lead_unit_id == actor.unit_id,
                     Project.id.in_(select(project_co_unit.c.project_id).where(project_co_unit.c.unit_id == actor.unit_id)),
                     Project.id.in_(select(Node.project_id).where(Node.unit_id == actor.unit_id))]
        stmt = stmt.where(or_(*mine))
    return db.session.scalars(stmt.limit(1000)).all()
