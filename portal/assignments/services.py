"""Assignments (交办事项/督办件, SPEC §7 and rule 12): matters on the 13710 clocks.

An assignment is a matter — a ``Project`` of kind ``matter`` — whose three
nodes are its 13710 steps, each due a number of working days after the
hand-out (policy settings, rule 12)::

    签收 receipt   within ``receipt_days`` (1)   one click on the board card or the phone
    反馈 feedback  within ``feedback_days`` (3)  the unit's first report
    办结 resolve   within ``resolve_days`` (7); a major matter within ``major_resolve_months`` (1)
                   the ordinary sign-off: submitted with evidence, verified by a supervisor

Because they are nodes, the sweep gives them yellow and red cards, the
boards show them and rankings and cadre files count them — no second
scoring path. Signing and the first report close their node at once (the
click and the report are the evidence): on time they earn the green card of
rule 1 through ``boards.services.verify``. Services flush; the caller commits.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from portal import permissions
from portal.audit import services as audit
from portal.boards import services as boards
from portal.core.clock import Clock
from portal.core.database import lock_row
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.workdays import WorkCalendar
from portal.documents import services as documents
from portal.models import (
    ASSIGNMENT_SOURCES,
    Assignment,
    Category,
    Document,
    Meeting,
    Node,
    Problem,
    ProgressEntry,
    Project,
    ScoringPolicy,
    Unit,
    User,
)
from portal.models.policy import policy_on
from portal.notifications import services as notify

MATTER_CATEGORY = "督办事项"
SOURCE_LABELS = {"meeting": "会议议定事项", "instruction": "领导批示件", "inspection": "上级督导反馈问题", "problem": "问题/堵点"}
STEP_LABELS = {"receipt": "签收", "feedback": "反馈", "resolve": "办结"}
STANDARDS = {
    "receipt": "承办单位在时限内签收交办事项",
    "feedback": "承办单位在时限内反馈办理情况和下一步计划",
    "resolve": "事项办结，提交办结报告及佐证材料，经督查室核验",
}


def matter_category() -> Category:
    """The category matters are counted under on the dashboard (created once)."""
    category = db.session.scalar(select(Category).where(Category.name == MATTER_CATEGORY))
    if category is None:
        category = Category(name=MATTER_CATEGORY, sort_order=90, is_active=True)
        db.session.add(category)
        db.session.flush()
    return category


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def step_deadlines(handed_out_on: date, is_major: bool, policy: ScoringPolicy) -> dict[str, date]:
    """The 13710 deadlines: working days counted from the day after the hand-out (holidays and 调休 respected).

    A major matter's 办结 falls ``major_resolve_months`` later, moved to the next working day.
    """
    work = WorkCalendar(handed_out_on, handed_out_on + timedelta(days=400))
    start = handed_out_on + timedelta(days=1)
    deadlines = {
        "receipt": work.nth_workday(start, policy.receipt_days),
        "feedback": work.nth_workday(start, policy.feedback_days),
        "resolve": work.nth_workday(start, policy.resolve_days),
    }
    if is_major:
        deadlines["resolve"] = work.nth_workday(_add_months(handed_out_on, policy.major_resolve_months), 1)
    return deadlines


def _next_code(year: int) -> str:
    prefix = f"JB{year}-"
    last = db.session.scalar(select(func.max(Project.code)).where(Project.code.like(prefix + "%")))
    serial = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{serial:04d}"


def hand_out(actor: User, *, source: str, source_ref: str, title: str, text: str, proposal: str, lead_unit: Unit,
             co_units: list[Unit], is_major: bool, lead_leader: User | None = None, problem: Problem | None = None,
             meeting: Meeting | None = None, clock: Clock, check: bool = True) -> Assignment:
    """交办: the matter, its three step nodes, the 督办通知单 (numbered and archived), the units told."""
    if check and not (permissions.can_hand_out(actor) or (meeting is not None and permissions.can_record_meeting(actor, meeting))):
        raise Refused(403, "只有督查室可以交办事项。")
    if source not in ASSIGNMENT_SOURCES:
        raise Refused(422, "请选择交办来源。")
    title, text = (title or "").strip(), (text or "").strip()
    if not title or not text:
        raise Refused(422, "请填写交办事项的标题和内容。")
    if not lead_unit.is_active:
        raise Refused(422, "牵头单位已停用，不能交办。")
    co_units = [u for u in co_units if u.id != lead_unit.id]
    today = clock.today()
    policy = policy_on(today)
    deadlines = step_deadlines(today, is_major, policy)
    project = Project(code=_next_code(today.year), kind="matter", name=title[:100], category_id=matter_category().id,
                      year=today.year, lead_unit_id=lead_unit.id, lead_leader_id=lead_leader.id if lead_leader else None,
                      stage="building", start_date=today, end_date=deadlines["resolve"], description=text)
    project.co_units = list(co_units)
    db.session.add(project)
    db.session.flush()
    for step in ("receipt", "feedback", "resolve"):
        node = Node(project_id=project.id, title=f"{STEP_LABELS[step]}：{title}"[:120], unit_id=lead_unit.id,
                    deadline=deadlines[step], standard=STANDARDS[step], weight=1,
                    is_major=is_major and step == "resolve", is_key_supervision=is_major, matter_step=step)
        node.co_units = list(co_units)
        db.session.add(node)
    assignment = Assignment(project_id=project.id, source=source, source_ref=(source_ref or "").strip(),
                            problem_id=problem.id if problem else None, meeting_id=meeting.id if meeting else None,
                            text=text, proposal=(proposal or "").strip(), is_major=is_major, handed_out_on=today,
                            handed_out_by_id=actor.id, report="")
    db.session.add(assignment)
    db.session.flush()
    audit.record(actor, "assignment.hand_out", project, summary=f"{lead_unit.name}：{title}",
                 after={"source": source, "source_ref": assignment.source_ref, "lead_unit_id": lead_unit.id,
                        "co_units": [u.id for u in co_units], "is_major": is_major,
                        "problem_id": assignment.problem_id, "meeting_id": assignment.meeting_id,
                        **{f"{step}_deadline": day for step, day in deadlines.items()}})
    notice = documents.issue_document(
        actor, "assignment", f"关于{title[:60]}的督办通知单", "documents/assignment.html",
        {"assignment": assignment, "project": project, "deadlines": deadlines, "lead_unit": lead_unit,
         "co_units": co_units, "source_label": SOURCE_LABELS[source], "step_labels": STEP_LABELS},
        params={"assignment_id": project.id}, clock=clock)
    assignment.notice_document_id = notice.id
    staff = notify.unit_staff([lead_unit.id, *(u.id for u in co_units)])
    recipients = [uid for ids in staff.values() for uid in ids]
    notify.send(recipients, "assignment", f"交办事项：{title}",
                body=f"请于{deadlines['receipt'].isoformat()}前签收，{deadlines['feedback'].isoformat()}前反馈，"
                     f"{deadlines['resolve'].isoformat()}前办结。{notice.doc_number}",
                link=f"/assignments/{project.id}", key=f"assignment:{project.id}", now=clock.now())
    return assignment


def steps_of(assignment: Assignment) -> dict[str, Node]:
    return {n.matter_step: n for n in assignment.project.nodes if n.matter_step}


def _close_step(actor: User, node: Node, note: str, clock: Clock) -> None:
    """Submit and close a step node at once: the click (or the report) is its evidence; on time → green (rule 1)."""
    node.status = "review"
    node.submitted_at = clock.now()
    node.submitted_on = clock.local_date(node.submitted_at)
    node.submitted_by_id = actor.id
    node.submission_note = note
    audit.record(actor, "node.submit", node, summary=node.title, before={"status": "todo"},
                 after={"status": "review", "submitted_at": node.submitted_at})
    boards.verify(actor, node, clock=clock)


def sign(actor: User, assignment: Assignment, *, clock: Clock) -> Node:
    """签收: one click, by the lead unit's staff."""
    if not permissions.can_handle_assignment(actor, assignment):
        raise Refused(403, "只有牵头单位的经办人可以签收。")
    lock_row(assignment.project)
    node = steps_of(assignment)["receipt"]
    if not node.is_open:
        raise Refused(409, "该事项已经签收。")
    _close_step(actor, node, "签收", clock)
    audit.record(actor, "assignment.sign", assignment.project, summary=assignment.project.name,
                 after={"signed_on": node.submitted_on, "deadline": node.deadline, "on_time": node.submitted_on <= node.deadline})
    return node


def report(actor: User, assignment: Assignment, text: str, *, clock: Clock) -> Node:
    """反馈: the first report, written by the lead unit; it also logs progress on the step."""
    if not permissions.can_handle_assignment(actor, assignment):
        raise Refused(403, "只有牵头单位的经办人可以反馈。")
    text = (text or "").strip()
    if not text:
        raise Refused(422, "请写明办理情况。")
    lock_row(assignment.project)
    steps = steps_of(assignment)
    if steps["receipt"].is_open:
        raise Refused(422, "请先签收，再反馈办理情况。")
    node = steps["feedback"]
    if not node.is_open:
        raise Refused(409, "该事项已经反馈；后续进展请在办结节点填报。")
    db.session.add(ProgressEntry(node_id=node.id, author_id=actor.id, body=text, created_at=clock.now()))
    assignment.report = text
    _close_step(actor, node, text, clock)
    audit.record(actor, "assignment.report", assignment.project, summary=f"{assignment.project.name}：{text}",
                 after={"reported_on": node.submitted_on, "deadline": node.deadline, "report": text})
    notify.send(notify.supervisors(), "assignment", f"交办事项已反馈：{assignment.project.name}", body=text,
                link=f"/assignments/{assignment.project_id}", key=f"assignment:{assignment.project_id}:report",
                now=clock.now())
    return node


def notice_of(assignment: Assignment) -> Document:
    document = db.session.get(Document, assignment.notice_document_id) if assignment.notice_document_id else None
    if document is None or document.state != "published":
        raise Refused(404, "督办通知单尚未签发。")
    return document


# -- reading ------------------------------------------------------------------------


def step_state(node: Node, today: date) -> str:
    """How a step stands: done (on time or late), waiting for sign-off, open, or overdue."""
    if node.status == "done":
        return "done_late" if node.submitted_on and node.submitted_on > node.deadline else "done"
    if node.status == "review":
        return "review"
    return "late" if today > node.effective_deadline else "open"


@dataclass
class Rates:
    """One unit's 13710 figures over the assignments handed out in a period."""

    unit: Unit
    handed_out: int
    signed: int
    signed_on_time: int
    resolved: int
    resolved_on_time: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def receipt_rate(self) -> float | None:
        """及时签收率: signed by its deadline ÷ handed out."""
        return self._share(self.signed_on_time, self.handed_out)

    @property
    def completion_rate(self) -> float | None:
        """按期办结率: resolved (submitted) by its deadline ÷ handed out."""
        return self._share(self.resolved_on_time, self.handed_out)


def rates(start: date, end: date) -> list[Rates]:
    """Per lead unit, over the assignments handed out from ``start`` to ``end``: one GROUP BY."""
    on_time = Node.submitted_on.is_not(None) & (Node.submitted_on <= Node.deadline)
    rows = db.session.execute(
        select(Node.unit_id,
               func.sum(case((Node.matter_step == "receipt", 1), else_=0)),
               func.sum(case(((Node.matter_step == "receipt") & Node.submitted_on.is_not(None), 1), else_=0)),
               func.sum(case(((Node.matter_step == "receipt") & on_time, 1), else_=0)),
               func.sum(case(((Node.matter_step == "resolve") & (Node.status == "done"), 1), else_=0)),
               func.sum(case(((Node.matter_step == "resolve") & on_time, 1), else_=0)))
        .join(Assignment, Assignment.project_id == Node.project_id)
        .where(Assignment.handed_out_on.between(start, end), Node.matter_step.is_not(None))
        .group_by(Node.unit_id)
    ).all()
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_([r[0] for r in rows])))} if rows else {}
    found = [Rates(units[r[0]], *(int(v or 0) for v in r[1:])) for r in rows]
    return sorted(found, key=lambda r: (-(r.receipt_rate or 0), -(r.completion_rate or 0), r.unit.sort_order, r.unit.id))


def visible(actor: User, *, state: str = "", unit_id: int | None = None, source: str = ""):
    """The assignments this actor may read (a unit's staff: their unit's, as lead or co-unit), newest first."""
    from portal.models import project_co_unit

    stmt = select(Assignment).join(Project, Project.id == Assignment.project_id)
    if not permissions.can_view_all_units(actor):
        stmt = stmt.where((Project.lead_unit_id == actor.unit_id) | Project.id.in_(
            select(project_co_unit.c.project_id).where(project_co_unit.c.unit_id == actor.unit_id)))
    if unit_id:
        stmt = stmt.where(Project.lead_unit_id == unit_id)
    if source in ASSIGNMENT_SOURCES:
        stmt = stmt.where(Assignment.source == source)
    if state == "open":
        stmt = stmt.where(Project.id.in_(select(Node.project_id).where(Node.matter_step == "resolve", Node.status != "done")))
    elif state == "done":
        stmt = stmt.where(Project.id.in_(select(Node.project_id).where(Node.matter_step == "resolve", Node.status == "done")))
    return stmt.options(joinedload(Assignment.project).joinedload(Project.lead_unit),
                        joinedload(Assignment.project).selectinload(Project.nodes)).order_by(
        Assignment.handed_out_on.desc(), Assignment.project_id.desc())


def unit_choices() -> list[Unit]:
    return db.session.scalars(select(Unit).where(Unit.is_active).order_by(Unit.sort_order, Unit.id)).all()


def archived_pdf(document: Document) -> bytes:
    return documents.archived_bytes(document)


def step_deadlines_of(assignment: Assignment) -> dict[str, date]:
    """The deadlines of an assignment's steps as its nodes carry them."""
    return {step: node.deadline for step, node in steps_of(assignment).items()}
