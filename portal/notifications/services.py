"""The one place notifications are sent from.

A notice is an in-app row (the bell) written in the caller's transaction;
it is also the outbox of the reminders that leave the portal (e-mail,
robots, SMS: portal/notifications/delivery.py). When a transaction that
wrote notices commits, the delivery job is queued; the scheduler runs it
every minute too. Each notice may carry a key: sending the same key to the
same person twice (a re-run sweep) is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from flask import has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.core.database import insert_ignoring_duplicates
from portal.core.extensions import db
from portal.models import Notification, User, UserRole, leader_unit


@dataclass
class Notice:
    """One notice to a group of people; ``key`` makes sending it again a no-op."""

    recipients: Iterable[int | None]
    kind: str
    title: str
    body: str = ""
    link: str = ""
    node_id: int | None = None
    key: str | None = None


def send(
    recipients: Iterable[int | None],
    kind: str,
    title: str,
    *,
    now: datetime,
    body: str = "",
    link: str = "",
    node_id: int | None = None,
    key: str | None = None,
) -> int:
    """Notify each recipient once; returns how many notices were new."""
    return send_all([Notice(recipients, kind, title, body, link, node_id, key)], now=now)


def send_all(notices: Iterable[Notice], *, now: datetime) -> int:
    """Send many notices in one batched INSERT (a sweep sends tens of thousands)."""
    rows = [
        {
            "user_id": user_id,
            "kind": notice.kind,
            "title": notice.title[:200],
            "body": notice.body,
            "link": notice.link,
            "node_id": notice.node_id,
            "dedupe_key": f"{notice.key}:{user_id}" if notice.key else None,
            "created_at": now,
        }
        for notice in notices
        for user_id in sorted({r for r in notice.recipients if r is not None})
    ]
    if not rows:
        return 0
    # A plain executemany on the session's connection: no RETURNING and no
    # ORM bulk machinery, which cost more than the inserts themselves.
    stmt = insert_ignoring_duplicates(Notification.__table__).on_conflict_do_nothing()
    written = max(0, db.session.connection().execute(stmt, rows).rowcount)
    outbox_written()  # (PostgreSQL's executemany may not report its row count)
    return written


_OUTBOX = "jiedian.outbox"


def outbox_written(session: Session | None = None) -> None:
    """Say that notices were written in this transaction: its commit queues the delivery job
    (when the portal has a channel: asked now, since nothing may be read after the commit)."""
    session = session or db.session
    if _OUTBOX not in session.info and has_app_context():
        from portal.notifications.delivery import available

        session.info[_OUTBOX] = bool(available())


def _after_commit(session: Session) -> None:
    if not session.info.pop(_OUTBOX, False) or not has_app_context():
        return  # no notice written, or nothing leaves this portal: the bell is all
    from jobs.queue import QueueUnavailable, enqueue

    # One waiting job is enough; the scheduler's minute catches what a running one missed,
    # and what waits while Redis is down.
    with suppress(QueueUnavailable):
        enqueue("portal.notifications.tasks.deliver", job_id="deliver-now", timeout=300, retries=0,
                description="deliver reminders")


def _after_rollback(session: Session) -> None:
    session.info.pop(_OUTBOX, None)


def init_app(app) -> None:
    if not getattr(init_app, "_listening", False):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda session, _previous: _after_rollback(session))
        init_app._listening = True


def unit_staff(unit_ids: Iterable[int]) -> dict[int, list[int]]:
    """Active unit staff by unit, in one query."""
    ids = set(unit_ids)
    found: dict[int, list[int]] = {uid: [] for uid in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(User.unit_id, User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "unit_staff", User.unit_id.in_(ids), User.is_active_account)
    )
    for unit_id, user_id in rows:
        found[unit_id].append(user_id)
    return found


def leaders_in_charge(unit_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = set(unit_ids)
    found: dict[int, list[int]] = {uid: [] for uid in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(leader_unit.c.unit_id, leader_unit.c.user_id)
        .join(User, User.id == leader_unit.c.user_id)
        .where(leader_unit.c.unit_id.in_(ids), User.is_active_account)
    )
    for unit_id, user_id in rows:
        found[unit_id].append(user_id)
    return found


def supervisors() -> list[int]:
    return list(
        db.session.scalars(
            select(User.id).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == "supervisor", User.is_active_account)
        )
    )


# -- where a person is reminded ---------------------------------------------------


def save_preferences(actor: User, email: str, phone: str, channels: list[str], available, *, digest: bool = False,
                     quiet: str | None = None) -> None:
    """The signed-in user's own addresses and channels (audited; the caller commits).

    Channels this portal does not have are kept as chosen, so a channel an
    operator adds later does not silently reach someone who declined the others.
    """
    from portal.audit import services as audit
    from portal.notifications.channels import CHANNELS, mobile_number

    chosen = [c for c in CHANNELS if c in channels or (c not in available and c in (actor.notify_channels or CHANNELS))]
    audit.apply_changes(actor, actor, {"email": email, "phone": mobile_number(phone) or phone, "notify_channels": chosen,
                                       "notify_digest": digest, "notify_quiet": quiet}, "user.preferences")
