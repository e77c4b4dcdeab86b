"""Changes to the organisation: each one audited, none committed here."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.audit import services as audit
from portal.audit.services import (
    apply_changes as apply_changes,  # the views save plain records with it
)
from portal.auth.services import end_all_sessions
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.models import (
    CalendarDay,
    Category,
    CountySetting,
    League,
    Project,
    ScoringPolicy,
    Theme,
    Unit,
    User,
)
from portal.models.policy import GO_LIVE_KEY, go_live_on

MAX_LEAGUES = 10


def league_count() -> int:
    return db.session.scalar(select(func.count(League.id))) or 0


def check_league_room() -> None:
    if league_count() >= MAX_LEAGUES:
        raise Refused(422, _("There may be at most ten leagues."))


def usage(obj: Any) -> int:
    """How many rows refer to a league, category or theme."""
    if isinstance(obj, League):
        stmt = select(func.count(Unit.id)).where(Unit.league_id == obj.id)
    elif isinstance(obj, Category):
        stmt = select(func.count(Project.id)).where(Project.category_id == obj.id)
    elif isinstance(obj, Theme):
        stmt = select(func.count(Project.id)).where(Project.theme_id == obj.id)
    else:  # pragma: no cover - programming error
        raise TypeError(obj)
    return db.session.scalar(stmt) or 0


def delete_entry(actor: User, obj: Any) -> None:
    """Delete an unused league, category or theme; a used one must be kept."""
    if usage(obj):
        raise Refused(409, _("Records still use it, so it cannot be deleted; you may deactivate it instead."))
    audit.record(actor, f"{obj.__tablename__}.delete", obj, summary=obj.name, before=audit.snapshot(obj, ["name"]))
    db.session.delete(obj)


def save_user(actor: User, user: User, data: dict, roles: list[str], units_in_charge: list[Unit], password: str | None) -> User:
    creating = user.id is None
    before_roles = sorted(user.roles) if not creating else []
    before_units = sorted(u.id for u in user.units_in_charge) if not creating else []
    was_active = user.is_active_account if not creating else True
    if creating:
        user.set_password(password or "")
    audit.apply_changes(actor, user, data, "user.create" if creating else "user.update")
    user.roles = roles
    user.units_in_charge = units_in_charge
    db.session.flush()
    after_roles = sorted(user.roles)
    after_units = sorted(u.id for u in user.units_in_charge)
    if not creating and (before_roles != after_roles or before_units != after_units):
        audit.record(
            actor, "user.roles", user, summary=user.username,
            before={"roles": before_roles, "units_in_charge": before_units},
            after={"roles": after_roles, "units_in_charge": after_units},
        )
    if creating:
        audit.record(actor, "user.roles", user, summary=user.username, after={"roles": after_roles, "units_in_charge": after_units})
    if password and not creating:
        user.set_password(password)
        end_all_sessions(user)
        audit.record(actor, "user.password_reset", user, summary=user.username)
    if was_active and not user.is_active_account:
        end_all_sessions(user)
    return user


def save_policy(actor: User, data: dict, *, now) -> ScoringPolicy:
    """A policy from a date: a new row, or the replacement of one not yet in force."""
    row = db.session.scalar(select(ScoringPolicy).where(ScoringPolicy.effective_from == data["effective_from"]))
    before = audit.snapshot(row, list(data)) if row else None
    if row is None:
        row = ScoringPolicy(created_by_id=actor.id, created_at=now)
        db.session.add(row)
    for name, value in data.items():
        setattr(row, name, value if value is not None else "")
    db.session.flush()
    audit.record(actor, "policy.save", row, summary=f"from {row.effective_from.isoformat()}", before=before, after=audit.snapshot(row, list(data)))
    return row


def calendar_rows(year: int) -> list[CalendarDay]:
    from datetime import date

    return db.session.scalars(
        select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(CalendarDay.day)
    ).all()


def save_calendar_day(actor: User, day, is_workday: bool, name: str) -> CalendarDay:
    row = db.session.get(CalendarDay, day)
    before = audit.snapshot(row, ["is_workday", "name"]) if row else None
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.is_workday, row.name = is_workday, name
    db.session.flush()
    audit.record(actor, "calendar.save", object_type="calendar_day", summary=f"{day.isoformat()} {name}",
                 before=before, after={"day": day, "is_workday": is_workday, "name": name})
    return row


def delete_calendar_day(actor: User, row: CalendarDay) -> None:
    audit.record(actor, "calendar.delete", object_type="calendar_day", summary=f"{row.day.isoformat()} {row.name}",
                 before={"day": row.day, "is_workday": row.is_workday, "name": row.name})
    db.session.delete(row)


def set_go_live_on(actor: User | None, day, *, now):
    """Set (or, with None, clear) the county's go-live date (启用日期, rule 11); audited as ``setting.go_live``.

    ``actor`` None means the system (a ledger import run from the command line).
    Setting the date it already has changes and records nothing. Flushes, never commits.
    """
    before = go_live_on()
    if day == before:
        return day
    row = db.session.get(CountySetting, GO_LIVE_KEY)
    if row is None:
        row = CountySetting(key=GO_LIVE_KEY)
        db.session.add(row)
    row.value = day.isoformat() if day is not None else None
    row.updated_at = now
    row.updated_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit.record(actor, "setting.go_live", object_type="county_setting", summary=f"{GO_LIVE_KEY}={row.value or ''}",
                 before={GO_LIVE_KEY: before.isoformat() if before else None}, after={GO_LIVE_KEY: row.value})
    return day


def set_unit_robot(actor: User, unit: Unit, channel: str, url: str, secret: str) -> None:
    """The unit's own group chat robot (administrators). An empty secret keeps the one set before;
    the audit entry names the channel and host, never the webhook's token or the secret."""
    from urllib.parse import urlsplit

    secret = secret or (unit.robot_secret if channel == unit.robot_channel else "")
    if not channel:
        url, secret = "", ""
    before = {"channel": unit.robot_channel, "host": urlsplit(unit.robot_url).netloc, "secret": bool(unit.robot_secret)}
    after = {"channel": channel, "host": urlsplit(url).netloc, "secret": bool(secret)}
    changed = (channel, url, secret) != (unit.robot_channel, unit.robot_url, unit.robot_secret)
    unit.robot_channel, unit.robot_url, unit.robot_secret = channel, url, secret
    if changed:
        audit.record(actor, "unit.robot", unit, summary=unit.name, before=before, after=after)


# -- printed documents (GB/T 9704) --------------------------------------------

SEAL_MAX_BYTES = 2 * 1024 * 1024  # documents.layout refuses more


def set_document_layout(actor: User, office: str, cc: str, printer: str, seal: bytes | None, remove_seal: bool,
                        *, now) -> None:
    """The issuing organ, 抄送, 印发机关 and the seal image every printed document carries.

    A seal must be a PNG of a sensible size (``documents.layout.check_seal``:
    422 otherwise, nothing written). Audited as ``setting.documents`` and
    ``setting.seal``. Flushes, never commits.
    """
    from portal.documents import layout

    if seal:
        layout.check_seal(seal)  # before anything is written
    before, after = layout.save_texts(actor.id, office, cc, printer, now=now)
    if before != after:
        audit.record(actor, "setting.documents", object_type="county_setting", summary=after["office"] or layout.default_office(),
                     before=before, after=after)
    if seal:
        old, new = layout.save_seal(actor.id, seal, now=now)
        audit.record(actor, "setting.seal", object_type="county_setting", summary=f"印章图片 {new['width']}×{new['height']}",
                     before={"seal": (old or {}).get("sha256")}, after={"seal": new["sha256"]})
    elif remove_seal:
        old = layout.remove_seal(actor.id, now=now)
        if old:
            audit.record(actor, "setting.seal", object_type="county_setting", summary="不再打印印章图片",
                         before={"seal": old.get("sha256")}, after={"seal": None})


def document_settings() -> dict:
    from portal.documents import layout

    return layout.settings()


def seal_image() -> bytes | None:
    from portal.documents import layout

    path = layout.seal_path()
    return path.read_bytes() if path is not None else None

