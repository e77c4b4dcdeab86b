"""The ledger import wizard (/ledger/import): what is kept between its steps, and what each step shows.

Between steps the uploaded file is kept on the server, under
``instance/ledger-imports/<token>.bin`` (mode 0600), and the Flask session
holds the token with the choices made so far (``State``: year, category,
go-live date, whether to create units, the sheet, the column mapping and the
units chosen for names the county does not know). Every form of the wizard
carries the token too, and a step acts only when it is the session's: an old
tab cannot act on a file uploaded since in another. The file is removed on
commit and on cancel; one older than a day is refused by the steps and
removed when a new upload starts (file ages are file times, so they are read
from the system clock, as ``core.storage`` does).

The view data (preview, columns, units, people, dry run) is built here from
the ledger's own steps (``reading``, ``layout``, ``services.plan``,
``services.import_ledger``), so the views stay thin. Nothing here writes the
county's records except ``save_mapping`` (a named column mapping, audited);
the import itself is ``services.import_ledger``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit import services as audit
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.ledger import matching, services, values
from portal.ledger.checking import FIELDS, REQUIRED_COLUMNS, Checked, Lookups, NewPerson, NewUnit
from portal.ledger.layout import SYNONYMS, SheetLayout, blank, detect
from portal.ledger.reading import LedgerError, Problem, read_grids
from portal.models import LedgerMapping, Unit, User

SESSION_KEY = "ledger_wizard"
RESULT_KEY = "ledger_wizard_result"
FOLDER = "ledger-imports"
MAX_AGE = timedelta(days=1)
PREVIEW_ROWS = 15
SHOWN_NOTES = 200
TOKEN = re.compile(r"^[0-9a-f]{32}$")
UNIT_FIELDS = ("lead_unit", "unit", "co_units")
# The fields a column can be mapped to, in the ledger's order; 序号 is recognised but never imported.
FIELD_KEYS = (*FIELDS, "seq")


def field_choices() -> list[tuple[str, str]]:
    """(field, its Chinese name) for the column selects; required fields are marked *."""
    return [(key, field_label(key) + (" *" if key in REQUIRED_COLUMNS else "")) for key in FIELD_KEYS]


def required_names() -> list[str]:
    return [field_label(key) for key in REQUIRED_COLUMNS]


class NoWizard(Refused):
    """No import in progress in this session (a GET step sends the browser to the upload page)."""


def field_label(key: str | None) -> str:
    """A field's Chinese name as ledgers write it (项目名称, 完成时限, …)."""
    if not key:
        return ""
    if key in FIELDS:
        return FIELDS[key].header
    return SYNONYMS.get(key, (key,))[0]


# -- the state kept between steps ---------------------------------------------------


@dataclass
class State:
    """One import in progress: the kept file's token and the choices made so far (JSON in the Flask session)."""

    token: str
    filename: str
    year: int | None = None
    category: str | None = None
    go_live: date | None = None
    create_units: bool = False
    sheet: str | None = None
    mapping: dict[str, str] | None = None  # header as written → field ("" ignores the column)
    mapping_name: str = ""  # the saved mapping it started from, or was saved as
    units: dict[str, int] = field(default_factory=dict)  # a ledger's unit name → the unit chosen for it
    new_units: list[str] = field(default_factory=list)  # unit names to create
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (unit, person): accounts to create

    def options(self) -> services.Options:
        return services.Options(
            year=self.year, category=self.category, create_units=self.create_units, go_live=self.go_live,
            sheet=self.sheet, mapping=dict(self.mapping) if self.mapping else None, units=dict(self.units),
            county_names=services.county_names(), new_units=frozenset(self.new_units),
            accounts=frozenset(self.accounts),
        )

    def dump(self) -> dict:
        return {
            "token": self.token, "filename": self.filename, "year": self.year, "category": self.category,
            "go_live": self.go_live.isoformat() if self.go_live else None, "create_units": self.create_units,
            "sheet": self.sheet, "mapping": self.mapping, "mapping_name": self.mapping_name, "units": self.units,
            "new_units": self.new_units, "accounts": [list(a) for a in self.accounts],
        }

    @classmethod
    def load(cls, raw: Any) -> State | None:
        """The state a session holds, or None when it holds none or something malformed."""
        if not isinstance(raw, dict) or not isinstance(raw.get("token"), str) or not TOKEN.match(raw["token"]):
            return None
        try:
            mapping = raw.get("mapping")
            units = raw.get("units") or {}
            return cls(
                token=raw["token"], filename=str(raw.get("filename") or ""),
                year=int(raw["year"]) if raw.get("year") is not None else None,
                category=str(raw["category"]) if raw.get("category") else None,
                go_live=date.fromisoformat(raw["go_live"]) if raw.get("go_live") else None,
                create_units=bool(raw.get("create_units")),
                sheet=str(raw["sheet"]) if raw.get("sheet") else None,
                mapping={str(k): str(v) for k, v in mapping.items()} if isinstance(mapping, dict) else None,
                mapping_name=str(raw.get("mapping_name") or ""),
                units={str(k): int(v) for k, v in units.items()},
                new_units=[str(n) for n in raw.get("new_units") or []],
                accounts=[(str(u), str(n)) for u, n in raw.get("accounts") or []],
            )
        except (TypeError, ValueError, AttributeError):
            return None


def folder() -> Path:
    path = Path(current_app.instance_path) / FOLDER
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(token: str) -> Path:
    assert TOKEN.match(token)  # never a name from outside
    return folder() / f"{token}.bin"


def remove_old(now: float | None = None) -> int:
    """Remove kept uploads older than a day (abandoned wizards); returns how many went."""
    cutoff = (time.time() if now is None else now) - MAX_AGE.total_seconds()
    removed = 0
    for path in folder().glob("*.bin"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _write(data: bytes) -> str:
    token = secrets.token_hex(16)
    fd = os.open(_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return token


def _remove(token: str) -> None:
    _path(token).unlink(missing_ok=True)


def start(data: bytes, filename: str, **choices: Any) -> State:
    """Keep a checked upload and open a new wizard in the session (an earlier one is dropped, its file removed)."""
    previous = State.load(session.get(SESSION_KEY))
    if previous is not None:
        _remove(previous.token)
    name = os.path.basename((filename or "").replace("\\", "/"))[:100]
    state = State(token=_write(data), filename=name, **choices)
    save(state)
    session.pop(RESULT_KEY, None)
    return state


def save(state: State) -> None:
    session[SESSION_KEY] = state.dump()


def in_progress() -> State | None:
    return State.load(session.get(SESSION_KEY))


def current(form_token: str | None = None, *, posted: bool = False) -> tuple[State, bytes]:
    """The session's import and its kept file; ``posted``: a form's token that must be the session's.

    Refuses (400) when this session has no import, (409) a form of another
    import, (404) when the kept file is gone or a day old.
    """
    state = State.load(session.get(SESSION_KEY))
    if state is None:
        session.pop(SESSION_KEY, None)
        raise NoWizard(400, _("No ledger import is in progress in this session. Upload the ledger again."))
    if posted and not hmac.compare_digest(str(form_token or ""), state.token):
        raise Refused(409, _("This page belongs to another import: a newer file was uploaded since. "
                             "Continue with the current import or start again."))
    path = _path(state.token)
    try:
        too_old = path.stat().st_mtime < time.time() - MAX_AGE.total_seconds()
        data = b"" if too_old else path.read_bytes()
    except FileNotFoundError:
        too_old, data = True, b""
    if too_old:
        _remove(state.token)
        session.pop(SESSION_KEY, None)
        raise Refused(404, _("The uploaded file is no longer kept (an import left for more than a day is "
                             "discarded). Upload the ledger again."))
    return state, data


def cancel(form_token: str | None) -> None:
    """Drop the session's import and its file (the form's token must be the session's)."""
    state = State.load(session.get(SESSION_KEY))
    if state is None:
        session.pop(SESSION_KEY, None)
        raise NoWizard(400, _("No ledger import is in progress in this session. Upload the ledger again."))
    if not hmac.compare_digest(str(form_token or ""), state.token):
        raise Refused(409, _("This page belongs to another import: a newer file was uploaded since. "
                             "Continue with the current import or start again."))
    _remove(state.token)
    session.pop(SESSION_KEY, None)


def finish(state: State, result: services.ImportResult, unit_ids: list[int]) -> None:
    """After the commit: the file removed, the wizard closed, the counts kept for the result page."""
    _remove(state.token)
    session.pop(SESSION_KEY, None)
    session[RESULT_KEY] = {"counts": result.counts(), "notes": len(result.notes), "filename": state.filename,
                           "units": unit_ids[:40]}


def last_result() -> dict | None:
    raw = session.get(RESULT_KEY)
    return raw if isinstance(raw, dict) and isinstance(raw.get("counts"), dict) else None


# -- showing cells ------------------------------------------------------------------


def shown(value: Any, limit: int = 80) -> str:
    """A cell as the page shows it: dates as dates, whole numbers without “.0”, long text cut."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == day_time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = re.sub(r"\s+", " ", str(value)).strip()  # as written: no NFKC, only the white space collapsed
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- step 2 and 3: the sheets as read ------------------------------------------------


@dataclass
class ColumnView:
    index: int
    letter: str
    label: str
    field: str | None
    detected: str | None  # the field detection gives without any mapping
    samples: list[str]
    repeated: bool = False  # another column of the sheet has the same header
    sheet_index: int = 0

    @property
    def field_name(self) -> str:
        return field_label(self.field)

    @property
    def detected_name(self) -> str:
        return field_label(self.detected)

    @property
    def input_name(self) -> str:
        return f"col_{self.sheet_index}_{self.index}"


@dataclass
class SheetView:
    index: int
    name: str
    layout: SheetLayout
    columns: list[ColumnView]
    rows: list[tuple[int, list[str]]]  # the first data rows: (row number, one cell per column)
    skipped: bool  # not read: the wizard reads another sheet only
    missing: list[str]  # required fields no column holds (their Chinese names)

    @property
    def read(self) -> bool:
        return bool(self.layout.rows) and not self.skipped

    @property
    def header_label(self) -> str:
        rows = self.layout.header_rows
        return "" if not rows else (str(rows[0]) if len(rows) == 1 else f"{rows[0]}–{rows[-1]}")


def missing_fields(layout: SheetLayout) -> list[str]:
    """The required fields a sheet with data has no column for (as ``checking.check_layouts`` refuses them)."""
    present = set(layout.fields)
    return [k for k in REQUIRED_COLUMNS if k not in present and not (k == "name" and "code" in present)]


def sheets(data: bytes, state: State) -> list[SheetView]:
    """Every sheet of the file as detected with the wizard's mapping: columns, first rows, what is left out."""
    grids = read_grids(data, state.filename)
    out = []
    for i, grid in enumerate(grids):
        layout = detect(grid, mapping=state.mapping)
        plain = detect(grid) if state.mapping else layout
        detected = {c.index: c.field for c in plain.columns}
        counts: dict[str, int] = defaultdict(int)
        for column in layout.columns:
            counts[column.label] += 1
        numbers = [row.number for row in layout.rows]
        columns = []
        for column in layout.columns:
            samples = []
            for r in numbers:
                text = shown(grid.get(r, column.index), 30)
                if text and text not in samples:
                    samples.append(text)
                if len(samples) == 3:
                    break
            columns.append(ColumnView(column.index, column.letter, column.label, column.field,
                                      detected.get(column.index), samples, counts[column.label] > 1, sheet_index=i))
        rows = []
        for row in layout.rows[:PREVIEW_ROWS]:
            rows.append((row.number, [shown(row.values.get(c.field)) if c.field else shown(grid.get(row.number, c.index))
                                      for c in layout.columns]))
        skipped = bool(state.sheet) and grid.name != state.sheet
        missing = [field_label(k) for k in missing_fields(layout)] if layout.rows and not skipped else []
        out.append(SheetView(i, grid.name, layout, columns, rows, skipped, missing))
    return out


class MappingError(ValueError):
    """The columns chosen cannot be one mapping (a field twice in a sheet, a header meaning two things)."""


def mapping_of(views: list[SheetView], chosen: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """From one choice per column (``input_name`` → field, "" not imported): the mapping to read with, and to save.

    A mapping names headers, so it reads every column of that header the same
    way. The one to read with holds only the columns chosen differently from
    what detection finds (detection resolves 牵头单位 and 完成时间 per sheet,
    and leaves the second column of a repeated header alone); the one to save
    for later ledgers adds the detected fields of the other headers, where
    they are the same in every sheet.
    """
    changed: dict[str, str] = {}
    detected: dict[str, set[str]] = defaultdict(set)
    picks: list[tuple[str, str]] = []
    for sheet in views:
        used: dict[str, list[str]] = defaultdict(list)
        for column in sheet.columns:
            if not column.label:
                continue
            value = chosen.get(column.input_name, column.field or "")
            if value:
                used[value].append(column.letter)
            picks.append((column.label, value))
            detected[column.label].add("" if column.repeated else (column.detected or ""))
            if value != (column.detected or ""):
                changed.setdefault(column.label, value)
        for key, letters in used.items():
            if len(letters) > 1:
                raise MappingError(_("Sheet “%(sheet)s”: columns %(letters)s are all “%(field)s”; a field can be "
                                     "read from one column only.", sheet=sheet.name, letters=_(", ").join(letters),
                                     field=field_label(key)))
    for label, value in picks:
        if label in changed and changed[label] != value:
            raise MappingError(_("The header “%(header)s” is in more than one sheet: give it the same field "
                                 "everywhere.", header=label))
    saved = {label: fields.pop() for label, fields in detected.items() if len(fields) == 1 and label not in changed}
    return changed, {**{k: v for k, v in saved.items() if v}, **changed}


def save_mapping(actor: User, name: str, mapping: dict[str, str]) -> LedgerMapping:
    """Keep a column mapping under a name for ledgers laid out the same way; audited. Flushes, never commits."""
    if db.session.scalar(select(LedgerMapping.id).where(LedgerMapping.name == name)) is not None:
        raise Refused(422, _("A mapping with this name already exists."))
    row = LedgerMapping(name=name, mapping={"columns": dict(mapping)}, created_by_id=actor.id)
    try:
        with db.session.begin_nested():  # the same name saved at the same moment by someone else
            db.session.add(row)
    except IntegrityError:
        raise Refused(422, _("A mapping with this name already exists.")) from None
    audit.record(actor, "ledger_mapping.create", row, summary=f"保存台账列对应：{name}",
                 after={"name": name, "columns": dict(mapping)})
    return row


def saved_mapping_names() -> list[str]:
    return list(db.session.scalars(select(LedgerMapping.name).order_by(LedgerMapping.name)))


# -- step 4: units ------------------------------------------------------------------


@dataclass
class UnitName:
    """A unit name the file writes that names no unit for certain, and what it may be."""

    name: str
    rows: list[tuple[str, int]]
    columns: list[str]  # the headers it is written under
    suggestions: list[matching.Suggestion]
    chosen: int | None
    inactive: str = ""  # it names this unit, which is no longer active

    @property
    def row_label(self) -> str:
        return row_ranges([r for _s, r in self.rows])

    @property
    def sheets(self) -> list[str]:
        return list(dict.fromkeys(s for s, _r in self.rows))


def _written_units(layouts: list[SheetLayout]) -> dict[str, tuple[list[tuple[str, int]], list[str]]]:
    """Every unit name the file writes, split as the checks split them: name → (rows, headers)."""
    found: dict[str, tuple[list, list]] = {}
    for layout in layouts:
        for row in layout.rows:
            for key in UNIT_FIELDS:
                raw = row.values.get(key)
                if blank(raw) or isinstance(raw, bool | date | datetime):
                    continue
                text = raw.strip() if isinstance(raw, str) else shown(raw)
                for name in values.split_units(text) or [text]:
                    rows, headers = found.setdefault(name, ([], []))
                    if (layout.name, row.number) not in rows:
                        rows.append((layout.name, row.number))
                    label = layout.where(key)[0]
                    if label not in headers:
                        headers.append(label)
    return found


def unit_names(layouts: list[SheetLayout], lookups: Lookups, state: State) -> list[UnitName]:
    """The names no unit certainly answers to (or only an inactive one), with ranked suggestions."""
    county = list(services.county_names())
    out = []
    for name, (rows, headers) in _written_units(layouts).items():  # in the file's order
        found = matching.match_unit(name, lookups.candidates, county_names=county)
        inactive = ""
        if found is not None:
            unit = lookups.units_by_id[found]
            if unit.is_active:
                continue
            inactive = unit.name
        suggestions = [s for s in matching.suggest_units(name, lookups.candidates, county_names=county, limit=5)
                       if lookups.units_by_id[s.unit_id].is_active]
        chosen = state.units.get(name)
        out.append(UnitName(name, rows, headers, suggestions, chosen if chosen in lookups.units_by_id else None,
                            inactive))
    return out


def names_digest(names: list[UnitName]) -> str:
    """Ties a units form to the names it was shown (the file and mapping may change in another tab)."""
    return hashlib.sha256("\n".join(n.name for n in names).encode()).hexdigest()[:16]


def unit_lookups() -> Lookups:
    """The county's units, aliases and people as the checks look them up (no projects: none is needed here)."""
    return Lookups(set(), set())


def active_units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.sort_order, Unit.id)))


# -- step 5: people -----------------------------------------------------------------


@dataclass
class Person:
    """A 责任人 the file names who has no account in the node's unit."""

    unit: str  # the responsible unit's name (as the county has it, or as the import will create it)
    name: str
    rows: str
    asked: bool = False  # an account will be created


@dataclass
class PeopleGroup:
    unit: str
    kept: list[Person]  # kept on the node by name, or given a new account on request
    elsewhere: list[tuple[str, str, str]]  # (name, rows, the unit of the account it was linked to)


def people(checked: Checked) -> list[PeopleGroup]:
    """Per responsible unit, the people the file names who have no account there."""
    kept: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    asked: set[tuple[str, str]] = set()
    elsewhere: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in checked.rows:
        node = row.node
        if not node:
            continue
        unit = node.get("unit")
        unit_name = unit.name if isinstance(unit, Unit | NewUnit) else "—"
        user = node.get("responsible")
        name = node.get("responsible_name") or ""
        if isinstance(user, NewPerson):
            kept[unit_name][user.name].append(row.number)
            asked.add((unit_name, user.name))
        elif user is None and name:
            kept[unit_name][name].append(row.number)
        elif isinstance(user, User) and isinstance(unit, Unit) and user.unit_id != unit.id:
            other = user.unit.name if user.unit is not None else "—"
            elsewhere[unit_name][(user.display_name, other)].append(row.number)
    out = []
    for unit_name in sorted(set(kept) | set(elsewhere)):
        out.append(PeopleGroup(
            unit_name,
            [Person(unit_name, name, row_ranges(rows), (unit_name, name) in asked)
             for name, rows in sorted(kept[unit_name].items()) if unit_name != "—"],
            [(name, row_ranges(rows), other) for (name, other), rows in sorted(elsewhere[unit_name].items())],
        ))
    return [g for g in out if g.kept or g.elsewhere]


def without_account(groups: list[PeopleGroup]) -> list[Person]:
    """The people of the groups who may be given an account, in the page's order."""
    return [p for g in groups for p in g.kept]


def people_digest(people: list[Person]) -> str:
    """Ties a people form to the names it was shown."""
    return hashlib.sha256("\n".join(f"{p.unit}\t{p.name}" for p in people).encode()).hexdigest()[:16]


# -- step 6: the dry run ------------------------------------------------------------


def row_ranges(rows: list[int]) -> str:
    """5, 6, 7, 9 → “5–7、9”."""
    rows = sorted(set(rows))
    parts, start, last = [], None, None
    for r in rows:
        if start is None:
            start = last = r
        elif r == last + 1:
            last = r
        else:
            parts.append(str(start) if start == last else f"{start}–{last}")
            start = last = r
    if start is not None:
        parts.append(str(start) if start == last else f"{start}–{last}")
    return _(", ").join(parts)


@dataclass
class ProblemGroup:
    """One problem, or the same problem repeated in one column of one project's rows."""

    sheet: str
    project: str
    rows: list[int]
    letter: str
    column: str
    message: str
    values: list[str]

    @property
    def count(self) -> int:
        return max(len(self.rows), 1)

    @property
    def row_label(self) -> str:
        return row_ranges(self.rows)


def group_problems(problems: list[Problem], layouts: list[SheetLayout] | None) -> list[ProblemGroup]:
    """The problems in the engine's order, those repeating message and column within one project collapsed."""
    projects: dict[tuple[str, int], str] = {}
    for layout in layouts or []:
        for row in layout.rows:
            code, name = row.values.get("code"), row.values.get("name")
            label = shown(name, 40) or shown(code, 40)
            if label:
                projects[(layout.name, row.number)] = label
    groups: dict[tuple, ProblemGroup] = {}
    for i, p in enumerate(problems):
        project = projects.get((p.sheet or "", p.row), "") if p.row is not None else ""
        key = (p.sheet or "", project, p.message, p.letter or "", p.column or "") if project else (i,)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ProblemGroup(p.sheet or "", project, [], p.letter or "", p.column or "", p.message, [])
        if p.row is not None:
            group.rows.append(p.row)
        if p.value and p.value not in group.values:
            group.values.append(p.value)
    return list(groups.values())


@dataclass
class DryRun:
    result: services.ImportResult | None = None
    error: LedgerError | None = None
    groups: list[ProblemGroup] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (the ledger's name, the unit it will be an alias of)

    @property
    def shown_groups(self) -> list[ProblemGroup]:
        return self.groups[: services.SHOWN_PROBLEMS]

    @property
    def hidden_groups(self) -> int:
        return max(len(self.groups) - services.SHOWN_PROBLEMS, 0)

    @property
    def notes(self) -> list:
        return (self.result.notes if self.result else [])[:SHOWN_NOTES]


def dry_run(actor: User, data: bytes, state: State, clock) -> DryRun:
    """``import_ledger(check=True)``: the exact counts, or every problem; nothing is kept either way."""
    try:
        result = services.import_ledger(actor, data, clock=clock, options=state.options(), filename=state.filename,
                                        check=True)
    except LedgerError as error:
        db.session.rollback()
        return refused_run(error, data, state)
    finally:
        db.session.rollback()
    run = DryRun(result=result)
    _aliases(run, state)
    return run


def refused_run(error: LedgerError, data: bytes, state: State) -> DryRun:
    """The report of a refused import: its problems grouped by project (the rows' projects read from the file)."""
    layouts = None
    if error.problems:
        try:
            layouts = services.read_ledger(data, options=state.options(), filename=state.filename)
        except LedgerError:
            layouts = None
    run = DryRun(error=error, groups=group_problems(error.problems, layouts))
    _aliases(run, state)
    return run


def _aliases(run: DryRun, state: State) -> None:
    if state.units:
        ids = list(state.units.values())
        names = {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
        run.aliases = [(name, names[uid]) for name, uid in sorted(state.units.items()) if uid in names]


def responsible_names(data: bytes, state: State) -> list[str]:
    """The responsible units' names as the file writes them (for the boards the result page links to)."""
    layouts = services.read_ledger(data, options=state.options(), filename=state.filename)
    found = []
    for layout in layouts:
        for row in layout.rows:
            raw = row.values.get("unit")
            if isinstance(raw, str) and raw.strip():
                name = (values.split_units(raw) or [raw.strip()])[0]
                if name not in found:
                    found.append(name)
    return found


def units_named(names: list[str]) -> list[int]:
    """The units the names mean now (after the commit created units and aliases), in the file's order."""
    lookups = unit_lookups()
    county = list(services.county_names())
    ids = []
    for name in names:
        found = matching.match_unit(name, lookups.candidates, county_names=county)
        if found is not None and found not in ids:
            ids.append(found)
    return ids
