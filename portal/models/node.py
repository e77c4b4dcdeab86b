"""Nodes (节点): the unit of work, with their progress log and evidence."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from portal.models.card import CardEvent, Recommitment
    from portal.models.org import Unit
    from portal.models.project import Project
    from portal.models.user import User

# Kanban columns: 未启动 → 推进中 → 待销号 → 已销号
STATUSES = ("todo", "doing", "review", "done")
# Not yet submitted for sign-off: the nodes the card rules (2, 4) and the due-soon mark judge.
OPEN_STATUSES = ("todo", "doing")
# 牌: not yet judged, then green / yellow / red.
CARDS = ("none", "green", "yellow", "red")

# 配合单位: co-responsible units see the node on their boards, read-only; cards
# and points go to the responsible unit only.
node_co_unit = Table(
    "node_co_unit",
    Base.metadata,
    Column("node_id", Integer, ForeignKey("node.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", Integer, ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Node(Base):
    __tablename__ = "node"
    __table_args__ = (
        one_of("status", STATUSES, "status_known"),
        one_of("card", CARDS, "card_known"),
        # The sweep looks for open nodes by their effective deadline.
        Index("ix_node_status_deadline", "status", "deadline"),
        Index("ix_node_unit_status", "unit_id", "status"),
        # Only the nodes not submitted by their deadline: the sweep's
        # yellow-card candidates, a small part of a large county's nodes.
        Index(
            "ix_node_late_deadline",
            "deadline",
            sqlite_where=text("submitted_on IS NULL OR submitted_on > deadline"),
            postgresql_where=text("submitted_on IS NULL OR submitted_on > deadline"),
        ),
        # Only re-committed nodes: the red-card candidates after a commitment.
        Index(
            "ix_node_committed_deadline",
            "committed_deadline",
            sqlite_where=text("committed_deadline IS NOT NULL"),
            postgresql_where=text("committed_deadline IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The responsible person as the ledger names them, when they have no account.
    responsible_name: Mapped[str] = mapped_column(String(40), default="")
    deadline: Mapped[date] = mapped_column(Date)
    # Set when a leader approves a re-commitment (超期说明与重新承诺).
    committed_deadline: Mapped[date | None] = mapped_column(Date)
    standard: Mapped[str] = mapped_column(Text)  # 销号标准
    note: Mapped[str] = mapped_column(Text, default="")  # 备注, from the ledger
    weight: Mapped[int] = mapped_column(Integer, default=1)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)  # on the year timeline
    is_key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点督办
    # A matter's 13710 step (签收 receipt, 反馈 feedback, 办结 resolve); None for a project's node.
    matter_step: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(8), default="todo")
    card: Mapped[str] = mapped_column(String(8), default="none")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The county date of submitted_at: what lateness is judged on (rule 5),
    # kept as a date so the sweep can compare it with deadlines in SQL.
    submitted_on: Mapped[date | None] = mapped_column(Date)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submission_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The due-soon (预警) warning is sent once per node.
    warned_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: every UPDATE checks and bumps it, so a concurrent
    # change is detected instead of overwritten.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    project: Mapped[Project] = relationship(back_populates="nodes")
    unit: Mapped[Unit] = relationship()
    co_units: Mapped[list[Unit]] = relationship(secondary=node_co_unit, order_by="Unit.sort_order")
    responsible_user: Mapped[User | None] = relationship(foreign_keys=[responsible_user_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    progress_entries: Mapped[list[ProgressEntry]] = relationship(
        back_populates="node", order_by="ProgressEntry.created_at.desc()", cascade="all, delete-orphan", passive_deletes=True
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="node", order_by="Evidence.created_at", cascade="all, delete-orphan", passive_deletes=True
    )
    card_events: Mapped[list[CardEvent]] = relationship(
        back_populates="node", order_by="CardEvent.effective_date", cascade="all, delete-orphan", passive_deletes=True
    )
    recommitments: Mapped[list[Recommitment]] = relationship(
        back_populates="node", order_by="Recommitment.filed_at", cascade="all, delete-orphan", passive_deletes=True
    )

    @hybrid_property
    def effective_deadline(self) -> date:
        """The date the node is judged against: the re-committed one if approved (rule 3); in SQL too."""
        return self.committed_deadline or self.deadline

    @effective_deadline.inplace.expression
    @classmethod
    def _effective_deadline_sql(cls):
        return func.coalesce(cls.committed_deadline, cls.deadline)

    @hybrid_property
    def is_open(self) -> bool:
        """Not yet submitted for sign-off (未启动 or 推进中); in SQL too."""
        return self.status in OPEN_STATUSES

    @is_open.inplace.expression
    @classmethod
    def _is_open_sql(cls):
        return cls.status.in_(OPEN_STATUSES)

    def is_due_soon(self, today: date, warn_days: int) -> bool:
        """预警: open, effective deadline within ``warn_days`` from today."""
        return self.is_open and 0 <= (self.effective_deadline - today).days <= warn_days

    def days_overdue(self, today: date) -> int:
        """Days past the effective deadline of an open node (0 when submitted or not yet due)."""
        return max(0, (today - self.effective_deadline).days) if self.is_open else 0

    @property
    def responsible_label(self) -> str:
        """Who answers for the node: the account's name, or the name the ledger gave."""
        return self.responsible_user.display_name if self.responsible_user else self.responsible_name

    def __repr__(self) -> str:
        return f"<Node {self.id} {self.title}>"


class ProgressEntry(Base):
    """One line of the progress log (进展)."""

    __tablename__ = "progress_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    percent: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    node: Mapped[Node] = relationship(back_populates="progress_entries")
    author: Mapped[User | None] = relationship()


EVIDENCE_KINDS = ("document", "photo", "acceptance", "other")


class Evidence(Base):
    """A sign-off file (销号材料), stored under a random name outside static/."""

    __tablename__ = "evidence"
    __table_args__ = (one_of("kind", EVIDENCE_KINDS, "kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id", ondelete="CASCADE"), index=True)
    progress_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_entry.id", ondelete="SET NULL")
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(16), default="document")
    original_name: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    node: Mapped[Node] = relationship(back_populates="evidence")
    uploaded_by: Mapped[User | None] = relationship()
