"""Grids of the other spreadsheet files counties keep ledgers in: old Excel (.xls) and OpenDocument (.ods).

``reading`` has checked the file's size (and, for .ods, the zip archive) before either reader sees it; each
returns one ``layout.Grid`` per sheet, with merged ranges filled and hidden rows marked, as ``grid_of_sheet``
does for .xlsx. Dates come as ``datetime``, numbers as ``int`` or ``float``, text as ``str``; a formula keeps the
value last computed for it, which both formats store.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from flask_babel import gettext as _

from portal.ledger.columns import MAX_ROWS
from portal.ledger.layout import Grid, blank
from portal.ledger.reading import LedgerError

# Rows and columns past these are not read: a real ledger is far smaller, a file that claims more is broken.
MAX_READ_ROWS = MAX_ROWS * 4 + 1000
MAX_READ_COLS = 200


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# -- .xls (BIFF, through xlrd) -------------------------------------------------------


def grids_of_xls(data: bytes) -> list[Grid]:
    import xlrd
    from xlrd.biffh import XLRDError

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=False,
                                  logfile=io.StringIO(), ragged_rows=True)
    except XLRDError as error:
        if "encrypt" in str(error).lower():
            raise LedgerError(422, _("This workbook is protected by a password and cannot be read: remove the "
                                     "password in Excel or WPS, save it, then import it again.")) from None
        raise LedgerError(422, _("This old Excel (.xls) file cannot be read (it may be damaged or encrypted): open "
                                 "it in Excel or WPS and “Save as” an Excel workbook (*.xlsx), then import that.")) from None
    except Exception:  # xlrd raises many kinds on a broken file
        raise LedgerError(422, _("This old Excel (.xls) file cannot be read (it may be damaged or encrypted): open "
                                 "it in Excel or WPS and “Save as” an Excel workbook (*.xlsx), then import that.")) from None
    return [_grid_of_xls_sheet(book, sheet) for sheet in book.sheets()]


def _grid_of_xls_sheet(book, sheet) -> Grid:
    import xlrd

    values: dict[tuple[int, int], Any] = {}
    rows = cols = 0
    for r in range(min(sheet.nrows, MAX_READ_ROWS)):
        for c, cell in enumerate(sheet.row(r)[:MAX_READ_COLS]):
            kind, value = cell.ctype, cell.value
            if kind == xlrd.XL_CELL_NUMBER:
                value = _number(value)
            elif kind == xlrd.XL_CELL_DATE:
                try:
                    value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    value = _number(value)
            elif kind == xlrd.XL_CELL_BOOLEAN:
                value = bool(value)
            elif kind != xlrd.XL_CELL_TEXT:
                continue  # empty, blank, error
            if blank(value):
                continue
            values[(r + 1, c + 1)] = value
            rows, cols = max(rows, r + 1), max(cols, c + 1)
    grid = Grid(sheet.name, rows, cols, values)
    for rlo, rhi, clo, chi in sheet.merged_cells:  # half-open, 0-based
        if rhi <= MAX_READ_ROWS and chi <= MAX_READ_COLS:
            grid.fill_merged(rlo + 1, clo + 1, rhi, chi)
    for r, info in sheet.rowinfo_map.items():
        if info.hidden:
            grid.hidden.add(r + 1)
    return grid


# -- .ods (OpenDocument spreadsheet) --------------------------------------------------

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _t(name: str) -> str:
    return f"{{{TABLE}}}{name}"


def _walk(node, parts: list[str]) -> None:
    if node.text:
        parts.append(node.text)
    for child in node:
        tag = child.tag
        if tag == f"{{{TEXT}}}s":
            try:
                parts.append(" " * min(int(child.get(f"{{{TEXT}}}c", "1")), 100))
            except ValueError:
                parts.append(" ")
        elif tag == f"{{{TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{TEXT}}}line-break":
            parts.append("\n")
        else:
            _walk(child, parts)
        if child.tail:
            parts.append(child.tail)


def _text_of(element) -> str:
    """A cell's text: its paragraphs one per line, <text:s/> as spaces, <text:tab/> and line breaks kept."""
    lines = []
    for paragraph in element.iter(f"{{{TEXT}}}p"):
        parts: list[str] = []
        _walk(paragraph, parts)
        lines.append("".join(parts))
    return "\n".join(lines)


def _ods_value(cell) -> Any:
    kind = cell.get(f"{{{OFFICE}}}value-type")
    if kind in ("float", "percentage", "currency"):
        try:
            return _number(float(cell.get(f"{{{OFFICE}}}value")))
        except (TypeError, ValueError):
            return _text_of(cell)
    if kind == "date":
        raw = cell.get(f"{{{OFFICE}}}date-value") or ""
        try:
            return datetime.fromisoformat(raw[:19])
        except ValueError:
            return _text_of(cell)
    if kind == "boolean":
        return cell.get(f"{{{OFFICE}}}boolean-value") == "true"
    return _text_of(cell)  # string, time (as written), or no type: the text shown


def _repeat(element, name: str) -> int:
    try:
        return max(1, int(element.get(_t(name), "1")))
    except ValueError:
        return 1


def grids_of_ods(data: bytes) -> list[Grid]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
        # The standard library's parser resolves no external entities and limits entity expansion.
        root = ElementTree.fromstring(content)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, ValueError, OSError):
        raise LedgerError(422, _("This OpenDocument spreadsheet (.ods) cannot be read (it may be damaged): open it "
                                 "and “Save as” an Excel workbook (*.xlsx), then import that.")) from None
    return [_grid_of_table(table) for table in root.iter(_t("table"))]


def _grid_of_table(table) -> Grid:
    values: dict[tuple[int, int], Any] = {}
    merges: list[tuple[int, int, int, int]] = []
    hidden: set[int] = set()
    rows = cols = 0
    r = 0
    for row in table.iter(_t("table-row")):
        repeat = _repeat(row, "number-rows-repeated")
        cells = [child for child in row if child.tag in (_t("table-cell"), _t("covered-table-cell"))]
        filled = any(cell.get(f"{{{OFFICE}}}value-type") or len(cell) for cell in cells)
        if not filled:  # empty rows, often repeated to the end of the sheet
            if row.get(_t("visibility"), "visible") != "visible" and r + repeat <= MAX_READ_ROWS:
                hidden.update(range(r + 1, r + repeat + 1))
            r += repeat
            continue
        for _copy in range(min(repeat, MAX_READ_ROWS - r)):
            r += 1
            if row.get(_t("visibility"), "visible") != "visible":
                hidden.add(r)
            c = 0
            for cell in cells:
                span = _repeat(cell, "number-columns-repeated")
                if cell.tag == _t("covered-table-cell") or not (cell.get(f"{{{OFFICE}}}value-type") or len(cell)):
                    c += span
                    continue
                value = _ods_value(cell)
                across = _repeat(cell, "number-columns-spanned")
                down = _repeat(cell, "number-rows-spanned")
                for _column in range(min(span, MAX_READ_COLS - c)):
                    c += 1
                    if not blank(value):
                        values[(r, c)] = value
                        rows, cols = max(rows, r), max(cols, c)
                    if across > 1 or down > 1:
                        merges.append((r, c, r + down - 1, c + across - 1))
                if c >= MAX_READ_COLS:
                    break
        if r >= MAX_READ_ROWS:
            break
    grid = Grid(table.get(_t("name")) or "Sheet1", rows, cols, values, hidden=hidden)
    for merge in merges:
        grid.fill_merged(*merge)
    return grid
