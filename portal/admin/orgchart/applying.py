"""Applying a checked plan: every change audited, flushed in the caller's one transaction, never committed here.

New accounts get a random one-time password and must change it at their
first login. The passwords exist only in the returned result (for the sheet
printed in the same request or command); the database keeps their hashes and
the audit log never sees them.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from portal.admin.orgchart.checking import CREATE, UPDATE, LeaguePlan, Report, UnitPlan
from portal.audit import services as audit
from portal.auth.passwords import password_problem
from portal.core.clock import Clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.models import League, Unit, UnitAlias, User

# Readable: no 0/O/o, 1/l/I. 56 symbols, 10 of them: about 58 bits.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 10
# A random 58-bit secret good for one login needs no slow hash to resist guessing; scrypt at a
# sixteenth of Werkzeug's default cost hashes 200 accounts in about two seconds instead of thirty.
# The password each user chooses at first login is hashed at the full cost (User.set_password).
ONE_TIME_HASH = "scrypt:2048:8:1"


def one_time_password() -> str:
    """Random, and (like every password) within the one rule, auth/passwords: never, say, digits only."""
    while True:
        candidate = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if password_problem("", candidate) is None:
            return candidate


@dataclass(frozen=True)
class NewAccount:
    display_name: str
    unit_name: str
    username: str
    password: str  # in memory only: printed once
    title: str = ""


@dataclass
class ImportResult:
    leagues_created: int = 0
    leagues_updated: int = 0
    units_created: int = 0
    units_updated: int = 0
    users_created: int = 0
    users_updated: int = 0
    accounts: list[NewAccount] = field(default_factory=list)

    def line(self) -> str:
        return (f"users import leagues_created={self.leagues_created} units_created={self.units_created} "
                f"units_updated={self.units_updated} users_created={self.users_created} users_updated={self.users_updated}")

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ("leagues_created", "leagues_updated", "units_created",
                                                        "units_updated", "users_created", "users_updated")}


def _hashes(passwords: list[str]) -> list[str]:
    # hashlib's scrypt releases the GIL: a few threads share the work between the cores.
    if len(passwords) < 8:
        return [generate_password_hash(p, method=ONE_TIME_HASH) for p in passwords]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda p: generate_password_hash(p, method=ONE_TIME_HASH), passwords))


def create_accounts(actor: User | None, people: list[tuple[str, Unit]], *, clock: Clock) -> list[tuple[User, NewAccount]]:
    """Unit staff accounts for people a ledger names (display name, unit), each with a one-time password.

    Flushed and audited like the organisation chart's new accounts; the caller prints the passwords.
    """
    from sqlalchemy import select

    from portal.admin.orgchart.checking import username_for

    if not people:
        return []
    taken = {name.casefold() for name in db.session.scalars(select(User.username))}
    passwords = [one_time_password() for _ in people]
    out = []
    for (display_name, unit), password_hash, password in zip(people, _hashes(passwords), passwords, strict=True):
        user = User(password_hash=password_hash, created_at=clock.now())
        data = {"username": username_for(unit.name, display_name, taken), "display_name": display_name,
                "unit_id": unit.id, "title": "", "phone": "", "must_change_password": True}
        audit.apply_changes(actor, user, data, "user.create")
        user.roles = {"unit_staff"}
        db.session.flush()
        audit.record(actor, "user.roles", user, summary=user.username, after={"roles": ["unit_staff"], "units_in_charge": []})
        out.append((user, NewAccount(display_name, unit.name, user.username, password)))
    return out


def apply(actor: User | None, report: Report, *, clock: Clock) -> ImportResult:
    """Write a checked plan (``report.ok``); raises ``Refused`` (409) if a concurrent change got in the way."""
    if not report.ok:
        raise Refused(422, ngettext("The file has a problem; nothing was imported.",
                                     "The file has %(num)d problems; nothing was imported.", len(report.problems)))
    try:
        return _apply(actor, report, clock)
    except IntegrityError:
        raise Refused(409, _("Someone created or changed the same leagues, units or users during the import; nothing was "
                           "imported. Check the file again, then import it.")) from None


def _apply(actor: User | None, report: Report, clock: Clock) -> ImportResult:
    result = ImportResult()
    now = clock.now()
    leagues: dict[int, League] = {}
    for plan in report.leagues:
        if plan.action == CREATE:
            leagues[id(plan)] = audit.apply_changes(actor, League(), plan.data, "league.create")
            result.leagues_created += 1
        elif plan.action == UPDATE:
            audit.apply_changes(actor, plan.league, plan.data, "league.update")
            result.leagues_updated += 1

    def league_of(ref: Any) -> League:
        return leagues[id(ref)] if isinstance(ref, LeaguePlan) else ref

    units: dict[int, Unit] = {}
    for plan in report.units:
        if plan.action == CREATE:
            data = {**plan.data, "league_id": league_of(plan.league).id if plan.league is not None else None}
            unit = units[id(plan)] = audit.apply_changes(actor, Unit(is_active=True), data, "unit.create")
            result.units_created += 1
        elif plan.action == UPDATE:
            unit = plan.unit
            data = dict(plan.data)
            if plan.league is not None:
                data["league_id"] = league_of(plan.league).id
            audit.apply_changes(actor, unit, data, "unit.update")
            result.units_updated += 1
        else:
            continue
        if plan.aliases_added:
            before = [a.name for a in unit.aliases]
            for name in plan.aliases_added:
                unit.aliases.append(UnitAlias(name=name))
            db.session.flush()
            audit.record(actor, "unit.aliases", unit, summary=unit.name,
                         before={"aliases": before} if plan.action == UPDATE else None,
                         after={"aliases": [a.name for a in unit.aliases]})

    def unit_of(ref: Any) -> Unit:
        return units[id(ref)] if isinstance(ref, UnitPlan) else ref

    new = [plan for plan in report.users if plan.action == CREATE]
    passwords = [one_time_password() for _ in new]
    hashes = iter(_hashes(passwords))
    secret = iter(passwords)
    for plan in report.users:
        if plan.action == CREATE:
            user = User(password_hash=next(hashes), created_at=now)
            data = {**plan.data, "unit_id": unit_of(plan.unit).id if plan.unit is not None else None,
                    "must_change_password": True}
            audit.apply_changes(actor, user, data, "user.create")
            user.roles = plan.roles
            user.units_in_charge = [unit_of(t) for t in plan.in_charge_added]
            db.session.flush()
            audit.record(actor, "user.roles", user, summary=user.username,
                         after={"roles": sorted(user.roles), "units_in_charge": sorted(u.id for u in user.units_in_charge)})
            result.users_created += 1
            result.accounts.append(NewAccount(user.display_name, user.unit.name if user.unit else "", user.username,
                                              next(secret), user.title or ""))
        elif plan.action == UPDATE:
            user = plan.user
            data = dict(plan.data)
            if plan.unit is not None:
                data["unit_id"] = unit_of(plan.unit).id
            if data:
                audit.apply_changes(actor, user, data, "user.update")
            if plan.roles_added or plan.in_charge_added:
                before = {"roles": sorted(user.roles), "units_in_charge": sorted(u.id for u in user.units_in_charge)}
                user.roles = plan.roles
                user.units_in_charge = [*user.units_in_charge, *(unit_of(t) for t in plan.in_charge_added)]
                db.session.flush()
                audit.record(actor, "user.roles", user, summary=user.username, before=before,
                             after={"roles": sorted(user.roles), "units_in_charge": sorted(u.id for u in user.units_in_charge)})
            result.users_updated += 1
    if any(result.counts().values()):  # the same file again changes nothing, and says nothing
        audit.record(actor, "orgchart.import", object_type="orgchart",
                     summary="组织架构导入：" + "，".join(f"{k}={v}" for k, v in result.counts().items()),
                     after=result.counts())
    db.session.flush()
    return result
