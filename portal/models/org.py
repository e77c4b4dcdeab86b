"""Leagues (联赛) and units (单位)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base

if TYPE_CHECKING:
    from portal.models.user import User


class League(Base):
    """A group of like units ranked against each other ("十大联赛")."""

    __tablename__ = "league"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    units: Mapped[list[Unit]] = relationship(back_populates="league", order_by="Unit.sort_order")

    def __repr__(self) -> str:
        return f"<League {self.name}>"


class Unit(Base):
    """A responsible unit: a township, a park, a department."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), default="")
    league_id: Mapped[int | None] = mapped_column(ForeignKey("league.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # The unit's own group chat robot (set by administrators): reminders for its
    # people go there instead of the county's group. "" : none.
    robot_channel: Mapped[str] = mapped_column(String(10), default="")  # wecom | dingtalk
    robot_url: Mapped[str] = mapped_column(String(500), default="")
    robot_secret: Mapped[str] = mapped_column(String(200), default="")

    league: Mapped[League | None] = relationship(back_populates="units")
    members: Mapped[list[User]] = relationship(back_populates="unit", foreign_keys="User.unit_id")
    aliases: Mapped[list[UnitAlias]] = relationship(
        back_populates="unit", order_by="UnitAlias.name", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def label(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"


class UnitAlias(Base):
    """Another name a unit is written under in ledgers (县发展改革委 for 县发展和改革委员会, an older name)."""

    __tablename__ = "unit_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    unit: Mapped[Unit] = relationship(back_populates="aliases")

    def __repr__(self) -> str:
        return f"<UnitAlias {self.name} → {self.unit_id}>"
