"""Excel ledgers (台账): the template, the import and the export.

One sheet "台账" holds one row per node; the project columns repeat on every
row of the same project (a project without nodes is one row with the node
columns left empty). The import checks every row against every rule and
refuses a bad file whole, with the row and column of each problem; a good
file is applied in the caller's one transaction (services flush, never
commit). Projects are matched by code and nodes by (project, title): a match
is updated, anything else created, and nothing absent from the file is
touched. Exporting writes the same format, so export → import changes nothing.

This module is the area's entry point (the views and the CLI call it); the
work is done by step: ``columns`` (the format), ``reading`` (the file),
``checking`` (the rows), ``applying`` (the database), ``export`` and
``template`` (the workbooks).
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.admin.orgchart import passwords_pdf as passwords_pdf
from portal.admin.services import set_go_live_on
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.ledger.applying import ImportResult as ImportResult
from portal.ledger.applying import apply_rows
from portal.ledger.checking import Checked as Checked
from portal.ledger.checking import Lookups, check_layouts, generated_code, ledger_year
from portal.ledger.checking import Options as Options
from portal.ledger.columns import COLUMNS as COLUMNS
from portal.ledger.columns import HEADERS as HEADERS
from portal.ledger.columns import MAX_BYTES as MAX_BYTES
from portal.ledger.columns import MAX_RATIO as MAX_RATIO
from portal.ledger.columns import MAX_ROWS as MAX_ROWS
from portal.ledger.columns import SHOWN_PROBLEMS as SHOWN_PROBLEMS
from portal.ledger.columns import XLSX_MIMETYPE as XLSX_MIMETYPE
from portal.ledger.export import Scope as Scope
from portal.ledger.export import build_workbook as build_workbook
from portal.ledger.export import export_ledger as export_ledger
from portal.ledger.export import ledger_rows as ledger_rows
from portal.ledger.layout import SheetLayout, detect
from portal.ledger.reading import OLE2_MAGIC as OLE2_MAGIC
from portal.ledger.reading import LedgerError, read_grids
from portal.ledger.reading import Problem as Problem
from portal.ledger.template import template_workbook as template_workbook
from portal.models import User
from portal.models.policy import go_live_on


def read_ledger(data: bytes, *, options: Options, filename: str = "") -> list[SheetLayout]:
    """The file's sheets as detected layouts (every sheet, or ``options.sheet``); refuses a file with no table at all."""
    grids = read_grids(data, filename)
    if options.sheet:
        grids = [g for g in grids if g.name == options.sheet]
        if not grids:
            raise LedgerError(422, _("There is no sheet named “%(sheet)s”.", sheet=options.sheet))
    layouts = [detect(g, mapping=options.mapping) for g in grids]
    if not any(layout.rows for layout in layouts):
        reasons = _("; ").join(_("“%(sheet)s”: %(reason)s", sheet=layout.name, reason=layout.reason or _("no data rows"))
                               for layout in layouts) or _("no sheets")
        raise LedgerError(422, _("The ledger has no data rows to import (%(reasons)s).", reasons=reasons))
    rows = sum(len(layout.rows) for layout in layouts)
    if rows > MAX_ROWS:
        raise LedgerError(422, _("A file may hold at most %(max)d data rows (this one has %(rows)d); "
                                 "please split it into several files.", max=MAX_ROWS, rows=rows))
    return layouts


def plan(layouts: list[SheetLayout], *, options: Options, clock: Clock) -> tuple[Checked, Lookups]:
    """Every row checked against the county, nothing written: the dry run's material."""
    today = clock.today()
    year = ledger_year(layouts, options, today)
    codes, names = set(), set()
    for layout in layouts:
        for row in layout.rows:
            code, name = row.values.get("code"), row.values.get("name")
            if isinstance(code, str | int) and str(code).strip():
                codes.add(str(code).strip())
            if isinstance(name, str) and name.strip():
                names.add((year, name.strip()))
                codes.add(generated_code(year, name.strip()))
    lookups = Lookups(codes, names)
    go_live = options.go_live or go_live_on() or today
    return check_layouts(layouts, lookups, options, today=today, go_live=go_live), lookups


def import_ledger(actor: User | None, data: bytes, *, clock: Clock, options: Options | None = None,
                  filename: str = "", check: bool = False) -> ImportResult:
    """Check a whole ledger file and apply it, or raise ``LedgerError`` having written nothing.

    With ``check`` the whole import is carried out in a savepoint and rolled
    back: the counts are exactly what a real import would do, and nothing
    stays. The caller commits on success and rolls back on error; the first
    import sets the county's go-live date (启用日期) when it has none.
    """
    options = options or Options()
    layouts = read_ledger(data, options=options, filename=filename)
    checked, lookups = plan(layouts, options=options, clock=clock)
    if checked.problems:
        raise LedgerError(422, ngettext("The ledger has a problem; nothing in the file was imported. Correct it and import it again.",
                                          "The ledger has %(num)d problems; nothing in the file was imported. "
                                          "Correct them and import it again.", len(checked.problems)),
                          checked.problems)
    rows = sum(len(layout.rows) for layout in layouts)
    try:
        savepoint = db.session.begin_nested() if check else None
        if go_live_on() is None and not check:
            set_go_live_on(actor, checked.go_live, now=clock.now())
        result = apply_rows(actor, checked, lookups, rows, clock)
        result.notes = checked.notes
        if savepoint is not None:
            savepoint.rollback()
        return result
    except (IntegrityError, StaleDataError):
        raise LedgerError(
            409, _("Someone created or changed the same projects or nodes during the import; nothing was "
                   "imported. Please import the file again in a moment.")
        ) from None


def go_live_default(today: date) -> date:
    """The go-live date a first import would set: the county's, else today."""
    return go_live_on() or today


def county_names() -> tuple[str, ...]:
    """The county's own name as ledgers prefix unit names with it (清溪县 and 清溪), for matching units.

    ``JIEDIAN_COUNTY`` names it; otherwise it is the 县 name most unit names and the office name begin with.
    """
    import re
    from collections import Counter

    from flask import current_app
    from sqlalchemy import select

    from portal.models import Unit

    name = current_app.config.get("JIEDIAN_COUNTY") or ""
    if not name:
        found = Counter()
        for unit_name in [*db.session.scalars(select(Unit.name)), current_app.config.get("JIEDIAN_OFFICE_NAME", "")]:
            match = re.match(r"^(\w{1,4}?县)(?!委|政府|人民|级)", unit_name or "")
            if match and match.group(1) != "县":
                found[match.group(1)] += 1
        name = found.most_common(1)[0][0] if found else ""
    return (name, name.removesuffix("县")) if name else ()


def saved_mapping(name: str) -> dict[str, str] | None:
    """A column mapping saved by the wizard under ``name``: header as written → field."""
    from sqlalchemy import select

    from portal.models import LedgerMapping

    row = db.session.scalar(select(LedgerMapping).where(LedgerMapping.name == name))
    return dict(row.mapping.get("columns", {})) if row is not None else None
