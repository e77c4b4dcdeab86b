"""Reading an organisation workbook: the file checked and opened as the ledger import does, then its sheets.

Sheets are found by name in any order, each header on the sheet's first
non-empty row; names and headers are compared without surrounding spaces and
with full-width letters, digits and punctuation read as their half-width forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter

from portal.admin.orgchart.columns import HELP_SHEET, MAX_BYTES, MAX_ROWS, SHEETS, Sheet
from portal.core.errors import Refused
from portal.ledger.reading import OLE2_MAGIC, LedgerError, open_workbook
from portal.ledger.reading import Bad as Bad  # one cell's problem, as the ledger import reports it
from portal.ledger.reading import cell_text as cell_text


@dataclass(frozen=True)
class Problem:
    """One reason the file is refused: where (sheet, row, column, cell), the value found and what is wrong."""

    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None  # the header
    cell: str | None = None  # "C5"
    value: str = ""

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(_("sheet “%(sheet)s”", sheet=self.sheet))
        if self.row is not None:
            where.append(_("row %(row)s", row=self.row))
        if self.column:
            where.append(_("column “%(column)s” (%(cell)s)", column=self.column, cell=self.cell) if self.cell
                         else _("column “%(column)s”", column=self.column))
        problem = _("%(problem)s (content: “%(value)s”)", problem=self.message, value=self.value) if self.value \
            else self.message
        if not where:
            return problem
        place = where[0]
        for part in where[1:]:
            place = _("%(first)s %(then)s", first=place, then=part)
        return _("%(where)s: %(problem)s", where=place, problem=problem)


@dataclass
class Row:
    """One data row: the sheet's row number and each column's raw value and cell reference."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)


REPORTED = object()  # a cell whose problem is already reported (a formula, an error value)


def fold(text: str) -> str:
    """Full-width forms as half-width, and no white space at all: how names and headers are compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def key(text: str) -> str:
    """The matching key of a name: folded and case-insensitive."""
    return fold(text).casefold()


def _header_key(text: Any) -> str:
    folded = fold("" if text is None else str(text))
    folded = re.sub(r"\([^()]*\)$", "", folded)  # 用户名(可不填)
    return folded.strip("*").casefold()


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(raw: Any) -> str:
    """A value as the problem report shows it (short)."""
    if raw is None or raw is REPORTED:
        return ""
    text = str(raw).strip()
    return text if len(text) <= 60 else text[:60] + "…"


def _is_text(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head or head.startswith((b"PK\x03\x04", OLE2_MAGIC)):
        return False
    for encoding in ("utf-8", "gb18030"):
        for sample in (head, head[:-4]):  # a character may be cut at the end of the sample
            try:
                sample.decode(encoding)
                return True
            except UnicodeDecodeError:
                continue
    return False


def open_book(data: bytes):
    """The workbook, or ``Refused`` (413 too large, 422 not a workbook): the ledger import's checks."""
    if data and len(data) <= MAX_BYTES and _is_text(data):
        raise Refused(422, _("This is a text file (such as CSV or a web page), not an Excel workbook: open it in "
                             "Excel and “Save as” an Excel workbook (*.xlsx), or fill in the import template."))
    try:
        return open_workbook(data)
    except LedgerError as error:
        raise Refused(error.status, error.message) from None


@dataclass
class Read:
    rows: dict[str, list[Row]]  # by sheet key; a sheet the file lacks is absent
    problems: list[Problem]


def read_book(book) -> Read:
    """Every sheet's data rows and the problems of the sheets themselves."""
    problems: list[Problem] = []
    by_key = {_header_key(s.title): s for s in SHEETS}
    found: dict[str, tuple[str, Any]] = {}
    for name in book.sheetnames:
        sheet = book[name]
        spec = by_key.get(_header_key(name))
        if spec is None:
            if _header_key(name) != _header_key(HELP_SHEET) and _has_content(sheet):
                problems.append(Problem(
                    _("Unrecognised sheet: only the four sheets “联赛”, “单位”, “用户” and “说明” are allowed; "
                      "delete it or give it one of these names."), sheet=name))
            continue
        if spec.key in found:
            problems.append(Problem(_("Same name as the sheet “%(other)s”: keep only one “%(title)s” sheet.",
                                      other=found[spec.key][0], title=spec.title), sheet=name))
            continue
        if not hasattr(sheet, "_cells"):
            problems.append(Problem(_("Not a data sheet (perhaps a chart); delete it and create it again."), sheet=name))
            continue
        found[spec.key] = (name, sheet)
    rows: dict[str, list[Row]] = {}
    for spec in SHEETS:
        if spec.key in found:
            name, sheet = found[spec.key]
            rows[spec.key] = _read_sheet(spec, name, sheet, problems)
    return Read(rows, problems)


def _has_content(sheet) -> bool:
    return not hasattr(sheet, "_cells") or any(not blank(c.value) for c in sheet._cells.values())


def _read_sheet(spec: Sheet, name: str, sheet, problems: list[Problem]) -> list[Row]:
    # Only the cells that exist (iter_rows would create every empty one up to the sheet's dimension).
    cells = {(r, c): cell for (r, c), cell in sheet._cells.items() if not blank(cell.value)}
    if not cells:
        return []
    header_row = min(r for r, _c in cells)
    columns: dict[int, str] = {}
    bad_header = False
    wanted = {_header_key(col.header): col for col in spec.columns}
    for (r, c), cell in sorted(cells.items()):
        if r != header_row:
            continue
        letter = get_column_letter(c)
        col = wanted.get(_header_key(cell.value))
        if col is None:
            known = _(", ").join(f"“{x.header}”" for x in spec.columns)
            problems.append(Problem(_("Unrecognised heading: this sheet's columns can only be %(known)s.", known=known),
                                    name, r, letter, f"{letter}{r}",
                                    shown(cell.value)))
            bad_header = True
        elif col.key in columns.values():
            problems.append(Problem(_("The heading “%(header)s” appears twice.", header=col.header), name, r, col.header,
                                    f"{letter}{r}", shown(cell.value)))
            bad_header = True
        else:
            columns[c] = col.key
    for col in spec.columns:
        if col.required and col.key not in columns.values():
            problems.append(Problem(_("The “%(header)s” column is missing (the header belongs on the first row "
                                      "with content).", header=col.header), name, header_row, col.header))
            bad_header = True
    if bad_header:
        return []

    headers = {c: spec.column(k).header for c, k in columns.items()}
    by_row: dict[int, Row] = {}
    for (r, c), cell in sorted(cells.items()):
        if r <= header_row:
            continue
        letter = get_column_letter(c)
        if c not in columns:
            problems.append(Problem(_("This column has no heading, so its content cannot be imported; delete it or "
                                      "add the heading."), name, r, letter, f"{letter}{r}",
                                    shown(cell.value)))
            continue
        row = by_row.setdefault(r, Row(r))
        row.cells[columns[c]] = f"{letter}{r}"
        if cell.data_type == "f":
            problems.append(Problem(_("Formulas are not allowed; copy the cells and “Paste special → Values”."), name, r,
                                    headers[c], f"{letter}{r}", shown(cell.value)))
            row.values[columns[c]] = REPORTED
        elif cell.data_type == "e":
            problems.append(Problem(_("The cell holds an error value; fill in the actual content."), name, r, headers[c],
                                    f"{letter}{r}", shown(cell.value)))
            row.values[columns[c]] = REPORTED
        else:
            row.values[columns[c]] = cell.value
    for merged in sheet.merged_cells.ranges:
        if merged.max_row > header_row:
            c = merged.min_col
            problems.append(Problem(_("Merged cells are not allowed (%(cells)s); unmerge them and fill in every row "
                                      "in full.", cells=merged.coord), name,
                                    merged.min_row, headers.get(c, get_column_letter(c)), merged.coord))
    rows = [by_row[r] for r in sorted(by_row)]
    if len(rows) > MAX_ROWS:
        raise Refused(422, _("The “%(sheet)s” sheet may hold at most %(max)d data rows (this one has %(rows)d); "
                             "please split it into several files.", sheet=name, max=MAX_ROWS, rows=len(rows)))
    return rows
