"""Reading an uploaded ledger: the file checked before openpyxl opens it, the sheet, the cells.

Also the refusal every step reports (``Problem``, ``LedgerError``) and the
helpers that turn a cell into text, a number, a date or a yes/no.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.ledger.columns import (
    COLUMNS,
    DATA_SHEET,
    HEADERS,
    HELP_SHEET,
    MAX_BYTES,
    MAX_MEMBERS,
    MAX_MONEY,
    MAX_RATIO,
    MAX_ROWS,
    MAX_UNCOMPRESSED,
    NO,
    RATIO_FLOOR,
    SHOWN_PROBLEMS,
    YES,
    letter,
)

# -- results and errors ---------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused, at a row and column when it has one."""

    message: str
    row: int | None = None
    column: str | None = None  # the header
    letter: str | None = None

    def __str__(self) -> str:
        if self.row is not None and self.column:
            return f"第 {self.row} 行，“{self.column}”列：{self.message}"
        if self.row is not None:
            return f"第 {self.row} 行：{self.message}"
        if self.column:
            return f"“{self.column}”列：{self.message}"
        return self.message


class LedgerError(Exception):
    """A refused file: an HTTP status, a summary and the row-by-row problems."""

    def __init__(self, status: int, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []

    def lines(self, limit: int | None = SHOWN_PROBLEMS) -> list[str]:
        """The summary and each problem as a line of text (for the CLI)."""
        shown = self.problems if limit is None else self.problems[:limit]
        out = [self.message, *(str(p) for p in shown)]
        if len(self.problems) > len(shown):
            out.append(f"……另有 {len(self.problems) - len(shown)} 处问题未列出。")
        return out


# -- opening the file -----------------------------------------------------------

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError:
            # A multi-byte character may be cut at the end of the sample.
            try:
                head[:-4].decode(encoding)
                return True
            except UnicodeDecodeError:
                continue
    return False


def check_container(data: bytes) -> None:
    """Refuse anything that is not a reasonably sized xlsx zip before openpyxl sees it."""
    if not data:
        raise LedgerError(422, "文件是空的。")
    if len(data) > MAX_BYTES:
        raise LedgerError(413, f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，请分成几个文件导入。")
    if data.startswith(OLE2_MAGIC):
        raise LedgerError(
            422,
            "这是旧版 Excel（.xls）文件或加密的工作簿，不能导入：请在 Excel 中取消密码，"
            "“另存为”Excel 工作簿（*.xlsx）后再导入。",
        )
    if not data.startswith(b"PK\x03\x04"):
        if _looks_like_text(data[:4096]):
            raise LedgerError(
                422,
                "这是文本文件（如 CSV 或网页），不是 Excel 工作簿：请用 Excel 打开后"
                "“另存为”Excel 工作簿（*.xlsx），或下载导入模板填写。",
            )
        raise LedgerError(422, "这不是 Excel 工作簿（.xlsx）文件，无法读取。")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise LedgerError(422, "文件已损坏或不是 Excel 工作簿（.xlsx），无法读取。") from None
    if len(members) > MAX_MEMBERS:
        raise LedgerError(422, "文件结构异常（压缩包内文件过多），拒绝读取。")
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise LedgerError(422, "文件解压后异常膨胀（疑似压缩炸弹），拒绝读取。")
    if total > MAX_UNCOMPRESSED:
        raise LedgerError(
            422, f"文件解压后超过 {MAX_UNCOMPRESSED // (1024 * 1024)} MB，拒绝读取；请分成几个文件导入。"
        )
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise LedgerError(422, "这是 Word 文档，不是 Excel 工作簿（.xlsx）。")
        raise LedgerError(422, "这不是 Excel 工作簿（.xlsx）文件，无法读取。")


def open_workbook(data: bytes):
    """The openpyxl workbook of a checked file (formulas kept, so they can be refused)."""
    from openpyxl import load_workbook

    check_container(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension is not supported" etc.
            return load_workbook(io.BytesIO(data), data_only=False, keep_links=False, keep_vba=False)
    except Exception:  # openpyxl raises many kinds on a broken file
        raise LedgerError(422, "无法读取该 Excel 工作簿（文件可能已损坏），请在 Excel 中重新保存后再导入。") from None


# -- reading the sheet ----------------------------------------------------------


REPORTED = object()  # a cell whose problem read_sheet has already reported


def _norm_header(value: Any) -> str:
    text = "" if value is None else str(value)
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_sheet(book) -> tuple[list[tuple[int, list[Any]]], list[Problem]]:
    """The data rows (sheet row number, raw values) and the problems of the sheet itself.

    Refuses (raises) when the sheets or the header row are wrong, since
    nothing else can then be read reliably.
    """
    extra = [name for name in book.sheetnames if name not in (DATA_SHEET, HELP_SHEET)]
    if DATA_SHEET not in book.sheetnames:
        raise LedgerError(422, f"找不到“{DATA_SHEET}”工作表：请使用导入模板（工作表名须为“{DATA_SHEET}”）。")
    if extra:
        raise LedgerError(
            422,
            f"工作簿只能包含“{DATA_SHEET}”和“{HELP_SHEET}”两个工作表，请删除：{'、'.join(extra)}。",
        )
    sheet = book[DATA_SHEET]
    if not hasattr(sheet, "_cells"):  # a chartsheet named 台账
        raise LedgerError(422, f"“{DATA_SHEET}”不是数据工作表。")

    # Only the cells that exist (openpyxl's iter_rows would create every empty one).
    by_row: dict[int, dict[int, Any]] = defaultdict(dict)
    problems: list[Problem] = []
    width = len(COLUMNS)
    for (r, c), cell in sheet._cells.items():
        value = cell.value
        if _blank(value):
            continue
        name = HEADERS[c - 1] if c <= width else None
        where = {"row": r, "column": name or f"{letter(c - 1)}", "letter": letter(c - 1)}
        if r > 1 and cell.data_type == "f":
            problems.append(Problem("不能含公式，请复制后“选择性粘贴为数值”。", **where))
            if c <= width:
                by_row[r][c - 1] = REPORTED
            continue
        if r > 1 and cell.data_type == "e":
            problems.append(Problem(f"单元格是错误值（{value}），请填写实际内容。", **where))
            if c <= width:
                by_row[r][c - 1] = REPORTED
            continue
        if c > width:
            if r > 1:
                problems.append(Problem("模板之外的列不能有内容，请删除。", **where))
            continue
        by_row[r][c - 1] = value

    header = by_row.pop(1, {})
    wrong = []
    for i, expected in enumerate(HEADERS):
        found = header.get(i)
        if _norm_header(found) != _norm_header(expected):
            shown = "（空）" if _blank(found) else f"“{found}”"
            wrong.append(Problem(f"表头应为“{expected}”，实为{shown}。", 1, expected, letter(i)))
    for (r, c), cell in sheet._cells.items():
        if r == 1 and c > width and not _blank(cell.value):
            wrong.append(Problem(f"多余的表头“{cell.value}”，请删除该列。", 1, letter(c - 1), letter(c - 1)))
    if wrong:
        raise LedgerError(422, "表头不正确：第 1 行须与导入模板的表头完全一致（请下载最新模板）。", wrong)

    for merged in sheet.merged_cells.ranges:
        c = merged.min_col
        problems.append(Problem(
            f"不能使用合并单元格（{merged.coord}），请取消合并并在每一行填写完整。",
            merged.min_row, HEADERS[c - 1] if c <= width else letter(c - 1), letter(c - 1),
        ))

    rows = [(r, [values.get(i) for i in range(width)]) for r, values in sorted(by_row.items())]
    rows = [(r, v) for r, v in rows if not all(_blank(x) for x in v)]
    if len(rows) > MAX_ROWS:
        raise LedgerError(422, f"一个文件最多 {MAX_ROWS} 行数据（本文件 {len(rows)} 行），请分成几个文件导入。")
    return rows, problems


# -- reading values -------------------------------------------------------------


class _Bad(Exception):
    """One cell's problem."""


DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
BAD_DATE = "日期格式不正确（应为 2026-06-30）"


def _as_text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise _Bad("应填写文字，不是“TRUE/FALSE”。")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, Decimal):
        return str(raw)
    if isinstance(raw, datetime | date | time):
        raise _Bad("应填写文字，不是日期或时间。")
    if isinstance(raw, str):
        return raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    raise _Bad("无法识别的内容。")


def code_of(raw: Any) -> str:
    """A row's project code as text, or "" when it cannot be read (reported elsewhere)."""
    if raw is REPORTED:
        return ""
    try:
        return _as_text(raw)
    except _Bad:
        return ""


def _integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"\s*\d{1,9}\s*", raw):
        return int(raw)
    return None


def _date(raw: Any) -> date | None:
    if _blank(raw):
        return None
    if isinstance(raw, datetime):
        if raw.time() != time(0):
            raise _Bad(BAD_DATE + "，不能带时间。")
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        match = DATE_RE.fullmatch(raw.strip())
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                raise _Bad(f"日期不存在（{raw.strip()}）。") from None
    raise _Bad(BAD_DATE + "。")


def _money(raw: Any) -> Decimal:
    if _blank(raw):
        return Decimal("0.00")
    message = "须为 0 到 999,999,999 之间的数字（单位万元，最多两位小数）。"
    if isinstance(raw, bool | datetime | date):
        raise _Bad(message)
    try:
        if isinstance(raw, float):
            value = Decimal(repr(raw))
        elif isinstance(raw, int | Decimal):
            value = Decimal(raw)
        else:
            value = Decimal(str(raw).strip().replace(",", "").replace("，", ""))
    except (InvalidOperation, ValueError):
        raise _Bad(message) from None
    if not value.is_finite() or value < 0 or value > MAX_MONEY or value != value.quantize(Decimal("0.01")):
        raise _Bad(message)
    return value.quantize(Decimal("0.01"))


def _flag(raw: Any) -> bool:
    if _blank(raw):
        return False
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    if text == YES:
        return True
    if text == NO:
        return False
    raise _Bad(f"请填写“{YES}”或“{NO}”。")


def clean_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()

