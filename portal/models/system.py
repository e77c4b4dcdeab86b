"""Cross-cutting records: audit log, scoring policy, calendar, notifications, jobs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, one_of, utcnow


class AuditEntry(Base):
    """Who did what to which object, before and after, when, from where.

    Append-only: the ORM refuses to update or delete one, and so does the
    database (triggers installed by the migration).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        Index("ix_audit_entry_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    actor_name: Mapped[str] = mapped_column(String(60))  # as it was at the time; "系统" for jobs
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str] = mapped_column(String(45), default="")


class ScoringPolicy(Base):
    """Every scoring setting, in force from ``effective_from`` until the next row.

    A change is a new row; past card events keep the points they were issued with.
    """

    __tablename__ = "scoring_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    # Points per weight, with one decimal place (−0.5 is a common yellow card).
    green_points: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal(1))
    yellow_points: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal(0))
    red_points: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal(-1))
    warn_days: Mapped[int] = mapped_column(Integer, default=3)
    recommit_grace_days: Mapped[int] = mapped_column(Integer, default=5)  # working days
    interview_yellow_threshold: Mapped[int] = mapped_column(Integer, default=3)
    recommit_max_days: Mapped[int] = mapped_column(Integer, default=60)
    # Project colour (rule 8): percentage points by which closed weight may lag
    # the elapsed share of the schedule before the project turns yellow / red.
    project_yellow_lag: Mapped[int] = mapped_column(Integer, default=10)
    project_red_lag: Mapped[int] = mapped_column(Integer, default=25)
    # The 13710 clocks (rule 12), in working days from the hand-out; a major matter's 办结 in months.
    receipt_days: Mapped[int] = mapped_column(Integer, default=1)
    feedback_days: Mapped[int] = mapped_column(Integer, default=3)
    resolve_days: Mapped[int] = mapped_column(Integer, default=7)
    major_resolve_months: Mapped[int] = mapped_column(Integer, default=1)
    # A problem still open this many working days after it was raised shows on the dashboard.
    problem_limit_days: Mapped[int] = mapped_column(Integer, default=7)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarDay(Base):
    """An exception to Monday–Friday: a statutory holiday or a make-up working day (调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(30), default="")


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    node_id: Mapped[int | None] = mapped_column(ForeignKey("node.id", ondelete="CASCADE"))
    # Sending the same notice twice (a re-run sweep) is a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The outbox: set when the delivery job has turned the notice into its
    # deliveries (e-mail, robots, SMS) by the recipient's preferences.
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


DELIVERY_CHANNELS = ("email", "wecom", "dingtalk", "sms")
# folded: waiting for (or sent in) its recipient's morning digest, the row ``digest_id`` names.
DELIVERY_STATES = ("pending", "sending", "sent", "failed", "folded")


class Delivery(Base):
    """One message to one person or group over one channel, with its status and attempts.

    ``key`` is unique per (event, recipient, channel): a notice fanned out
    twice, a sweep run twice or a job retried makes no second row, and a row
    is claimed (pending → sending) before it is sent, so none is sent twice.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        one_of("channel", DELIVERY_CHANNELS, "channel_known"),
        one_of("state", DELIVERY_STATES, "state_known"),
        Index("ix_delivery_due", "state", "not_before"),
        Index("ix_delivery_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)  # None: a group
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))  # a unit's own robot
    digest: Mapped[bool] = mapped_column(Boolean, default=False)  # to be folded into the morning digest
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(200), default="")  # e-mail, phone; for robots the phones to mention
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # quiet hours, back-off
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


JOB_STATES = ("queued", "running", "finished", "failed")


class JobRun(Base):
    """A background job as the portal shows it: a sweep, a PDF build, a report."""

    __tablename__ = "job_run"
    __table_args__ = (one_of("state", JOB_STATES, "state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    job_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CountySetting(Base):
    """A county-wide setting that is not part of the effective-dated scoring policy.

    ``go_live_on`` (启用日期, SPEC rule 11): no card is effective before it.
    """

    __tablename__ = "county_setting"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class LedgerMapping(Base):
    """A saved column mapping for ledgers laid out the same way: header name → field, and how to read the sheet."""

    __tablename__ = "ledger_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    mapping: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
