"""Checking the read sheets against each other and the database: a plan of every change, or the problems.

The database is read once (leagues, units with their aliases, users with
their roles and units in charge); nothing is written here. Matching: leagues
by name, units by name or alias, users by username, else by name and unit.
A blank cell leaves an existing value as it is; aliases, roles and units in
charge are only ever added, so nothing is deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Union

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.admin.orgchart.columns import (
    FIELD_LABELS,
    LEAGUES,
    MAX_LEAGUES,
    ROLE_LABELS,
    ROLE_NAMES,
    SHEETS,
    UNITS,
    USERS,
    Sheet,
)
from portal.admin.orgchart.reading import (
    REPORTED,
    Bad,
    Problem,
    Read,
    Row,
    cell_text,
    fold,
    key,
    shown,
)
from portal.core.extensions import db
from portal.core.forms import has_markup
from portal.models import ROLES, League, Unit, User

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


class _Elsewhere(Exception):
    """A reference to a row that has a problem of its own (reported there): not reported again."""
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
PHONE_RE = re.compile(r"^1\d{10}$")
SPLIT_RE = re.compile(r"[、,;/\n]+")  # after NFKC: 、 , ， ; ； / and line breaks
CJK_NAME_RE = re.compile(r"^[\u3400-\u9fff\u00b7\s]+$")


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class LeaguePlan:
    row: int
    name: str
    action: str
    league: League | None  # the existing league
    data: dict
    changes: list[Change] = field(default_factory=list)


@dataclass
class UnitPlan:
    row: int
    name: str
    action: str
    unit: Unit | None  # the existing unit
    data: dict
    league: Any = None  # League | LeaguePlan | None (None: leave as it is)
    aliases_added: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


UnitRef = Union[Unit, UnitPlan]  # noqa: UP007 - a runtime alias


@dataclass
class UserPlan:
    row: int
    display_name: str
    username: str
    generated: bool
    action: str
    user: User | None  # the existing user
    data: dict
    unit: Any = None  # Unit | UnitPlan | None (None: no unit, or leave as it is)
    unit_name: str = ""
    roles: list[str] = field(default_factory=list)  # every role after the import
    roles_added: list[str] = field(default_factory=list)
    in_charge_added: list[Any] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


@dataclass
class Report:
    """What the file would do, sheet by sheet, and every problem (any problem: the file changes nothing)."""

    leagues: list[LeaguePlan]
    units: list[UnitPlan]
    users: list[UserPlan]
    problems: list[Problem]
    sheets_found: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def items(self, sheet: str) -> list:
        return {"leagues": self.leagues, "units": self.units, "users": self.users}[sheet]

    def counts(self, sheet: str) -> dict[str, int]:
        out = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
        for item in self.items(sheet):
            out[item.action] += 1
        return out

    @property
    def new_accounts(self) -> int:
        return self.counts("users")[CREATE]

    @property
    def fingerprint(self) -> str:
        """A digest of the plan: the commit refuses a file whose plan changed since the dry run (409)."""
        plan = [[sheet, [[i.row, i.action, getattr(i, "username", ""), [[c.field, c.before, c.after] for c in i.changes]]
                         for i in self.items(sheet)]] for sheet in ("leagues", "units", "users")]
        return hashlib.sha256(json.dumps(plan, ensure_ascii=False).encode()).hexdigest()[:32]


# -- the database, read once ------------------------------------------------------


class Existing:
    def __init__(self):
        self.leagues = {key(x.name): x for x in db.session.scalars(select(League))}
        units = db.session.scalars(select(Unit).options(selectinload(Unit.aliases))).all()
        self.unit_names = {key(u.name): u for u in units}
        self.unit_aliases = {key(a.name): u for u in units for a in u.aliases}
        self.unit_shorts: dict[str, list[Unit]] = defaultdict(list)
        for u in units:
            if u.short_name:
                self.unit_shorts[key(u.short_name)].append(u)
        users = db.session.scalars(select(User).options(
            selectinload(User.role_rows), selectinload(User.units_in_charge))).all()
        self.usernames = {u.username.casefold(): u for u in users}
        self.by_name_unit: dict[tuple[str, int | None], list[User]] = defaultdict(list)
        for u in users:
            self.by_name_unit[(key(u.display_name), u.unit_id)].append(u)


# -- one row's cells ----------------------------------------------------------------


class _Cells:
    """Read one row's cells as text, reporting each problem with its sheet, row, column and value."""

    def __init__(self, sheet: Sheet, title: str, row: Row, problems: list[Problem]):
        self.sheet, self.title, self.row, self.problems = sheet, title, row, problems
        self.failed = False

    def problem(self, column: str, message: str, value: Any = None) -> None:
        raw = self.row.values.get(column) if value is None else value
        self.problems.append(Problem(message, self.title, self.row.number, self.sheet.column(column).header,
                                     self.row.cells.get(column), shown(raw)))
        self.failed = True

    def raw(self, column: str) -> Any:
        return self.row.values.get(column)

    def text(self, column: str, *, name: bool = False) -> str | None:
        """The cell's text ('' when blank), or None when it has a problem (reported)."""
        spec = self.sheet.column(column)
        raw = self.raw(column)
        if raw is REPORTED:
            self.failed = True
            return None
        try:
            text = cell_text(raw)
        except Bad as error:
            self.problem(column, str(error))
            return None
        if not text:
            if spec.required:
                self.problem(column, _("Required; must not be empty."))
                return None
            return ""
        if has_markup(text):
            self.problem(column, _("Must not contain HTML tags or scripts."))
            return None
        if "\n" in text:
            text = re.sub(r"\s*\n\s*", " ", text)
        if name and CJK_NAME_RE.match(text):
            text = re.sub(r"\s+", "", text)  # 张  三 as some sheets align two-character names
        if spec.max_len and len(text) > spec.max_len:
            self.problem(column, _("At most %(max)d characters (this has %(n)d).", max=spec.max_len, n=len(text)))
            return None
        return text

    def items(self, column: str) -> list[str] | None:
        """A cell listing several names (别名, 角色, 分管单位), each checked for length and markup."""
        spec = self.sheet.column(column)
        raw = self.raw(column)
        if raw is REPORTED:
            self.failed = True
            return None
        try:
            text = cell_text(raw)
        except Bad as error:
            self.problem(column, str(error))
            return None
        if has_markup(text):
            self.problem(column, _("Must not contain HTML tags or scripts."))
            return None
        parts = [p.strip() for p in SPLIT_RE.split(unicodedata.normalize("NFKC", text))]
        if spec.required and not any(parts):
            self.problem(column, _("Required; must not be empty."))
            return None
        out = []
        for part in parts:
            if not part:
                continue
            if spec.max_len and len(part) > spec.max_len:
                self.problem(column, _("“%(part)s…” is longer than %(max)d characters.", part=part[:20], max=spec.max_len))
                return None
            if key(part) not in {key(x) for x in out}:
                out.append(part)
        return out


def _changes(obj: Any, data: dict) -> list[Change]:
    return [Change(FIELD_LABELS[k], str(getattr(obj, k) or ""), str(v)) for k, v in data.items()
            if (getattr(obj, k) or "") != v]


def _key_of(raw: Any) -> str:
    """The matching key of a raw cell, whatever its problem ('' when it cannot be read)."""
    return key(raw) if isinstance(raw, str) else ""


def _name_of(ref: Any) -> str:
    if ref is None:
        return ""
    return ref.name


# -- the sheets ---------------------------------------------------------------------


def check(read: Read) -> Report:
    problems = list(read.problems)
    titles = {s.key: s.title for s in SHEETS}
    existing = Existing()
    broken: set[str] = set()  # league names of rows with problems
    leagues = _check_leagues(read.rows.get("leagues", []), titles["leagues"], existing, problems, broken)
    units, index = _check_units(read.rows.get("units", []), titles["units"], existing, leagues, problems, broken)
    users = _check_users(read.rows.get("users", []), titles["users"], existing, index, problems)
    if not (leagues or units or users) and not problems:
        problems.append(Problem(_("Nothing to import: fill in the “联赛”, “单位” and “用户” sheets (the import template can be downloaded).")))
    return Report(list(leagues.values()), units, users, problems, [s.title for s in SHEETS if s.key in read.rows])


def _check_leagues(rows: list[Row], title: str, existing: Existing, problems: list[Problem],
                   broken: set[str]) -> dict[str, LeaguePlan]:
    plans: dict[str, LeaguePlan] = {}
    room = MAX_LEAGUES - len(existing.leagues)
    for position, row in enumerate(rows, start=1):
        cells = _Cells(LEAGUES, title, row, problems)
        name, description = cells.text("name"), cells.text("description")
        if name is None or description is None:
            broken.add(_key_of(row.values.get("name")))
            continue
        k = key(name)
        if k in plans:
            cells.problem("name", _("Same name as the league in row %(row)s.", row=plans[k].row))
            continue
        league = existing.leagues.get(k)
        if league is None:
            if room <= 0:
                cells.problem("name", _("A county has at most %(max)d leagues (%(n)d exist already); no more can be created.", max=MAX_LEAGUES, n=len(existing.leagues)))
                broken.add(k)
                continue
            room -= 1
            plans[k] = LeaguePlan(row.number, name, CREATE, None,
                                  {"name": name, "description": description, "sort_order": min(position, 9999)},
                                  [Change(FIELD_LABELS["description"], "", description)] if description else [])
            continue
        data = {"description": description} if description else {}
        changes = _changes(league, data)
        plans[k] = LeaguePlan(row.number, league.name, UPDATE if changes else UNCHANGED, league, data, changes)
    return plans


class _UnitIndex:
    """Units by full name or alias (one each), and by short name (maybe several): the file's and the database's."""

    def __init__(self, existing: Existing):
        self.exact: dict[str, Any] = dict(existing.unit_names) | dict(existing.unit_aliases)
        self.shorts: dict[str, list[Any]] = defaultdict(list, {k: list(v) for k, v in existing.unit_shorts.items()})
        self.broken: set[str] = set()  # names, short names and aliases of unit rows with problems

    def resolve(self, text: str) -> Any:
        k = key(text)
        if k in self.exact:
            return self.exact[k]
        found = {id(t): t for t in self.shorts.get(k, [])}
        if not found and k in self.broken:
            raise _Elsewhere
        if len(found) == 1:
            return next(iter(found.values()))
        if len(found) > 1:
            names = _(", ").join(sorted(_name_of(t) for t in found.values()))
            raise Bad(_("The short name “%(name)s” means more than one unit (%(units)s); write the full name.", name=text, units=names))
        raise Bad(_("Unknown unit “%(name)s”: write the full name, short name or alias of a unit in the “单位” sheet or in the portal.", name=text))


def _check_units(rows: list[Row], title: str, existing: Existing, leagues: dict[str, LeaguePlan],
                 problems: list[Problem], broken_leagues: set[str]) -> tuple[list[UnitPlan], _UnitIndex]:
    index = _UnitIndex(existing)
    plans: list[UnitPlan] = []
    claimed: dict[str, tuple[int, Any]] = {}  # name or alias key -> (row, target), for the file's own clashes
    targets: dict[int, int] = {}  # id(existing unit) -> row
    for position, row in enumerate(rows, start=1):
        cells = _Cells(UNITS, title, row, problems)
        name, short, league_name, head = (cells.text("name"), cells.text("short_name"), cells.text("league"),
                                          cells.text("head_name", name=True))
        aliases = cells.items("aliases")
        if cells.failed or name is None:
            index.broken.update(_key_of(row.values.get(c)) for c in ("name", "short_name"))
            index.broken.update(key(a) for a in aliases or [])
            continue
        k = key(name)
        if k in claimed:
            cells.problem("name", _("Same name as the unit in row %(row)s (or one of its aliases).", row=claimed[k][0]))
            continue
        unit = existing.unit_names.get(k) or existing.unit_aliases.get(k)
        if unit is not None and id(unit) in targets:
            cells.problem("name", _("The same unit in the portal as row %(row)s (%(unit)s).", row=targets[id(unit)], unit=unit.name))
            continue
        league: Any = None
        if league_name:
            league = leagues.get(key(league_name))
            league = (league.league or league) if league is not None else existing.leagues.get(key(league_name))
            if league is None:
                if key(league_name) not in broken_leagues:
                    cells.problem("league", _("Unknown league “%(name)s”: it must be in the “联赛” sheet or in the portal.", name=league_name))
                cells.failed = True
        own_aliases = {key(a.name) for a in unit.aliases} if unit is not None else set()
        added = []
        for alias in aliases or []:
            ak = key(alias)
            if ak == k or ak in own_aliases:
                continue
            other = existing.unit_names.get(ak) or existing.unit_aliases.get(ak)
            shorts = [t for t in index.shorts.get(ak, []) if t is not unit]
            if other is not None and other is not unit:
                cells.problem("aliases", _("The alias “%(alias)s” is already the name or an alias of the unit “%(unit)s”.", alias=alias, unit=other.name), alias)
            elif ak in claimed:
                cells.problem("aliases", _("The alias “%(alias)s” is already used by the unit in row %(row)s.", alias=alias, row=claimed[ak][0]), alias)
            elif shorts:
                cells.problem("aliases", _("The alias “%(alias)s” is the short name of the unit “%(unit)s”; the two could not be told apart.", alias=alias, unit=_name_of(shorts[0])), alias)
            else:
                added.append(alias)
        if cells.failed:
            index.broken.update([k, key(short or ""), *(key(a) for a in aliases or [])])
            continue
        if unit is None:
            data = {"name": name, "short_name": short, "head_name": head, "sort_order": min(position, 9999)}
            shown_values = [("short_name", short), ("league", league.name if league is not None else ""),
                            ("head_name", head), ("aliases", "、".join(added))]
            plan = UnitPlan(row.number, name, CREATE, None, data, league, added,
                            [Change(FIELD_LABELS[f], "", v) for f, v in shown_values if v])
            target: Any = plan
        else:
            data = {k2: v for k2, v in (("short_name", short), ("head_name", head)) if v}
            changes = _changes(unit, data)
            if league is not None and league is not unit.league:
                changes.append(Change(FIELD_LABELS["league"], unit.league.name if unit.league else "", league.name))
            else:
                league = None
            if added:
                changes.append(Change(FIELD_LABELS["aliases"], "、".join(a.name for a in unit.aliases), "、".join(
                    [a.name for a in unit.aliases] + added)))
            plan = UnitPlan(row.number, unit.name, UPDATE if changes else UNCHANGED, unit, data, league, added, changes)
            target = unit
            targets[id(unit)] = row.number
        plans.append(plan)
        for claimed_key in (k, *(key(a) for a in added)):
            claimed[claimed_key] = (row.number, target)
            index.exact[claimed_key] = target
        if short:
            index.shorts[key(short)].append(target)
    return plans, index


def _roles(cells: _Cells) -> list[str] | None:
    names = cells.items("roles")
    if names is None:
        return None
    roles = []
    for name in (part for item in names for part in item.split()):  # 经办人 联系人, too
        role = ROLE_NAMES.get(fold(name))
        if role is None:
            allowed = _(", ").join(ROLE_LABELS.values())
            cells.problem("roles", _("Unknown role “%(name)s”; it can only be %(allowed)s.", name=name, allowed=allowed), name)
            return None
        if role not in roles:
            roles.append(role)
    return sorted(roles, key=ROLES.index)


def _phone(cells: _Cells) -> str | None:
    text = cells.text("phone")
    if not text:
        return text
    digits = re.sub(r"[\s-]+", "", unicodedata.normalize("NFKC", text))
    if not PHONE_RE.match(digits):
        cells.problem("phone", _("A mobile number has 11 digits and begins with 1."))
        return None
    return digits


def _check_users(rows: list[Row], title: str, existing: Existing, units: _UnitIndex,
                 problems: list[Problem]) -> list[UserPlan]:
    plans: list[UserPlan] = []
    by_username: dict[str, int] = {}
    by_name_unit: dict[tuple[str, int], int] = {}
    targets: dict[int, int] = {}
    for row in rows:
        cells = _Cells(USERS, title, row, problems)
        name = cells.text("display_name", name=True)
        username = cells.text("username")
        if username:
            username = fold(username)
            if not USERNAME_RE.match(username):
                cells.problem("username", _("A username has 3 to 40 letters, digits or “.”, “-”, “_” (no Chinese characters)."))
                username = None
            elif username.casefold() in by_username:
                cells.problem("username", _("The username repeats row %(row)s.", row=by_username[username.casefold()]))
                username = None
            else:
                by_username[username.casefold()] = row.number
        unit_text, title_text, phone = cells.text("unit"), cells.text("title"), _phone(cells)
        roles = _roles(cells)
        unit = None
        if unit_text:
            try:
                unit = units.resolve(unit_text)
            except Bad as error:
                cells.problem("unit", str(error))
            except _Elsewhere:
                cells.failed = True
        in_charge = []
        for text in cells.items("in_charge") or []:
            try:
                target = units.resolve(text)
            except Bad as error:
                cells.problem("in_charge", str(error), text)
                continue
            except _Elsewhere:
                cells.failed = True
                continue
            if all(t is not target for t in in_charge):
                in_charge.append(target)
        if cells.failed or name is None or roles is None:
            continue

        user = None
        if username:
            user = existing.usernames.get(username.casefold())
        else:
            slot = (key(name), id(unit))
            if slot in by_name_unit:
                cells.problem("display_name", _("Same name and unit as row %(row)s: give a username to tell them apart.", row=by_name_unit[slot]))
                continue
            by_name_unit[slot] = row.number
            if not isinstance(unit, UnitPlan):
                found = existing.by_name_unit.get((key(name), unit.id if unit is not None else None), [])
                if len(found) > 1:
                    cells.problem("display_name", _("The unit already has %(n)d users named “%(name)s”: give a username to say which one.", n=len(found), name=name))
                    continue
                user = found[0] if found else None
        if user is not None:
            if id(user) in targets:
                cells.problem("display_name", _("The same user in the portal as row %(row)s (%(username)s).", row=targets[id(user)], username=user.username))
                continue
            targets[id(user)] = row.number

        all_roles = sorted(set(roles) | (user.roles if user is not None else set()), key=ROLES.index)
        has_unit = unit is not None or (user is not None and user.unit_id is not None)
        if {"unit_staff", "contact"} & set(all_roles) and not has_unit:
            cells.problem("unit", _("Unit staff and contacts must have a unit."))
            continue
        if in_charge and "leader" not in all_roles:
            cells.problem("in_charge", _("Only leaders have units in their charge."))
            continue

        unit_name = _name_of(unit) or (user.unit.name if user is not None and user.unit else "")
        if user is None:
            data = {"username": username or "", "display_name": name, "title": title_text, "phone": phone}
            shown_values = [("title", title_text), ("phone", phone), ("in_charge", "、".join(_name_of(t) for t in in_charge))]
            plans.append(UserPlan(row.number, name, username or "", not username, CREATE, None, data, unit, unit_name,
                                  all_roles, list(roles), in_charge,
                                  [Change(FIELD_LABELS[f], "", v) for f, v in shown_values if v]))
            continue
        data = {k: v for k, v in (("display_name", name if username else ""), ("title", title_text), ("phone", phone)) if v}
        changes = _changes(user, data)
        if unit is not None and unit is not user.unit:
            changes.append(Change(FIELD_LABELS["unit"], user.unit.name if user.unit else "", _name_of(unit)))
        else:
            unit = None
        added_roles = [r for r in all_roles if r not in user.roles]
        if added_roles:
            changes.append(Change(FIELD_LABELS["roles"], "、".join(ROLE_LABELS[r] for r in sorted(user.roles, key=ROLES.index)),
                                  "、".join(ROLE_LABELS[r] for r in all_roles)))
        have = {id(u) for u in user.units_in_charge}
        added_units = [t for t in in_charge if id(t) not in have]
        if added_units:
            changes.append(Change(FIELD_LABELS["in_charge"], "、".join(u.name for u in user.units_in_charge),
                                  "、".join([u.name for u in user.units_in_charge] + [_name_of(t) for t in added_units])))
        plans.append(UserPlan(row.number, user.display_name, user.username, False, UPDATE if changes else UNCHANGED,
                              user, data, unit, unit_name, all_roles, added_roles, added_units, changes))

    _generate_usernames(plans, existing)
    return plans


def _generate_usernames(plans: list[UserPlan], existing: Existing) -> None:
    """Every new account's username (``username_for``), unless the sheet gives one."""
    taken = set(existing.usernames) | {p.username.casefold() for p in plans if p.username}
    for plan in plans:
        if plan.action != CREATE or plan.username:
            continue
        plan.username = plan.data["username"] = username_for(plan.unit_name, plan.display_name, taken)


def username_for(unit_name: str, display_name: str, taken: set[str]) -> str:
    """``u`` and 6 digits from the unit and the name: the same person in the same unit gets the same username
    on every dry run and commit, whatever the rows' order; a clash takes the next free number (added to ``taken``)."""
    digest = hashlib.sha256(f"{key(unit_name)}\x1f{key(display_name)}".encode()).digest()
    number = int.from_bytes(digest[:8], "big") % 900_000 + 100_000
    while f"u{number}" in taken:
        number = number + 1 if number < 999_999 else 100_000
    taken.add(f"u{number}")
    return f"u{number}"
