"""Reading an uploaded ledger: the file checked before openpyxl opens it, then every sheet as a grid.

Also the refusal every step reports (``Problem``, ``LedgerError``).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass

from portal.ledger.columns import (
    MAX_BYTES,
    MAX_MEMBERS,
    MAX_RATIO,
    MAX_UNCOMPRESSED,
    RATIO_FLOOR,
    SHOWN_PROBLEMS,
)

# -- results and errors ---------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused, at a row and column when it has one."""

    message: str
    row: int | None = None
    column: str | None = None  # the header as the ledger writes it
    letter: str | None = None
    sheet: str | None = None
    value: str | None = None  # the bad value itself, as read

    def __str__(self) -> str:
        shown = f"{self.message}（原值：{self.value}）" if self.value and self.value not in self.message else self.message
        if self.row is not None and self.column:
            return f"第 {self.row} 行，“{self.column}”列：{shown}"
        if self.row is not None:
            return f"第 {self.row} 行：{shown}"
        if self.column:
            return f"“{self.column}”列：{shown}"
        return shown

    def place(self) -> str:
        """Where it is: the sheet, the row and the column letter."""
        parts = [f"“{self.sheet}”" if self.sheet else "", f"第 {self.row} 行" if self.row is not None else "",
                 f"{self.letter} 列" if self.letter else ""]
        return " ".join(p for p in parts if p)


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
    """Refuse anything that is not a reasonably sized xlsx zip before openpyxl sees it (text files are read as CSV)."""
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
        raise LedgerError(422, "这不是 Excel 工作簿（.xlsx）或 CSV 文件，无法读取。")
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


def decode_text(data: bytes) -> str | None:
    """A text file's content (UTF-8 with or without BOM, else GB 18030, which covers GBK), or None if it is not text."""
    if not _looks_like_text(data[:4096]):
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_grids(data: bytes, filename: str = ""):
    """Every sheet of an uploaded ledger as a ``layout.Grid``: an .xlsx workbook, or a CSV file (UTF-8 or GBK).

    A formula keeps the value Excel or WPS last computed for it; a formula
    with no computed value (a file written by a script) is reported by the
    checks where it matters.
    """
    from portal.ledger.layout import grid_of_csv, grid_of_sheet

    if not data:
        raise LedgerError(422, "文件是空的。")
    if len(data) > MAX_BYTES:
        raise LedgerError(413, f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，请分成几个文件导入。")
    if not data.startswith((b"PK\x03\x04", OLE2_MAGIC)):
        text = decode_text(data)
        if text is not None:
            head = text.lstrip()[:200].lower()
            if head.startswith(("<!doctype", "<html", "<?xml", "<table")):
                raise LedgerError(422, "这是网页或 XML 文件，不是台账：请用 Excel 打开后“另存为”Excel 工作簿（*.xlsx）再导入。")
            name = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "CSV"
            return [grid_of_csv(text, name)]
    book = open_workbook(data)
    sheets = [book[name] for name in book.sheetnames if hasattr(book[name], "_cells")]
    cached = None
    if any(cell.data_type == "f" for sheet in sheets for cell in sheet._cells.values()):
        # Read a second time for the values last computed: only when there are formulas.
        from openpyxl import load_workbook

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cached = load_workbook(io.BytesIO(data), data_only=True, keep_links=False, keep_vba=False)
    return [grid_of_sheet(sheet, cached[sheet.title] if cached is not None else None) for sheet in sheets]


def clean_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()

