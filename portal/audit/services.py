"""The audit log: one append-only entry for every state change."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.core.extensions import db
from portal.models import AuditEntry, User

SYSTEM_NAME = "系统"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict:
    """The named attributes of an object as JSON-ready values, for before/after."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def record(
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry to the session (the caller commits with its change).

    ``actor`` None means the system (a sweep, a scheduled job).
    """
    if obj is not None:
        object_type = object_type or obj.__tablename__
        if object_id is None:
            if obj in db.session.new:
                db.session.flush([obj])  # the new row needs its id
            object_id = getattr(obj, "id", None)
    now = None
    if has_app_context():
        from portal.core.clock import get_clock

        now = get_clock().now()
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=(actor.display_name or actor.username) if actor is not None else SYSTEM_NAME,
        action=action,
        object_type=object_type or "",
        object_id=object_id,
        summary=summary[:300],
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        ip=(request.remote_addr or "")[:45] if has_request_context() else "",
    )
    if now is not None:
        entry.at = now
    db.session.add(entry)
    return entry


def apply_changes(actor: User, obj: Any, data: dict, action: str) -> Any:
    """Set attributes from ``data`` and audit the before/after of exactly those fields."""
    creating = obj not in db.session and getattr(obj, "id", None) is None
    before = None if creating else snapshot(obj, list(data))
    for name, value in data.items():
        setattr(obj, name, value)
    if creating:
        db.session.add(obj)
    db.session.flush()
    after = snapshot(obj, list(data))
    if before is not None:
        changed = {k for k in data if before.get(k) != after.get(k)}
        if not changed:
            return obj
        before = {k: before[k] for k in changed}
        after = {k: after[k] for k in changed}
    record(actor, action, obj, summary=str(getattr(obj, "name", "") or getattr(obj, "username", "")), before=before, after=after)
    return obj


class AppendOnlyError(RuntimeError):
    pass


def _refuse_changes(session: Session, _flush_context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("audit entries are append-only")


def init_app(app) -> None:
    if not getattr(init_app, "_listening", False):
        event.listen(Session, "before_flush", _refuse_changes)
        init_app._listening = True
