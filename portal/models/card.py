"""Card events (牌) and re-commitments (超期说明与重新承诺).

Scores and rankings are sums over card events, never stored totals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from portal.models.node import Node
    from portal.models.org import Unit
    from portal.models.user import User

COLOURS = ("green", "yellow", "red")
RECOMMIT_STATES = ("pending", "approved", "rejected")


class CardEvent(Base):
    __tablename__ = "card_event"
    __table_args__ = (
        one_of("colour", COLOURS, "colour_known"),
        # At most one live rule card of each colour per node: the database,
        # not luck, stops a second sweep (or two at once, or a double click)
        # from issuing it again. Manual cards are exempt; a withdrawn card no
        # longer blocks (a reopened node can earn its green again), so rules
        # that must never re-issue a colour also check for withdrawn rows.
        Index(
            "uq_card_event_rule_once",
            "node_id",
            "colour",
            unique=True,
            sqlite_where=text("is_manual = 0 AND is_withdrawn = 0"),
            postgresql_where=text("NOT is_manual AND NOT is_withdrawn"),
        ),
        # Covers what a ranking sums: the year's GROUP BY reads the index only.
        Index("ix_card_event_unit_scores", "unit_id", "effective_date", "is_withdrawn", "colour", "points"),
        Index("ix_card_event_effective", "effective_date"),
        # A node's cards of a colour: the sweep's "had this card" test, the node page, the cascade.
        Index("ix_card_event_node_colour", "node_id", "colour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id", ondelete="CASCADE"))
    # The unit at the time of issue: moving a node later does not move its cards.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    colour: Mapped[str] = mapped_column(String(8))
    points: Mapped[Decimal] = mapped_column(Numeric(6, 1))  # the policy's points × the node's weight
    effective_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    is_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # None: the system
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("scoring_policy.id"))
    is_withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    node: Mapped[Node] = relationship(back_populates="card_events")
    unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class Recommitment(Base):
    __tablename__ = "recommitment"
    __table_args__ = (
        one_of("state", RECOMMIT_STATES, "state_known"),
        # One pending request at a time per node.
        Index(
            "uq_recommitment_one_pending",
            "node_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    new_deadline: Mapped[date] = mapped_column(Date)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")

    node: Mapped[Node] = relationship(back_populates="recommitments")
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
