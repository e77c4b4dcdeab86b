"""Meetings (周例会、现场办公会、月度晒比会、专题会): the agenda from the data, minutes, decisions handed out on the spot.

The agenda is built, not typed: red and yellow cards since the last meeting of
the same kind, problems escalated to a meeting, assignments due within a week
or late, and the chair's own (包保) projects. Each decision recorded at the
meeting is handed out there and then as an assignment (``assignments.services.hand_out``)
with its unit and its 13710 clock; a problem it settles is answered with it.
The minutes (会议纪要) are numbered and archived like every document.
Services flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import permissions
from portal.assignments import services as assignments
from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.database import lock_row
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.documents import services as documents
from portal.models import (
    MEETING_KINDS,
    Assignment,
    CardEvent,
    Document,
    Meeting,
    Node,
    Problem,
    Project,
    Unit,
    User,
)

KIND_LABELS = {"weekly": "周例会", "onsite": "现场办公会", "review": "月度晒比会", "topic": "专题会"}
STATE_LABELS = {"planned": "待召开", "held": "已召开"}


def create(actor: User, *, kind: str, title: str, held_on: date, chair: User | None, place: str, attendees: str,
           clock: Clock) -> Meeting:
    if not permissions.can_run_meetings(actor):
        raise Refused(403, "只有督查室和县领导可以召集会议。")
    if kind not in MEETING_KINDS:
        raise Refused(422, "请选择会议类型。")
    if chair is not None and not chair.has_role("leader"):
        raise Refused(422, "主持人须为县领导账号。")
    meeting = Meeting(kind=kind, title=(title or "").strip() or f"{held_on.year}年{held_on.month}月{held_on.day}日{KIND_LABELS[kind]}",
                      held_on=held_on, chair_id=chair.id if chair else None,
                      chair_name=chair.display_name if chair else "", place=(place or "").strip(),
                      attendees=(attendees or "").strip(), minutes="", state="planned", created_by_id=actor.id,
                      created_at=clock.now())
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "meeting.create", meeting, summary=meeting.title,
                 after={"kind": kind, "held_on": held_on, "chair_id": meeting.chair_id, "place": meeting.place})
    return meeting


@dataclass
class Agenda:
    since: date
    cards: list[CardEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    due: list[Node] = field(default_factory=list)
    chair_projects: list[Project] = field(default_factory=list)


def agenda(meeting: Meeting) -> Agenda:
    """What the meeting should take up, from the data as it stands."""
    previous = db.session.scalar(select(Meeting.held_on).where(
        Meeting.kind == meeting.kind, Meeting.held_on < meeting.held_on).order_by(Meeting.held_on.desc()).limit(1))
    since = previous or meeting.held_on - timedelta(days=7)
    cards = db.session.scalars(
        select(CardEvent).where(CardEvent.colour.in_(("yellow", "red")), CardEvent.is_withdrawn.is_(False),
                                CardEvent.effective_date > since, CardEvent.effective_date <= meeting.held_on)
        .options(joinedload(CardEvent.node).joinedload(Node.project), joinedload(CardEvent.unit))
        .order_by(CardEvent.colour.desc(), CardEvent.effective_date, CardEvent.id).limit(100)
    ).all()
    # Once its minutes are issued a meeting's agenda is what it took up; before, what waits for a meeting.
    waiting = Problem.meeting_id == meeting.id
    if not meeting.minutes_document_id:
        waiting = waiting | ((Problem.state != "closed") & (Problem.level == "meeting") & Problem.meeting_id.is_(None))
    problems = db.session.scalars(
        select(Problem).where(waiting)
        .options(joinedload(Problem.project), joinedload(Problem.unit), joinedload(Problem.type))
        .order_by(Problem.raised_on, Problem.id)
    ).all()
    due = db.session.scalars(
        select(Node).join(Assignment, Assignment.project_id == Node.project_id)
        .where(Node.matter_step.is_not(None), Node.status.in_(("todo", "doing")),
               Node.deadline <= meeting.held_on + timedelta(days=7))
        .options(joinedload(Node.project), joinedload(Node.unit)).order_by(Node.deadline, Node.id).limit(100)
    ).all()
    chair_projects = db.session.scalars(
        select(Project).where(Project.lead_leader_id == meeting.chair_id, Project.kind == "project",
                              Project.is_archived.is_(False)).order_by(Project.code)
    ).all() if meeting.chair_id else []
    return Agenda(since, list(cards), list(problems), list(due), list(chair_projects))


def record_minutes(actor: User, meeting: Meeting, minutes: str, attendees: str, *, clock: Clock) -> None:
    if not permissions.can_record_meeting(actor, meeting):
        raise Refused(403, "只有督查室或会议主持人可以记录纪要。")
    if meeting.minutes_document_id:
        raise Refused(409, "会议纪要已印发，不能再修改。")
    before = audit.snapshot(meeting, ("minutes", "attendees", "state"))
    meeting.minutes, meeting.state = (minutes or "").strip(), "held"
    if attendees is not None and attendees.strip():
        meeting.attendees = attendees.strip()
    audit.record(actor, "meeting.minutes", meeting, summary=meeting.title, before=before,
                 after=audit.snapshot(meeting, ("minutes", "attendees", "state")))


def decide(actor: User, meeting: Meeting, *, title: str, text: str, proposal: str, lead_unit: Unit,
           co_units: list[Unit], is_major: bool, problem: Problem | None, clock: Clock) -> Assignment:
    """A decision of the meeting, handed out on the spot (当场交办) with its 13710 clock."""
    if not permissions.can_record_meeting(actor, meeting):
        raise Refused(403, "只有督查室或会议主持人可以交办会议议定事项。")
    lock_row(meeting)
    if problem is not None and problem.state == "closed":
        raise Refused(422, "该问题已销号。")
    assignment = assignments.hand_out(
        actor, source="meeting", source_ref=meeting.title, title=title, text=text, proposal=proposal,
        lead_unit=lead_unit, co_units=co_units, is_major=is_major, lead_leader=meeting.chair, problem=problem,
        meeting=meeting, clock=clock, check=False)
    meeting.state = "held"
    audit.record(actor, "meeting.decide", meeting, summary=f"{meeting.title}：{title}",
                 after={"assignment_id": assignment.project_id, "problem_id": problem.id if problem else None})
    if problem is not None:
        before = audit.snapshot(problem, ("meeting_id", "state", "answer"))
        problem.meeting_id = meeting.id
        problem.answer = f"{meeting.title}议定：{text}（已交办{lead_unit.name}）"
        problem.answered_by_id = actor.id
        if problem.state == "open":
            problem.state = "answered"
        audit.record(actor, "problem.meeting", problem, summary=f"{meeting.title}：{problem.title}", before=before,
                     after={**audit.snapshot(problem, ("meeting_id", "state", "answer")), "note": f"会议议定并交办{lead_unit.name}"})
    return assignment


def issue_minutes(actor: User, meeting: Meeting, *, clock: Clock) -> Document:
    """印发会议纪要: numbered and archived once; issuing again returns it."""
    if not permissions.can_record_meeting(actor, meeting):
        raise Refused(403, "只有督查室或会议主持人可以印发会议纪要。")
    lock_row(meeting)
    if meeting.minutes_document_id:
        return db.session.get(Document, meeting.minutes_document_id)
    if not meeting.minutes:
        raise Refused(422, "请先记录会议纪要。")
    decisions = db.session.scalars(select(Assignment).where(Assignment.meeting_id == meeting.id)
                                   .options(joinedload(Assignment.project).joinedload(Project.lead_unit))
                                   .order_by(Assignment.project_id)).all()
    document = documents.issue_document(
        actor, "minutes", f"{meeting.title}纪要", "documents/minutes.html",
        {"meeting": meeting, "kind_label": KIND_LABELS[meeting.kind], "decisions": decisions,
         "steps": assignments.step_deadlines_of},
        params={"meeting_id": meeting.id}, clock=clock)
    meeting.minutes_document_id = document.id
    meeting.state = "held"
    return document


def minutes_of(meeting: Meeting) -> Document:
    document = db.session.get(Document, meeting.minutes_document_id) if meeting.minutes_document_id else None
    if document is None:
        raise Refused(404, "会议纪要尚未印发。")
    return document


def archived_pdf(document: Document) -> bytes:
    return documents.archived_bytes(document)


def chairs() -> list[User]:
    from portal.models import UserRole

    return db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id).where(
        UserRole.role == "leader", User.is_active_account).order_by(User.display_name, User.id)).all()


def units() -> list[Unit]:
    return assignments.unit_choices()
