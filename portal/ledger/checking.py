"""Checking a read ledger: every cell of every data row, the rows against each other and the database.

Works on the rows ``layout.detect`` found, whatever the layout (our template
is one layout among others). Units, categories, themes and people are looked
up once; the result is the checked rows, the row-by-row problems that refuse
the file, and the notes that do not (hidden rows, ignored columns, a person
kept by name, a node overdue at go-live).

Values are read the way offices write them (``values``); a unit is found by
its name, short name, alias or a normalised spelling (``matching``), and an
unknown one is refused with suggestions unless the caller decided what it is
(``Options.units``) or asked to create it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from portal.core.extensions import db
from portal.core.forms import has_markup
from portal.ledger import matching, values
from portal.ledger.columns import COLUMNS, MAX_MONEY, NO, STAGE_CODES, STAGE_NAMES, YES, Column
from portal.ledger.layout import SheetLayout, blank
from portal.ledger.reading import Bad, Problem, cell_text
from portal.models import Category, Node, Project, Theme, Unit, UnitAlias, User, UserRole
from portal.projects.services import project_span

MISSING = object()  # a value that could not be read (its problem is already reported)
BY_KEY = {c.key: c for c in COLUMNS}
EXTRA = {  # fields real ledgers have beyond the template's columns
    "co_units": Column("co_units", "配合单位", "units", False, 20, "", 300, False),
    "finished": Column("finished", "完成情况", "finished", False, 12, "", 500, False),
    "completed_on": Column("completed_on", "完成时间", "date", False, 12, "", None, False),
    "note": Column("note", "备注", "text", False, 20, "", 1000, False),
}
FIELDS = {**BY_KEY, **EXTRA}
# Required wherever the ledger has them; code, category, year and the lead unit can be supplied otherwise.
REQUIRED_COLUMNS = ("name", "title", "unit", "deadline", "standard")
YES_WORDS = {YES, "√", "✓", "✔"}
NO_WORDS = {NO, "×", "✗"}




@dataclass
class Options:
    """What the importer is told besides the file (the CLI's flags, the wizard's choices)."""

    year: int | None = None  # the ledger's year when no column or title says it
    category: str | None = None  # the category of rows that name none
    create_units: bool = False  # create units the county does not have yet
    go_live: date | None = None  # 启用日期; None: the county's setting, else the day of the import
    sheet: str | None = None  # read only this sheet
    mapping: dict[str, str] | None = None  # header as written → field ("" ignores the column)
    units: dict[str, int] = field(default_factory=dict)  # a ledger's unit name → the unit it means
    county_names: tuple[str, ...] = ()
    new_units: frozenset[str] = frozenset()  # unit names to create, one by one (``create_units``: all of them)
    accounts: frozenset[tuple[str, str]] = frozenset()  # (responsible unit's name, person): create an account


@dataclass
class Note:
    """Something the report says that does not refuse the file."""

    message: str
    sheet: str = ""
    row: int | None = None

    def __str__(self) -> str:
        if self.row is not None:
            return _("“%(sheet)s” row %(row)s: %(note)s", sheet=self.sheet, row=self.row, note=self.message)
        if self.sheet:
            return _("“%(sheet)s”: %(note)s", sheet=self.sheet, note=self.message)
        return self.message


@dataclass
class NewUnit:
    """A unit the import will create (``Options.create_units``)."""

    name: str
    id: int | None = None


@dataclass
class NewPerson:
    """An account the import will create for a 责任人 the county has none for (``Options.accounts``)."""

    name: str
    unit: Unit | NewUnit
    id: int | None = None


@dataclass
class CheckedRow:
    sheet: str
    number: int
    project: dict[str, Any]
    node: dict[str, Any] | None  # None: a project row without a node
    present: set[str]  # the fields this row's sheet has a column for
    ok: bool = True


@dataclass
class Checked:
    rows: list[CheckedRow] = field(default_factory=list)
    projects: dict[str, CheckedRow] = field(default_factory=dict)  # code → its first row
    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    new_units: dict[str, NewUnit] = field(default_factory=dict)
    new_people: dict[tuple[str, str], NewPerson] = field(default_factory=dict)  # (unit name, person) → account
    aliases: dict[str, int] = field(default_factory=dict)  # new alias → unit id (the caller's choices)
    go_live: date | None = None
    today: date | None = None
    overdue_open: int = 0
    ignored_rows: int = 0
    hidden_rows: int = 0


class Lookups:
    """Everything the checks need, loaded once (no query per row)."""

    def __init__(self, codes: set[str], names: set[tuple[int | None, str]]):
        self.categories = {c.name: c for c in db.session.scalars(select(Category))}
        self.themes = {t.name: t for t in db.session.scalars(select(Theme))}
        self.unit_list = db.session.scalars(select(Unit)).all()
        self.units_by_id = {u.id: u for u in self.unit_list}
        self.aliases = defaultdict(list)
        for alias in db.session.scalars(select(UnitAlias)):
            self.aliases[alias.unit_id].append(alias.name)
        self.candidates = [(u.id, u.name, u.short_name, self.aliases[u.id]) for u in self.unit_list]
        self.users = db.session.scalars(select(User)).all()
        self.by_username = {u.username: u for u in self.users}
        self.by_display: dict[str, list[User]] = defaultdict(list)
        for u in self.users:
            if u.is_active_account:
                self.by_display[u.display_name].append(u)
        self._unit_ids: dict[str, int | None] = {}  # a ledger's spelling → the unit it certainly means
        self._suggested: dict[str, list] = {}
        self.leaders = set(db.session.scalars(select(UserRole.user_id).where(UserRole.role == "leader")))
        self.projects: dict[str, Project] = {}
        self.by_name: dict[tuple[int, str], list[Project]] = defaultdict(list)
        code_list = sorted(codes)
        for start in range(0, len(code_list), 500):
            for p in db.session.scalars(select(Project).where(Project.code.in_(code_list[start:start + 500]))):
                self.projects[p.code] = p
        name_list = sorted({n for _y, n in names})
        for start in range(0, len(name_list), 500):
            for p in db.session.scalars(select(Project).where(Project.name.in_(name_list[start:start + 500]))):
                self.by_name[(p.year, p.name)].append(p)
                self.projects.setdefault(p.code, p)
        self.nodes: dict[int, dict[str, list[Node]]] = defaultdict(lambda: defaultdict(list))
        ids = [p.id for p in self.projects.values()]
        for start in range(0, len(ids), 500):
            for n in db.session.scalars(select(Node).where(Node.project_id.in_(ids[start:start + 500])).order_by(Node.id)):
                self.nodes[n.project_id][n.title].append(n)

    def unit(self, name: str, current_id: int | None, options: Options, checked: Checked) -> Unit | NewUnit:
        chosen = options.units.get(name)
        found_id = self.certain_unit(name, options)
        if chosen is not None and chosen in self.units_by_id:
            found = self.units_by_id[chosen]
            if found_id is None:
                checked.aliases.setdefault(name, found.id)
            return found
        if found_id is None:
            exact_short = [u for u in self.unit_list if u.short_name == name]
            if len(exact_short) > 1:
                raise Bad(_("The short name “%(name)s” means more than one unit; write the unit's full name.",
                            name=name))
        if found_id is None:
            if options.create_units or name in options.new_units:
                return checked.new_units.setdefault(name, NewUnit(name))
            suggestions = self.suggestions(name, options)[:3]
            if suggestions:
                raise Bad(_("There is no unit named “%(name)s” (perhaps: %(units)s).", name=name,
                            units=_(", ").join(s.name for s in suggestions)))
            raise Bad(_("There is no unit named “%(name)s”.", name=name))
        found = self.units_by_id[found_id]
        if not found.is_active and found.id != current_id:
            raise Bad(_("The unit “%(name)s” is deactivated.", name=name))
        return found

    def suggestions(self, name: str, options: Options) -> list[matching.Suggestion]:
        """The units a name may mean, best first (once per spelling)."""
        if name not in self._suggested:
            self._suggested[name] = matching.suggest_units(name, self.candidates, county_names=list(options.county_names))
        return self._suggested[name]

    def certain_unit(self, name: str, options: Options) -> int | None:
        """``matching.match_unit``, once per spelling (a ledger repeats its units on every row)."""
        if name not in self._unit_ids:
            self._unit_ids[name] = matching.match_unit(name, self.candidates, county_names=list(options.county_names))
        return self._unit_ids[name]

    def named(self, table: dict, what: str, name: str, current_id: int | None):
        found = table.get(name)
        if found is None:
            raise Bad(_("There is no %(what)s named “%(name)s”.", what=what, name=name))
        if not found.is_active and found.id != current_id:
            raise Bad(_("The %(what)s “%(name)s” is deactivated.", what=what, name=name))
        return found

    def person(self, name: str, unit: Unit | NewUnit | None, current_id: int | None, co_units=()) -> User | None:
        """The account a ledger's 责任人 means: its username, or its display name in the responsible unit or a co-unit.

        A username of someone in another unit is refused (the responsible
        person belongs to the responsible unit or one of its co-units); a
        display name found only elsewhere in the county is a namesake, so the
        name is kept as written (or an account made for it, if asked).
        """
        allowed = {u.id for u in (unit, *co_units) if isinstance(u, Unit)}
        found = self.by_username.get(name)
        if found is not None and allowed and found.unit_id not in allowed:
            raise Bad(_("“%(name)s” is an account of %(theirs)s, not of the responsible unit or one of the node's "
                        "co-units.", name=name, theirs=found.unit.name if found.unit else _("no unit")))
        if found is None:
            same = self.by_display.get(name, [])
            in_unit = [u for u in same if u.unit_id in allowed]
            if len(in_unit) == 1:
                found = in_unit[0]
            elif len(same) == 1 and not allowed and not isinstance(unit, NewUnit):
                found = same[0]  # no responsible unit to judge by (the row's unit is missing or wrong)
        if found is None or (not found.is_active_account and found.id != current_id) or found.unit_id is None:
            return None
        return found

    def leader(self, name: str, current_id: int | None) -> User | None:
        found = self.by_username.get(name)
        if found is None:
            named = [u for u in self.by_display.get(name, []) if u.id in self.leaders]
            found = named[0] if len(named) == 1 else None
        if found is None:
            return None
        if found.id != current_id and (not found.is_active_account or found.id not in self.leaders):
            raise Bad(_("“%(name)s” is not a county leader's account; the responsible leader must be a county leader.",
                        name=name))
        return found


def _text(raw: Any, column: Column) -> str:
    text = cell_text(raw)
    if has_markup(text):
        raise Bad(_("Must not contain HTML tags or scripts."))
    if column.max_len and len(text) > column.max_len:
        raise Bad(_("At most %(max)d characters (this has %(n)d).", max=column.max_len, n=len(text)))
    return text


def _integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"\d{1,9}", values.normalise_text(raw)):
        return int(values.normalise_text(raw))
    return None


def _date(raw: Any, year: int | None) -> date | None:
    if blank(raw):
        return None
    try:
        return values.parse_date(raw, year=year)
    except ValueError as error:
        raise Bad(_("Wrong date format (should be 2026-06-30): %(error)s", error=error)) from None


def _money(raw: Any) -> Decimal:
    message = _("Must be a number from 0 to 999,999,999 (in 10,000 yuan, at most two decimals).")
    if blank(raw):
        return Decimal("0.00")
    if isinstance(raw, bool | datetime | date):
        raise Bad(message)
    if isinstance(raw, float | int | Decimal):
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        if value != value.quantize(Decimal("0.01")):
            raise Bad(message)
    else:
        try:
            value = values.parse_money(raw)
        except ValueError as error:
            raise Bad(_("%(message)s %(error)s", message=message, error=error)) from None
        if value is None:
            return Decimal("0.00")
    if not value.is_finite() or value < 0 or value > MAX_MONEY:
        raise Bad(message)
    return value.quantize(Decimal("0.01"))


def _flag(raw: Any) -> bool:
    if blank(raw):
        return False
    if isinstance(raw, bool):
        return raw
    text = values.normalise_text(str(raw))
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    raise Bad(_("Write “%(yes)s” or “%(no)s”.", yes=YES, no=NO))


def generated_code(year: int, name: str) -> str:
    """A project code for a ledger that has none: the same for the same project name and year on every import."""
    return f"L{year}-{hashlib.sha1(name.encode()).hexdigest()[:8].upper()}"


# -- one row --------------------------------------------------------------------


def _value(column: Column, raw: Any, ctx: dict) -> Any:
    """The checked value of one cell; ``ctx`` holds the lookups, the options, the year and the row's unit."""
    kind = column.kind
    lookups: Lookups = ctx["lookups"]
    if kind in ("text", "code"):
        value = _text(raw, column)
        if kind == "code" and value and not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise Bad(_("Only letters, digits, “-” or “_”."))
        return value
    if kind == "year":
        if blank(raw):
            return None
        year = _integer(raw) if not isinstance(raw, str) else _integer(re.sub(r"年度?$", "", raw.strip()))
        if year is None or not 2000 <= year <= 2100:
            raise Bad(_("Must be a four-digit year from 2000 to 2100."))
        return year
    if kind == "money":
        return _money(raw)
    if kind == "date":
        return _date(raw, ctx["year"])
    if kind == "weight":
        if blank(raw):
            return 1
        weight = _integer(raw)
        if weight is None or not 1 <= weight <= 10:
            raise Bad(_("The weight must be a whole number from 1 to 10."))
        return weight
    if kind == "flag":
        return _flag(raw)
    if kind == "finished":
        if isinstance(raw, datetime | date):
            return True
        return values.is_finished(raw) if not blank(raw) else None
    if kind == "stage":
        text = cell_text(raw)
        if not text:
            return "signed"
        if text in STAGE_CODES:
            return STAGE_CODES[text]
        if text in STAGE_NAMES:
            return text
        raise Bad(_("Must be one of %(stages)s.", stages=_(", ").join(STAGE_NAMES.values())))
    if kind == "units":
        names = values.split_units(_text(raw, column))
        return [lookups.unit(n, None, ctx["options"], ctx["checked"]) for n in names]
    name = _text(raw, column)
    if not name:
        return None
    current = ctx["current"].get(column.key)
    if kind == "category":
        return lookups.named(lookups.categories, _("Category"), name, current)
    if kind == "theme":
        return lookups.named(lookups.themes, _("Timeline theme"), name, current)
    if kind == "unit":
        names = values.split_units(name) or [name]
        return [lookups.unit(n, current if i == 0 else None, ctx["options"], ctx["checked"]) for i, n in enumerate(names)]
    if kind == "leader":
        return lookups.leader(values.clean_person(name) or name, current)
    if kind == "person":
        return values.clean_person(name) or name
    raise AssertionError(kind)  # pragma: no cover


CURRENT_FIELD = {
    "category": "category_id", "theme": "theme_id", "lead_unit": "lead_unit_id",
    "lead_leader": "lead_leader_id", "unit": "unit_id",
}


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, NewUnit):
        return ("new", value.name)
    if isinstance(value, NewPerson):
        return ("new person", value.unit.name, value.name)
    return value.id if hasattr(value, "id") else value


def _sheet_category(layout: SheetLayout, hint: str | None, lookups: Lookups, options: Options) -> Category | None:
    """The category a sheet's name, a section heading or the caller names (in that order of closeness)."""
    for text in (hint, layout.name):
        if not text:
            continue
        text = values.normalise_text(text)
        if text in lookups.categories:
            return lookups.categories[text]
        for name, category in sorted(lookups.categories.items(), key=lambda kv: -len(kv[0])):
            if name in text:
                return category
    if options.category:
        return lookups.categories.get(options.category)
    return None


def ledger_year(layouts: list[SheetLayout], options: Options, today: date) -> int:
    """The year of dates written without one: the caller's, the title's, the most common year of the full dates, or this year."""
    if options.year:
        return options.year
    for layout in layouts:
        hint = values.year_hint(layout.titles + [layout.name])
        if hint:
            return hint
    years: Counter = Counter()
    for layout in layouts:
        for row in layout.rows:
            for key in ("deadline", "completed_on"):
                raw = row.values.get(key)
                if isinstance(raw, datetime | date):
                    years[raw.year] += 1
                elif isinstance(raw, str):
                    match = re.search(r"(20\d\d)", values.normalise_text(raw))
                    if match:
                        years[int(match.group(1))] += 1
    return years.most_common(1)[0][0] if years else today.year


def check_layouts(layouts: list[SheetLayout], lookups: Lookups, options: Options, *, today: date,
                  go_live: date) -> Checked:
    """Check every data row of every sheet; problems refuse the file, notes do not."""
    out = Checked(go_live=go_live, today=today)
    year = ledger_year(layouts, options, today)
    seen_nodes: dict[tuple[str, str], tuple[str, int]] = {}
    for layout in layouts:
        if not layout.rows:
            out.notes.append(Note(_("Sheet not imported: %(reason)s.", reason=layout.reason or _("no data rows")),
                                  layout.name))
            continue
        present = set(layout.fields)
        out.ignored_rows += len(layout.ignored)
        out.hidden_rows += len(layout.hidden)
        for number, words in layout.hidden:
            out.notes.append(Note(_("Hidden row not imported (%(words)s).", words=words or _("empty")),
                                  layout.name, number))
        for column in layout.unknown:
            out.notes.append(Note(_("Unrecognised column “%(label)s” (column %(letter)s) not imported.",
                                    label=column.label, letter=column.letter), layout.name))
        for col in layout.unlabeled:
            out.notes.append(Note(_("Column %(letter)s has content but no heading; not imported.", letter=col),
                                  layout.name))
        for number, key in layout.formulas:
            label, col = layout.where(key)
            out.problems.append(Problem(_("Formulas are not allowed (the file holds no computed result for them); "
                                          "copy the cells and “Paste special → Values”."),
                                        number, label, col, sheet=layout.name))
        missing = [k for k in REQUIRED_COLUMNS if k not in present and not (k == "name" and "code" in present)]
        if missing:
            names = _(", ").join(f"“{FIELDS[k].header}”" for k in missing)
            out.problems.append(Problem(_("No %(names)s column: name it in the header row (or choose the columns "
                                          "in the import wizard).", names=names), None, None, None,
                                        sheet=layout.name))
            continue
        for data in layout.rows:
            _check_row(layout, data, present, lookups, options, year, go_live, out, seen_nodes)
    _check_years_of_untouched_nodes(out, lookups)
    out.problems.sort(key=lambda p: (p.sheet or "", p.row or 0, p.letter or ""))
    return out


def _check_row(layout, data, present, lookups, options, year, go_live, out: Checked, seen_nodes) -> None:
    row = CheckedRow(layout.name, data.number, {}, {}, present)

    def problem(key: str, message: str, raw: Any = None) -> None:
        label, col = layout.where(key)
        out.problems.append(Problem(message, data.number, label, col, sheet=layout.name,
                                    value=None if blank(raw) else str(raw)[:60]))
        row.ok = False

    raw = data.values
    formulas = {key for number, key in layout.formulas if number == data.number}
    has_node = any(not blank(raw.get(k)) for k in ("title", "unit", "deadline", "standard", "responsible"))
    code = cell_text(raw.get("code")) if not blank(raw.get("code")) and not isinstance(raw.get("code"), bool) else ""
    existing = lookups.projects.get(code) if code else None
    ctx = {"lookups": lookups, "options": options, "checked": out, "year": year, "current": {}}
    row_year = year
    if not blank(raw.get("year")):
        try:
            row_year = _value(FIELDS["year"], raw.get("year"), ctx) or year
            ctx["year"] = row_year
        except Bad:
            pass
    name_text = cell_text(raw.get("name")) if isinstance(raw.get("name"), str) else ""
    if existing is None and not code and name_text:
        matches = lookups.by_name.get((row_year, name_text), [])
        existing = matches[0] if len(matches) == 1 else None
    if existing is not None:
        ctx["current"] = {k: getattr(existing, f) for k, f in CURRENT_FIELD.items() if k in BY_KEY and BY_KEY[k].project}
    for key in [k for k in FIELDS if k in present or k in ("category", "year", "lead_unit")]:
        column = FIELDS[key]
        if not column.project and not has_node:
            continue
        if key == "responsible":
            continue  # judged with the node's unit, below
        target = row.project if column.project else row.node
        cell = raw.get(key)
        if key in formulas:  # reported with the sheet
            target[key] = MISSING
            row.ok = False
            continue
        if not column.project and row.node.get("title") and existing is not None:
            matches = lookups.nodes[existing.id].get(row.node["title"], [])
            ctx["current"] = {**ctx["current"], **({"unit": matches[0].unit_id} if len(matches) == 1 else {})}
        try:
            value = _value(column, cell, ctx) if key in present else None
        except Bad as bad:
            problem(key, str(bad), cell)
            target[key] = MISSING
            continue
        if key == "unit" and isinstance(value, list):
            target["unit"], target["co_units_from_unit"] = value[0], value[1:]
            value = value[0]
        elif key == "lead_unit" and isinstance(value, list):
            value = value[0]
        if key == "category" and value is None:
            value = _sheet_category(layout, data.category_hint, lookups, options)
            if value is None:
                problem(key, _("No category: add a “类别” column, name the sheet after the category, "
                               "or choose the category when importing (--category)."))
                target[key] = MISSING
                continue
        if key == "year" and value is None:
            value = year
        if key == "lead_unit" and value is None:
            continue  # the first node's unit, below
        required = column.required and key not in ("code", "lead_unit")
        if required and value in (None, ""):
            problem(key, _("Required; must not be empty."), cell)
            target[key] = MISSING
            continue
        target[key] = value
    project, node = row.project, (row.node if has_node else None)
    row.node = node
    if node is not None:
        co = list(node.pop("co_units_from_unit", []))
        extra = node.get("co_units")
        if isinstance(extra, list):
            co += [u for u in extra if u is not MISSING]
        responsible_unit = node.get("unit")
        if co or "co_units" in present:
            node["co_units"] = [u for i, u in enumerate(co) if u is not responsible_unit and u not in co[:i]]
        if "responsible" in present:
            try:
                person = _value(FIELDS["responsible"], raw.get("responsible"), ctx)
            except Bad as bad:
                problem("responsible", str(bad), raw.get("responsible"))
                person = None
            try:
                user = lookups.person(person, responsible_unit, None, node.get("co_units") or ()) if person else None
            except Bad as bad:
                problem("responsible", str(bad), raw.get("responsible"))
                user = None
            if user is None and person and isinstance(responsible_unit, Unit | NewUnit):
                wanted = (responsible_unit.name, person[:40])
                if wanted in options.accounts:
                    user = out.new_people.setdefault(wanted, NewPerson(wanted[1], responsible_unit))
            node["responsible"] = user
            node["responsible_name"] = "" if user is not None else (person or "")[:40]
    if project.get("lead_unit") is None and node is not None and node.get("unit") not in (None, MISSING):
        project["lead_unit"] = node["unit"]
    if project.get("lead_unit") is None and row.ok:
        problem("lead_unit", _("No lead unit: fill in “牵头单位” or the node's “责任单位”."))
        project["lead_unit"] = MISSING

    # Identity: the ledger's code, the project of the same name and year, or a code made from them.
    if not code and isinstance(project.get("name"), str) and project["name"]:
        same = lookups.by_name.get((project.get("year") if isinstance(project.get("year"), int) else year, project["name"]), [])
        code = same[0].code if len(same) == 1 else generated_code(
            project.get("year") if isinstance(project.get("year"), int) else year, project["name"])
    project["code"] = code or MISSING

    _check_dates(row, project, node, problem, go_live, out, lookups)
    if isinstance(project.get("code"), str):
        first = out.projects.get(project["code"])
        if first is None:
            out.projects[project["code"]] = row
        else:
            for key, column in BY_KEY.items():
                if not column.project or key in ("code",) or key not in present or key not in first.present:
                    continue
                a, b = first.project.get(key), project.get(key)
                if a is MISSING or b is MISSING or _comparable(a) == _comparable(b):
                    continue
                where = _("row %(row)s", row=first.number) if first.sheet == layout.name \
                    else _("“%(sheet)s” row %(row)s", sheet=first.sheet, row=first.number)
                same = _("the same project code “%(code)s”", code=project["code"]) if "code" in present \
                    else _("the same project")
                problem(key, _("“%(header)s” differs from %(where)s (%(same)s); every row of a project must carry "
                               "the same project details.", where=where, same=same, header=column.header), raw.get(key))
        if node is not None and isinstance(node.get("title"), str) and node["title"]:
            key = (project["code"], node["title"])
            if key in seen_nodes:
                problem("title", _("Repeats row %(row)s: node names must not repeat within a project.",
                                   row=seen_nodes[key][1]), node["title"])
            else:
                seen_nodes[key] = (layout.name, data.number)
            existing = lookups.projects.get(project["code"])
            if existing is not None and len(lookups.nodes[existing.id].get(node["title"], [])) > 1:
                problem("title", _("The project already has several nodes named “%(title)s”, so which one to update "
                                   "is unclear; rename them in the portal first.", title=node["title"]))
    out.rows.append(row)


def _check_dates(row, project, node, problem, go_live, out: Checked, lookups: Lookups) -> None:
    start, end = project.get("start_date"), project.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        problem("end_date", _("The end date must not be before the start date."))
    year = project.get("year")
    if node is None or not isinstance(year, int):
        return
    deadline = node.get("deadline")
    if isinstance(deadline, date):
        first, last = project_span(year, start, end)
        if not first <= deadline <= last:
            span = _("the project year (%(year)s)", year=year) if (first, last) == (date(year, 1, 1), date(year, 12, 31)) \
                else _("the project's dates (%(first)s to %(last)s)", first=first.isoformat(), last=last.isoformat())
            problem("deadline", _("The deadline %(deadline)s is outside %(span)s.", deadline=deadline.isoformat(),
                                  span=span), deadline)
    finished, completed = node.get("finished"), node.get("completed_on")
    if completed is MISSING or finished is MISSING:
        return
    if isinstance(completed, date) and out.today and completed > out.today:
        problem("completed_on", _("The completion date %(day)s is after today.", day=completed.isoformat()), completed)
        return
    if finished is None and completed is None and isinstance(node.get("note"), str) and "finished" not in row.present:
        # No 完成情况 column: a remark of 已完成 (and the like) is how the office marks it.
        finished = values.is_finished(node["note"]) or None
    # Finished with no date given: its deadline, or today if that is still ahead (never a day to come).
    node["done_on"] = completed if isinstance(completed, date) else (
        min(deadline, out.today) if finished and isinstance(deadline, date) and out.today else
        (deadline if finished and isinstance(deadline, date) else None))
    if node["done_on"] is None and isinstance(deadline, date) and deadline < go_live and row.ok:
        out.overdue_open += 1
        out.notes.append(Note(_("The node “%(title)s” is due %(deadline)s, before the go-live date %(go_live)s, and "
                                "the ledger does not mark it finished: overdue and open, for a supervisor to judge "
                                "(no card is issued automatically).", title=node.get("title"),
                                deadline=deadline.isoformat(), go_live=go_live.isoformat()),
                              row.sheet, row.number))


def _check_years_of_untouched_nodes(out: Checked, lookups: Lookups) -> None:
    """A changed project year must still hold the project's nodes that the file leaves alone."""
    for code, first in out.projects.items():
        existing = lookups.projects.get(code)
        year = first.project.get("year")
        if existing is None or not isinstance(year, int) or year == existing.year:
            continue
        in_file = {r.node["title"] for r in out.rows
                   if r.node is not None and r.project.get("code") == code and isinstance(r.node.get("title"), str)}
        span = project_span(year, first.project.get("start_date"), first.project.get("end_date"))
        for title, nodes in lookups.nodes[existing.id].items():
            for n in nodes:
                if title not in in_file and not span[0] <= n.deadline <= span[1]:
                    out.problems.append(Problem(
                        _("With the project year changed to %(year)s, the project's node “%(title)s” (due "
                          "%(deadline)s) would fall outside the year; change that node in the file as well.",
                          year=year, title=title, deadline=n.deadline.isoformat()),
                        first.number, "年度", None, sheet=first.sheet))
