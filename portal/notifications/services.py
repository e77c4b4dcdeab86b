"""The one place notifications are sent from.

Today they are in-app rows (the bell); an e-mail or messaging hook would be
added here and nowhere else. Each notice may carry a key: sending the same
key to the same person twice (a re-run sweep) is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

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
    return max(0, db.session.connection().execute(stmt, rows).rowcount)


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
