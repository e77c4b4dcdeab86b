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

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.core.clock import Clock
from portal.ledger.applying import ImportResult as ImportResult
from portal.ledger.applying import apply_rows
from portal.ledger.checking import Lookups, check_rows, key_of
from portal.ledger.columns import COLUMNS as COLUMNS
from portal.ledger.columns import DATA_SHEET, INDEX
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
from portal.ledger.reading import OLE2_MAGIC as OLE2_MAGIC
from portal.ledger.reading import LedgerError, code_of, open_workbook, read_sheet
from portal.ledger.reading import Problem as Problem
from portal.ledger.template import template_workbook as template_workbook
from portal.models import User


def import_ledger(actor: User | None, data: bytes, *, clock: Clock) -> ImportResult:
    """Check a whole ledger file and apply it, or raise ``LedgerError`` having written nothing.

    The caller commits on success and rolls back on error; this flushes only
    after every row has passed.
    """
    book = open_workbook(data)
    rows, problems = read_sheet(book)
    if not rows and not problems:
        raise LedgerError(422, f"“{DATA_SHEET}”工作表没有数据行。")
    codes = {code_of(r[0]) for _, r in rows} - {""}
    lookups = Lookups(codes)
    checked = check_rows(rows, lookups)
    problems = sorted(problems + checked.problems,
                      key=lambda p: (p.row or 0, INDEX.get(key_of(p.column), 99)))
    if problems:
        raise LedgerError(422, f"台账有 {len(problems)} 处问题，整个文件未导入。请修改后重新导入。", problems)

    try:
        return apply_rows(actor, checked, lookups, len(rows), clock)
    except (IntegrityError, StaleDataError):
        raise LedgerError(
            409, "导入时有人同时新建或修改了相同的项目或节点，本次未导入任何数据；请稍后重新导入。"
        ) from None
