"""The meeting loop (SPEC §7): problems (问题/堵点), assignments (交办事项) and meetings.

An assignment is a matter: a Project of kind ``matter`` whose nodes are its
13710 steps (``Node.matter_step``), so every card rule, board, ranking and
cadre file applies to it unchanged. This module holds only what a project
does not: where the matter came from and how it was handed out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from portal.models.meeting import Document
    from portal.models.node import Node
    from portal.models.org import Unit
    from portal.models.project import Project
    from portal.models.user import User

# 一般 / 紧急 / 特急
URGENCIES = ("normal", "urgent", "critical")
# Who holds the problem now: the unit's leader in charge (分管领导), the project's 包保领导, a meeting.
PROBLEM_LEVELS = ("in_charge", "lead_leader", "meeting")
# open → answered → resolved → closed (confirmed by whoever raised it); answered/resolved → open (reopened).
PROBLEM_STATES = ("open", "answered", "resolved", "closed")


class ProblemType(Base):
    """土地、资金、规划、手续、征迁、要素保障、其他 — an editable list (seeded by migration 0006j)."""

    __tablename__ = "problem_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Problem(Base):
    """A problem or bottleneck raised on a project or one of its nodes."""

    __tablename__ = "problem"
    __table_args__ = (
        one_of("urgency", URGENCIES, "urgency_known"),
        one_of("level", PROBLEM_LEVELS, "level_known"),
        one_of("state", PROBLEM_STATES, "state_known"),
        Index("ix_problem_state_raised", "state", "raised_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int | None] = mapped_column(ForeignKey("node.id", ondelete="SET NULL"), index=True)
    # The unit the problem blocks: the raiser's own unit, else the node's or the project's lead unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("problem_type.id"))
    title: Mapped[str] = mapped_column(String(100))
    need: Mapped[str] = mapped_column(Text)  # what is needed
    needed_from: Mapped[str] = mapped_column(String(100), default="")  # from whom (a department, a leader)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    level: Mapped[str] = mapped_column(String(12), default="in_charge")
    state: Mapped[str] = mapped_column(String(10), default="open")
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    raised_on: Mapped[date] = mapped_column(Date)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # The meeting it was escalated to (put on that meeting's agenda).
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[Project] = relationship()
    node: Mapped[Node | None] = relationship()
    unit: Mapped[Unit] = relationship()
    type: Mapped[ProblemType] = relationship()
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    meeting: Mapped[Meeting | None] = relationship(back_populates="problems")


# 会议议定事项, 领导批示件, 上级督导反馈问题, 问题/堵点
ASSIGNMENT_SOURCES = ("meeting", "instruction", "inspection", "problem")
# The 13710 steps, in order: 签收, 反馈, 办结.
MATTER_STEPS = ("receipt", "feedback", "resolve")


class Assignment(Base):
    """交办事项 / 督办件: the matter (``project``) plus its source and hand-out."""

    __tablename__ = "assignment"
    __table_args__ = (one_of("source", ASSIGNMENT_SOURCES, "source_known"),)

    # An assignment is its matter: one row per project of kind "matter", keyed by it.
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(12))
    source_ref: Mapped[str] = mapped_column(String(200), default="")  # 批示件文号, 督导组, …
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problem.id", ondelete="SET NULL"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)  # 交办内容
    proposal: Mapped[str] = mapped_column(Text, default="")  # 拟办意见
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    handed_out_on: Mapped[date] = mapped_column(Date, index=True)
    handed_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    notice_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    report: Mapped[str] = mapped_column(Text, default="")  # the unit's first report (反馈)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[Project] = relationship()
    problem: Mapped[Problem | None] = relationship()
    meeting: Mapped[Meeting | None] = relationship(back_populates="assignments")
    handed_out_by: Mapped[User | None] = relationship()
    notice: Mapped[Document | None] = relationship()


# 周例会、现场办公会、月度晒比会、专题会
MEETING_KINDS = ("weekly", "onsite", "review", "topic")
MEETING_STATES = ("planned", "held")


class Meeting(Base):
    __tablename__ = "meeting"
    __table_args__ = (
        one_of("kind", MEETING_KINDS, "kind_known"),
        one_of("state", MEETING_STATES, "state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(100))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    chair_name: Mapped[str] = mapped_column(String(60), default="")
    place: Mapped[str] = mapped_column(String(100), default="")
    attendees: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="planned")
    minutes_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chair: Mapped[User | None] = relationship(foreign_keys=[chair_id])
    problems: Mapped[list[Problem]] = relationship(back_populates="meeting", order_by="Problem.id")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="meeting", order_by="Assignment.project_id")
