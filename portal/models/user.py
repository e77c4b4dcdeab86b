"""Accounts, roles, sessions and login attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models.base import Base, UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from portal.models.org import Unit
    from portal.models.project import Project

ROLES = ("admin", "supervisor", "leader", "unit_staff", "contact")

# A leader's units in charge (分管): they decide those units' re-commitments.
leader_unit = Table(
    "leader_unit",
    Base.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", Integer, ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class UserRole(Base):
    __tablename__ = "user_role"
    __table_args__ = (one_of("role", ROLES, "role_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class User(UserMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(40), default="")  # 职务
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    # Reminders: the channels chosen (None: every channel the user can be reached on),
    # at once or folded into the morning digest, and SMS quiet hours (None: the county's).
    notify_channels: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    notify_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_quiet: Mapped[str | None] = mapped_column(String(11))  # "22:00-07:00"; "": none
    is_active_account: Mapped[bool] = mapped_column("is_active", Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Set on accounts made with a one-time password (the organisation import, a reset):
    # the next login leads to the password form before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit | None] = relationship(back_populates="members", foreign_keys=[unit_id])
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan")
    units_in_charge: Mapped[list[Unit]] = relationship(secondary=leader_unit, order_by="Unit.sort_order")
    contact_projects: Mapped[list[Project]] = relationship(
        secondary="project_contact", back_populates="contacts"
    )

    # -- roles -------------------------------------------------------------
    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    @roles.setter
    def roles(self, wanted) -> None:
        wanted = set(wanted)
        unknown = wanted - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        self.role_rows = [r for r in self.role_rows if r.role in wanted] + [
            UserRole(role=r) for r in sorted(wanted - self.roles)
        ]

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    # -- passwords ---------------------------------------------------------
    @staticmethod
    def hash_password(password: str) -> str:
        """The hash of a chosen password: scrypt at werkzeug's full cost."""
        return generate_password_hash(password, method="scrypt")

    def set_password(self, password: str) -> None:
        self.password_hash = self.hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.is_active_account)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserSession(Base):
    """A server-side login session: logout and idleness really end it."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginAttempt(Base):
    """Every login attempt; failures in a window limit further attempts.

    Kept in the database, not Redis, so the limit holds while Redis is down
    and across every web process.
    """

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(45), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_success: Mapped[bool] = mapped_column(Boolean, default=False)
