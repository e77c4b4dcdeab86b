"""The one place notifications are sent from.

Today they are in-app rows (the bell); an e-mail or messaging hook would be
added here and nowhere else. Each notice may carry a key: sending the same
key to the same person twice (a re-run sweep) is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from portal.database import insert_ignoring_duplicates
from portal.extensions import db
from portal.models import Notification, User, UserRole, leader_unit


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
    rows = [
        {
            "user_id": user_id,
            "kind": kind,
            "title": title[:200],
            "body": body,
            "link": link,
            "node_id": node_id,
            "dedupe_key": f"{key}:{user_id}" if key else None,
            "created_at": now,
        }
        for user_id in sorted({r for r in recipients if r is not None})
    ]
    if not rows:
        return 0
    stmt = insert_ignoring_duplicates(Notification).on_conflict_do_nothing().returning(Notification.id)
    return len(db.session.execute(stmt, rows).all())


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
