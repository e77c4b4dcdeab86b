"""Reading an organisation workbook: the file checked and opened as the ledger import does, then its sheets.

Sheets are found by name in any order, each header on the sheet's first
non-empty row; names and headers are compared without surrounding spaces and
with full-width letters, digits and punctuation read as their half-width forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openpyxl.utils import get_column_letter

from portal.admin.orgchart.columns import HELP_SHEET, MAX_BYTES, MAX_ROWS, SHEETS, Sheet
from portal.core.errors import Refused
from portal.ledger.reading import OLE2_MAGIC, LedgerError, open_workbook


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
            where.append(f"“{self.sheet}”表")
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"“{self.column}”列" + (f"（{self.cell}）" if self.cell else ""))
        value = f"（内容：“{self.value}”）" if self.value else ""
        return ("".join(where) + "：" if where else "") + self.message + value


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


class Bad(Exception):
    """One cell's problem."""


def cell_text(raw: Any) -> str:
    """A cell as text, surrounding white space (full-width spaces too) removed."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise Bad("应填写文字，不是“TRUE/FALSE”。")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, Decimal):
        return str(raw)
    if isinstance(raw, datetime | date | time):
        raise Bad("应填写文字，不是日期或时间。")
    if isinstance(raw, str):
        return raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    raise Bad("无法识别的内容。")


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
        raise Refused(422, "这是文本文件（如 CSV 或网页），不是 Excel 工作簿：请用 Excel 打开后“另存为”"
                           "Excel 工作簿（*.xlsx），或下载导入模板填写。")
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
                    "无法识别的工作表，只能有“联赛”“单位”“用户”和“说明”四个工作表；请删除它或改为这些名称。", sheet=name))
            continue
        if spec.key in found:
            problems.append(Problem(f"与工作表“{found[spec.key][0]}”重名，请只保留一个“{spec.title}”表。", sheet=name))
            continue
        if not hasattr(sheet, "_cells"):
            problems.append(Problem("不是数据工作表（可能是图表），请删除后重新建立。", sheet=name))
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
            known = "、".join(f"“{x.header}”" for x in spec.columns)
            problems.append(Problem(f"无法识别的表头，这个表的列只能是 {known}。", name, r, letter, f"{letter}{r}",
                                    shown(cell.value)))
            bad_header = True
        elif col.key in columns.values():
            problems.append(Problem(f"表头“{col.header}”出现了两次。", name, r, col.header, f"{letter}{r}", shown(cell.value)))
            bad_header = True
        else:
            columns[c] = col.key
    for col in spec.columns:
        if col.required and col.key not in columns.values():
            problems.append(Problem(f"缺少“{col.header}”列（表头应在第一行有内容的行）。", name, header_row, col.header))
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
            problems.append(Problem("这一列没有表头，其中的内容无法导入；请删除或补上表头。", name, r, letter, f"{letter}{r}",
                                    shown(cell.value)))
            continue
        row = by_row.setdefault(r, Row(r))
        row.cells[columns[c]] = f"{letter}{r}"
        if cell.data_type == "f":
            problems.append(Problem("不能含公式，请复制后“选择性粘贴为数值”。", name, r, headers[c], f"{letter}{r}", shown(cell.value)))
            row.values[columns[c]] = REPORTED
        elif cell.data_type == "e":
            problems.append(Problem("单元格是错误值，请填写实际内容。", name, r, headers[c], f"{letter}{r}", shown(cell.value)))
            row.values[columns[c]] = REPORTED
        else:
            row.values[columns[c]] = cell.value
    for merged in sheet.merged_cells.ranges:
        if merged.max_row > header_row:
            c = merged.min_col
            problems.append(Problem(f"不能使用合并单元格（{merged.coord}），请取消合并并在每一行填写完整。", name,
                                    merged.min_row, headers.get(c, get_column_letter(c)), merged.coord))
    rows = [by_row[r] for r in sorted(by_row)]
    if len(rows) > MAX_ROWS:
        raise Refused(422, f"“{name}”表最多 {MAX_ROWS} 行数据（本表 {len(rows)} 行），请分成几个文件导入。")
    return rows
