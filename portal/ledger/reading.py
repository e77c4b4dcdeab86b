"""Reading an uploaded ledger: the file checked before any reader opens it, then every sheet as a grid.

Also the refusal every step reports (``Problem``, ``LedgerError``).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.core.errors import Refused
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
        shown = self.message
        if self.value and self.value not in self.message:
            shown = _("%(message)s (value read: %(value)s)", message=self.message, value=self.value)
        if self.row is not None and self.column:
            return _("Row %(row)s, column “%(column)s”: %(problem)s", row=self.row, column=self.column, problem=shown)
        if self.row is not None:
            return _("Row %(row)s: %(problem)s", row=self.row, problem=shown)
        if self.column:
            return _("Column “%(column)s”: %(problem)s", column=self.column, problem=shown)
        return shown

    def place(self) -> str:
        """Where it is: the sheet, the row and the column letter."""
        parts = [f"“{self.sheet}”" if self.sheet else "", _("row %(row)s", row=self.row) if self.row is not None else "",
                 _("column %(letter)s", letter=self.letter) if self.letter else ""]
        return " ".join(p for p in parts if p)


class LedgerError(Refused):
    """A refused file: an HTTP status, a summary and the row-by-row problems."""

    def __init__(self, status: int, message: str, problems: list[Problem] | None = None):
        super().__init__(status, message)
        self.problems = problems or []

    def lines(self, limit: int | None = SHOWN_PROBLEMS) -> list[str]:
        """The summary and each problem as a line of text (for the CLI)."""
        shown = self.problems if limit is None else self.problems[:limit]
        out = [self.message, *(str(p) for p in shown)]
        if len(self.problems) > len(shown):
            out.append(ngettext("…and one more problem not listed.", "…and %(num)d more problems not listed.",
                                len(self.problems) - len(shown)))
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


def check_container(data: bytes) -> str:
    """What kind of spreadsheet the file is ("xlsx", "xls" or "ods"), refusing before any reader sees it a file
    that is none of them, too large, or a zip archive that would unpack unusually (text files are read as CSV)."""
    if not data:
        raise LedgerError(422, _("The file is empty."))
    if len(data) > MAX_BYTES:
        raise LedgerError(413, _("The file is larger than %(mb)d MB; please split it into several files.",
                                 mb=MAX_BYTES // (1024 * 1024)))
    if data.startswith(OLE2_MAGIC):
        return "xls"  # or an encrypted workbook: the .xls reader tells them apart
    if not data.startswith(b"PK\x03\x04"):
        raise LedgerError(422, _("This is not an Excel workbook (.xlsx) or a CSV file and cannot be read."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise LedgerError(422, _("The file is damaged or not an Excel workbook (.xlsx) and cannot be read.")) from None
    if len(members) > MAX_MEMBERS:
        raise LedgerError(422, _("The file has an unusual structure (too many files in the archive) and was not read."))
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise LedgerError(422, _("The file grows unusually when unpacked (a suspected zip bomb) and was not read."))
    if total > MAX_UNCOMPRESSED:
        raise LedgerError(
            422, _("Unpacked, the file is larger than %(mb)d MB and was not read; please split it into several files.",
                   mb=MAX_UNCOMPRESSED // (1024 * 1024))
        )
    names = {m.filename for m in members}
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        try:
            mimetype = archive.read("mimetype")[:100]
        except (zipfile.BadZipFile, KeyError, OSError, ValueError):
            mimetype = b""
        if mimetype.strip() == b"application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
    if "word/document.xml" in names:
        raise LedgerError(422, _("This is a Word document, not an Excel workbook (.xlsx)."))
    raise LedgerError(422, _("This is not an Excel workbook (.xlsx) file and cannot be read."))


def open_workbook(data: bytes):
    """The openpyxl workbook of a checked .xlsx file (formulas kept, so they can be refused)."""
    from openpyxl import load_workbook

    if check_container(data) != "xlsx":
        raise LedgerError(
            422,
            _("This is an old Excel (.xls) file, an OpenDocument spreadsheet or an encrypted workbook and cannot be "
              "imported here: remove any password and “Save as” an Excel workbook (*.xlsx), then import that."),
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension is not supported" etc.
            return load_workbook(io.BytesIO(data), data_only=False, keep_links=False, keep_vba=False)
    except Exception:  # openpyxl raises many kinds on a broken file
        raise LedgerError(422, _("The Excel workbook cannot be read (the file may be damaged); "
                                 "save it again in Excel, then import it.")) from None


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
    """Every sheet of an uploaded ledger as a ``layout.Grid``: an .xlsx, .xls or .ods workbook, or a CSV file
    (UTF-8 or GBK).

    A formula keeps the value Excel or WPS last computed for it; a formula
    with no computed value (a file written by a script) is reported by the
    checks where it matters.
    """
    from portal.ledger.layout import grid_of_csv, grid_of_sheet

    if not data:
        raise LedgerError(422, _("The file is empty."))
    if len(data) > MAX_BYTES:
        raise LedgerError(413, _("The file is larger than %(mb)d MB; please split it into several files.",
                                 mb=MAX_BYTES // (1024 * 1024)))
    if not data.startswith((b"PK\x03\x04", OLE2_MAGIC)):
        text = decode_text(data)
        if text is not None:
            head = text.lstrip()[:200].lower()
            if head.startswith(("<!doctype", "<html", "<?xml", "<table")):
                raise LedgerError(422, _("This is a web page or an XML file, not a ledger: open it in Excel, "
                                         "“Save as” an Excel workbook (*.xlsx), then import that."))
            name = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "CSV"
            return [grid_of_csv(text, name)]
    kind = check_container(data)
    if kind != "xlsx":
        from portal.ledger.workbooks import grids_of_ods, grids_of_xls

        return grids_of_xls(data) if kind == "xls" else grids_of_ods(data)
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


class Bad(Exception):
    """One cell's problem; its message is for the user."""


def cell_text(raw: Any) -> str:
    """A cell as text (line breaks normalised, surrounding white space removed); a boolean, date or time is refused."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise Bad(_("Write text here, not “TRUE/FALSE”."))
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, Decimal):
        return str(raw)
    if isinstance(raw, datetime | date | time):
        raise Bad(_("Write text here, not a date or a time."))
    if isinstance(raw, str):
        return raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    raise Bad(_("Unrecognised content."))
