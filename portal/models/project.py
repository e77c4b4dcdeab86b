"""Projects (项目/事项) with their categories, themes, units and contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from portal.models.node import Node
    from portal.models.org import Unit
    from portal.models.user import User

# 签约→开工→在建→竣工→投产→达效
STAGES = ("signed", "started", "building", "completed", "producing", "performing")
# A key project, or a matter (事项): an assignment whose nodes are its 13710 steps (portal.models.matter).
PROJECT_KINDS = ("project", "matter")

project_co_unit = Table(
    "project_co_unit",
    Base.metadata,
    Column("project_id", Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", Integer, ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)

project_contact = Table(
    "project_contact",
    Base.metadata,
    Column("project_id", Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class Category(Base):
    """产业项目, 城市建设, 乡村振兴, … — an editable list."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Theme(Base):
    """A band of the year timeline (时光轴): 产业创新, 城乡发展, 团队改革."""

    __tablename__ = "theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (one_of("stage", STAGES, "stage_known"), one_of("kind", PROJECT_KINDS, "kind_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="project")
    name: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    lead_leader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # 包保领导
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="signed")
    # Investment in 万元.
    investment_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    investment_planned: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    investment_completed: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Carried over (结转): the same project in the year before, whose open nodes moved here.
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship()
    theme: Mapped[Theme | None] = relationship()
    lead_leader: Mapped[User | None] = relationship(foreign_keys=[lead_leader_id])
    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])
    co_units: Mapped[list[Unit]] = relationship(secondary=project_co_unit, order_by="Unit.sort_order")
    contacts: Mapped[list[User]] = relationship(
        secondary=project_contact, back_populates="contact_projects"
    )
    nodes: Mapped[list[Node]] = relationship(
        back_populates="project", order_by="Node.deadline", cascade="all, delete-orphan", passive_deletes=True
    )
    carried_from: Mapped[Project | None] = relationship(
        remote_side=[id], foreign_keys=[carried_from_id], back_populates="carried_to"
    )
    carried_to: Mapped[Project | None] = relationship(back_populates="carried_from", foreign_keys=[carried_from_id])
    investment_reports: Mapped[list[InvestmentReport]] = relationship(
        back_populates="project", order_by="InvestmentReport.month", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Project {self.code} {self.name}>"


class InvestmentReport(Base):
    """A month's completed investment as the project's contact reports it (cumulative, 万元).

    One row per project and month; a second report of the same month replaces
    the figure (audited). The latest month's figure is the project's
    ``investment_completed``.
    """

    __tablename__ = "investment_report"
    __table_args__ = (UniqueConstraint("project_id", "month", name="uq_investment_report_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month reported
    completed: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # cumulative, 万元
    note: Mapped[str] = mapped_column(String(200), default="")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship(back_populates="investment_reports")
    reported_by: Mapped[User | None] = relationship()
