"""Interviews (约谈) and documents: notices, bulletins, rankings, ledgers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from portal.models.card import CardEvent
    from portal.models.org import Unit
    from portal.models.user import User

INTERVIEW_STATES = ("proposed", "scheduled", "held", "closed", "cancelled")
INTERVIEW_TRIGGERS = ("red", "yellow_threshold", "manual")

interview_card = Table(
    "interview_card",
    Base.metadata,
    Column("interview_id", Integer, ForeignKey("interview.id", ondelete="CASCADE"), primary_key=True),
    Column("card_event_id", Integer, ForeignKey("card_event.id", ondelete="CASCADE"), primary_key=True),
)


class Interview(Base):
    __tablename__ = "interview"
    __table_args__ = (
        one_of("state", INTERVIEW_STATES, "state_known"),
        one_of("trigger", INTERVIEW_TRIGGERS, "trigger_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    # What proposed it, e.g. "red:<card id>" or "yellow:<unit id>:2026-03";
    # unique so that a rule proposes each interview once.
    trigger_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="proposed")
    proposed_on: Mapped[date] = mapped_column(Date)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(100), default="")
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    interviewer_name: Mapped[str] = mapped_column(String(60), default="")
    bring: Mapped[str] = mapped_column(Text, default="")  # what the unit must bring
    minutes: Mapped[str] = mapped_column(Text, default="")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    interviewer: Mapped[User | None] = relationship(foreign_keys=[interviewer_id])
    cards: Mapped[list[CardEvent]] = relationship(secondary=interview_card)


# assignment: 督办通知单; minutes: 会议纪要 (portal.models.matter).
DOCUMENT_KINDS = ("notice", "bulletin", "ranking", "ledger", "assignment", "minutes")
DOCUMENT_STATES = ("draft", "building", "published", "failed")


class Document(Base):
    """A printable document; once published its PDF is kept unchanged."""

    __tablename__ = "document"
    __table_args__ = (
        one_of("kind", DOCUMENT_KINDS, "kind_known"),
        one_of("state", DOCUMENT_STATES, "state_known"),
        # 肥督约〔2026〕12号: numbered per kind and year.
        UniqueConstraint("kind", "year", "serial", name="uq_document_kind_year_serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(Integer)
    doc_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    period: Mapped[str] = mapped_column(String(10), default="")  # week / month / adhoc …
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")
    storage_key: Mapped[str | None] = mapped_column(String(80))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
