"""Excel ledgers (台账): the template, the import and the export.

One sheet "台账" holds one row per node; the project columns repeat on every
row of the same project (a project without nodes is one row with the node
columns left empty). The import checks every row against every rule and
refuses a bad file whole, with the row and column of each problem; a good
file is applied in the caller's one transaction (services flush, never
commit). Projects are matched by code and nodes by (project, title): a match
is updated, anything else created, and nothing absent from the file is
touched. Exporting writes the same format, so export → import changes nothing.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.core.forms import has_markup
from portal.models import STAGES, Category, Node, Project, Theme, Unit, User, UserRole

# -- limits ---------------------------------------------------------------------

MAX_BYTES = 20 * 1024 * 1024  # the upload itself
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # all zip members together, as declared
MAX_RATIO = 100  # a member larger than 1 MB may not be compressed more than 100:1
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 2000
MAX_ROWS = 10_000  # data rows (a county closes about 2,000 nodes a year)
MAX_MONEY = Decimal(999_999_999)
SHOWN_PROBLEMS = 200  # the page and the CLI list this many, then say how many more

DATA_SHEET = "台账"
HELP_SHEET = "说明"
YES, NO = "是", "否"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STAGE_NAMES = {
    "signed": "签约",
    "started": "开工",
    "building": "在建",
    "completed": "竣工",
    "producing": "投产",
    "performing": "达效",
}
assert tuple(STAGE_NAMES) == STAGES
STAGE_CODES = {label: code for code, label in STAGE_NAMES.items()}


@dataclass(frozen=True)
class Column:
    """One column of the ledger sheet."""

    key: str
    header: str
    kind: str  # code text year money date weight flag stage category theme unit leader person
    required: bool
    width: int
    help: str
    max_len: int | None = None
    project: bool = True  # a project column (repeats on each row of the project)


COLUMNS: tuple[Column, ...] = (
    Column("code", "项目编号", "code", True, 14, "项目的唯一编号，只能用字母、数字、“-”和“_”，最多 30 个字符。系统中已有该编号的项目将被更新。", 30),
    Column("name", "项目名称", "text", True, 30, "最多 100 个字。", 100),
    Column("category", "类别", "category", True, 12, "从下拉列表选择，须为系统中已有的项目类别。", 30),
    Column("theme", "时光轴主题", "theme", False, 12, "可不填；填写时从下拉列表选择。", 30),
    Column("year", "年度", "year", True, 8, "四位数年份，如 2026。节点的完成时限须在该年度内。"),
    Column("lead_unit", "牵头单位", "unit", True, 20, "从下拉列表选择单位全称（也可填简称）。", 60),
    Column("lead_leader", "包保领导", "leader", False, 14, "可不填；填写县领导的登录用户名（不是姓名）。", 40),
    Column("stage", "建设阶段", "stage", False, 10, "签约、开工、在建、竣工、投产、达效之一；不填视为“签约”。"),
    Column("investment_total", "总投资(万元)", "money", False, 14, "单位万元，0 到 999,999,999，最多两位小数；不填视为 0。"),
    Column("investment_planned", "年度计划投资(万元)", "money", False, 14, "单位万元，同上。"),
    Column("investment_completed", "已完成投资(万元)", "money", False, 14, "单位万元，同上。"),
    Column("start_date", "开始日期", "date", False, 12, "可不填；日期格式，如 2026-03-01。"),
    Column("end_date", "结束日期", "date", False, 12, "可不填；不能早于开始日期。"),
    Column("description", "项目说明", "text", False, 30, "可不填，最多 2000 字。", 2000),
    Column("title", "节点", "text", True, 30, "节点名称，最多 120 字；同一项目内不能重名。系统中该项目已有同名节点的将被更新。", 120, False),
    Column("unit", "责任单位", "unit", True, 20, "从下拉列表选择单位全称（也可填简称）。", 60, False),
    Column("responsible", "责任人", "person", False, 14, "可不填；填写责任人的登录用户名（不是姓名）。", 40, False),
    Column("deadline", "完成时限", "date", True, 12, "日期格式，如 2026-06-30，须在项目年度内。", None, False),
    Column("standard", "销号标准", "text", True, 30, "必填，节点完成、可以销号的标准，最多 1000 字。", 1000, False),
    Column("weight", "权重", "weight", False, 6, "1 到 10 的整数；不填视为 1。", None, False),
    Column("is_major", "重大节点", "flag", False, 10, "“是”或“否”；重大节点显示在年度时光轴上。不填视为“否”。", None, False),
    Column("is_key_supervision", "重点督办", "flag", False, 10, "“是”或“否”；不填视为“否”。", None, False),
)
HEADERS = tuple(c.header for c in COLUMNS)
INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
PROJECT_COLUMNS = tuple(c for c in COLUMNS if c.project)
NODE_COLUMNS = tuple(c for c in COLUMNS if not c.project)


def letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index (0 → A, 26 → AA)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


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


@dataclass
class ImportResult:
    """What an import did."""

    rows: int = 0
    projects_created: int = 0
    projects_updated: int = 0
    projects_unchanged: int = 0
    nodes_created: int = 0
    nodes_updated: int = 0
    nodes_unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return dict(self.__dict__)

    def line(self) -> str:
        return "ledger import " + " ".join(f"{k}={v}" for k, v in self.counts().items())


@dataclass(frozen=True)
class Scope:
    """What to export: one unit's nodes, one project, one category, or (all None) the county."""

    unit: Unit | None = None
    project: Project | None = None
    category: Category | None = None

    def label(self) -> str:
        if self.project is not None:
            return self.project.code
        if self.unit is not None:
            return self.unit.name
        if self.category is not None:
            return self.category.name
        return "全县"


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


# -- checking values ------------------------------------------------------------


class _Bad(Exception):
    """One cell's problem."""


MISSING = object()  # a value that could not be read (its problem is already reported)
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


def _code_of(raw: Any) -> str:
    """A row's project code as text, or "" when it cannot be read (reported elsewhere)."""
    if raw is REPORTED:
        return ""
    try:
        return _as_text(raw)
    except _Bad:
        return ""


def _text(raw: Any, column: Column) -> str:
    text = _as_text(raw)
    if has_markup(text):
        raise _Bad("不能包含 HTML 标签或脚本。")
    if column.max_len and len(text) > column.max_len:
        raise _Bad(f"不能超过 {column.max_len} 个字（现有 {len(text)} 个）。")
    return text


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


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


class _Lookups:
    """Everything the checks need, loaded once (no query per row)."""

    def __init__(self, codes: set[str]):
        self.categories = {c.name: c for c in db.session.scalars(select(Category))}
        self.themes = {t.name: t for t in db.session.scalars(select(Theme))}
        units = db.session.scalars(select(Unit)).all()
        self.units = {u.name: u for u in units}
        shorts: dict[str, list[Unit]] = defaultdict(list)
        for u in units:
            if u.short_name and u.short_name not in self.units:
                shorts[u.short_name].append(u)
        self.unit_shorts = shorts
        self.users = {u.username: u for u in db.session.scalars(select(User))}
        self.leaders = set(db.session.scalars(select(UserRole.user_id).where(UserRole.role == "leader")))
        self.projects: dict[str, Project] = {}
        code_list = sorted(codes)
        for start in range(0, len(code_list), 500):
            chunk = code_list[start:start + 500]
            for p in db.session.scalars(select(Project).where(Project.code.in_(chunk))):
                self.projects[p.code] = p
        self.nodes: dict[int, dict[str, list[Node]]] = defaultdict(lambda: defaultdict(list))
        ids = [p.id for p in self.projects.values()]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for n in db.session.scalars(select(Node).where(Node.project_id.in_(chunk)).order_by(Node.id)):
                self.nodes[n.project_id][n.title].append(n)

    def unit(self, name: str, current_id: int | None) -> Unit:
        found = self.units.get(name)
        if found is None:
            candidates = self.unit_shorts.get(name, [])
            if len(candidates) > 1:
                raise _Bad(f"简称“{name}”对应多个单位，请填写单位全称。")
            found = candidates[0] if candidates else None
        if found is None:
            raise _Bad(f"没有名为“{name}”的单位。")
        if not found.is_active and found.id != current_id:
            raise _Bad(f"单位“{name}”已停用。")
        return found

    def named(self, table: dict, what: str, name: str, current_id: int | None):
        found = table.get(name)
        if found is None:
            raise _Bad(f"没有名为“{name}”的{what}。")
        if not found.is_active and found.id != current_id:
            raise _Bad(f"{what}“{name}”已停用。")
        return found

    def user(self, username: str, current_id: int | None, *, leader: bool) -> User:
        found = self.users.get(username)
        if found is None:
            raise _Bad(f"没有用户名为“{username}”的账号（请填写登录用户名，不是姓名）。")
        if found.id == current_id:
            return found
        if not found.is_active_account:
            raise _Bad(f"账号“{username}”已停用。")
        if leader and found.id not in self.leaders:
            raise _Bad(f"“{username}”不是县领导账号，包保领导须为县领导。")
        if not leader and found.unit_id is None:
            raise _Bad(f"账号“{username}”不属于任何单位，不能作为责任人。")
        return found


@dataclass
class _Row:
    number: int
    project: dict[str, Any]
    node: dict[str, Any] | None  # None: a project row without a node
    ok: bool = True


@dataclass
class _Checked:
    rows: list[_Row] = field(default_factory=list)
    projects: dict[str, _Row] = field(default_factory=dict)  # code → its first row
    problems: list[Problem] = field(default_factory=list)


def _value(column: Column, raw: Any, lookups: _Lookups, current: Any) -> Any:
    """The checked value of one cell; ``current`` is the existing record's value (an id for references)."""
    kind = column.kind
    if kind in ("text", "code"):
        value = _text(raw, column)
        if kind == "code" and value and not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise _Bad("只能使用字母、数字、“-”或“_”。")
        return value
    if kind == "year":
        if _blank(raw):
            return None
        year = _integer(raw)
        if year is None or not 2000 <= year <= 2100:
            raise _Bad("须为 2000 到 2100 之间的四位年份。")
        return year
    if kind == "money":
        return _money(raw)
    if kind == "date":
        return _date(raw)
    if kind == "weight":
        if _blank(raw):
            return 1
        weight = _integer(raw)
        if weight is None or not 1 <= weight <= 10:
            raise _Bad("权重须为 1 到 10 的整数。")
        return weight
    if kind == "flag":
        return _flag(raw)
    if kind == "stage":
        text = _as_text(raw)
        if not text:
            return "signed"
        if text in STAGE_CODES:
            return STAGE_CODES[text]
        if text in STAGE_NAMES:
            return text
        raise _Bad(f"须为 {'、'.join(STAGE_NAMES.values())} 之一。")
    # references by name
    name = _text(raw, column)
    if not name:
        return None
    if kind == "category":
        return lookups.named(lookups.categories, "类别", name, current)
    if kind == "theme":
        return lookups.named(lookups.themes, "时光轴主题", name, current)
    if kind == "unit":
        return lookups.unit(name, current)
    if kind == "leader":
        return lookups.user(name, current, leader=True)
    if kind == "person":
        return lookups.user(name, current, leader=False)
    raise AssertionError(kind)  # pragma: no cover


CURRENT_FIELD = {
    "category": "category_id", "theme": "theme_id", "lead_unit": "lead_unit_id",
    "lead_leader": "lead_leader_id", "unit": "unit_id", "responsible": "responsible_user_id",
}


def _comparable(value: Any) -> Any:
    return value.id if hasattr(value, "id") else value


def check_rows(rows: list[tuple[int, list[Any]]], lookups: _Lookups) -> _Checked:
    """Check every cell of every row and the rows against each other and the database."""
    out = _Checked()
    seen_nodes: dict[tuple[str, str], int] = {}

    def problem(row: int, column: Column, message: str) -> None:
        out.problems.append(Problem(message, row, column.header, letter(INDEX[column.key])))

    for number, raw in rows:
        code = _code_of(raw[0])
        existing = lookups.projects.get(code)
        row = _Row(number, {}, {})
        has_node = not all(_blank(raw[INDEX[c.key]]) for c in NODE_COLUMNS)
        for column in COLUMNS:
            if not column.project and not has_node:
                continue
            target = row.project if column.project else row.node
            cell = raw[INDEX[column.key]]
            current = None
            if column.key in CURRENT_FIELD and existing is not None:
                if column.project:
                    current = getattr(existing, CURRENT_FIELD[column.key])
                else:
                    title = _as_text(raw[INDEX["title"]]) if isinstance(raw[INDEX["title"]], str) else None
                    matches = lookups.nodes[existing.id].get(title or "", []) if title else []
                    current = getattr(matches[0], CURRENT_FIELD[column.key]) if len(matches) == 1 else None
            if cell is REPORTED:
                target[column.key] = MISSING
                row.ok = False
                continue
            try:
                value = _value(column, cell, lookups, current)
            except _Bad as bad:
                problem(number, column, str(bad))
                target[column.key] = MISSING
                row.ok = False
                continue
            if column.required and value in (None, ""):
                problem(number, column, "必填，不能为空。")
                target[column.key] = MISSING
                row.ok = False
                continue
            target[column.key] = value
        if not has_node:
            row.node = None
        project, node = row.project, row.node

        start, end = project.get("start_date"), project.get("end_date")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            problem(number, COLUMNS[INDEX["end_date"]], "结束日期不能早于开始日期。")
            row.ok = False
        year = project.get("year")
        if node is not None and isinstance(year, int):
            deadline = node.get("deadline")
            if isinstance(deadline, date) and deadline.year != year:
                problem(number, COLUMNS[INDEX["deadline"]],
                        f"完成时限 {deadline.isoformat()} 不在项目年度（{year} 年）内。")
                row.ok = False

        # The same project on several rows must say the same thing on each.
        if isinstance(project.get("code"), str) and project["code"]:
            first = out.projects.get(project["code"])
            if first is None:
                out.projects[project["code"]] = row
            else:
                for column in PROJECT_COLUMNS[1:]:
                    a, b = first.project.get(column.key), project.get(column.key)
                    if a is MISSING or b is MISSING:
                        continue
                    if _comparable(a) != _comparable(b):
                        problem(number, column, f"与第 {first.number} 行同一项目编号“{project['code']}”的"
                                f"“{column.header}”不一致；同一项目各行的项目信息须相同。")
                        row.ok = False
            if node is not None and isinstance(node.get("title"), str) and node["title"]:
                key = (project["code"], node["title"])
                if key in seen_nodes:
                    problem(number, COLUMNS[INDEX["title"]],
                            f"与第 {seen_nodes[key]} 行重复：同一项目中节点名称不能重复。")
                    row.ok = False
                else:
                    seen_nodes[key] = number
                if existing is not None and len(lookups.nodes[existing.id].get(node["title"], [])) > 1:
                    problem(number, COLUMNS[INDEX["title"]],
                            f"系统中该项目已有多个名为“{node['title']}”的节点，无法确定更新哪一个；请先在系统中改名。")
                    row.ok = False
        out.rows.append(row)

    # A changed project year must still hold the project's nodes that the file leaves alone.
    for code, first in out.projects.items():
        existing = lookups.projects.get(code)
        year = first.project.get("year")
        if existing is None or not isinstance(year, int) or year == existing.year:
            continue
        in_file = {r.node["title"] for r in out.rows
                   if r.node is not None and r.project.get("code") == code and isinstance(r.node.get("title"), str)}
        for title, nodes in lookups.nodes[existing.id].items():
            for n in nodes:
                if title not in in_file and n.deadline.year != year:
                    problem(first.number, COLUMNS[INDEX["year"]],
                            f"项目年度改为 {year} 年后，系统中该项目的节点“{title}”（完成时限 "
                            f"{n.deadline.isoformat()}）将不在年度内；请在文件中一并调整该节点。")
    out.problems.sort(key=lambda p: (p.row or 0, INDEX.get(_key_of(p.column), 99)))
    return out


def _key_of(header: str | None) -> str:
    for column in COLUMNS:
        if column.header == header:
            return column.key
    return ""


# -- applying -------------------------------------------------------------------

PROJECT_FIELDS = (
    "name", "category_id", "theme_id", "year", "lead_unit_id", "lead_leader_id", "stage",
    "investment_total", "investment_planned", "investment_completed", "start_date", "end_date", "description",
)
NODE_FIELDS = (
    "unit_id", "responsible_user_id", "deadline", "standard", "weight", "is_major", "is_key_supervision",
)
TEXT_FIELDS = {"description", "standard"}


def _project_values(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": p["name"],
        "category_id": p["category"].id,
        "theme_id": p["theme"].id if p["theme"] is not None else None,
        "year": p["year"],
        "lead_unit_id": p["lead_unit"].id,
        "lead_leader_id": p["lead_leader"].id if p["lead_leader"] is not None else None,
        "stage": p["stage"],
        "investment_total": p["investment_total"],
        "investment_planned": p["investment_planned"],
        "investment_completed": p["investment_completed"],
        "start_date": p["start_date"],
        "end_date": p["end_date"],
        "description": p["description"],
    }


def _node_values(n: dict[str, Any]) -> dict[str, Any]:
    return {
        "unit_id": n["unit"].id,
        "responsible_user_id": n["responsible"].id if n["responsible"] is not None else None,
        "deadline": n["deadline"],
        "standard": n["standard"],
        "weight": n["weight"],
        "is_major": n["is_major"],
        "is_key_supervision": n["is_key_supervision"],
    }


def _same(name: str, old: Any, new: Any) -> bool:
    if name in TEXT_FIELDS:
        return _clean(old) == _clean(new)
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(old or 0) == Decimal(new or 0)
    return old == new


def _update(obj: Any, values: dict[str, Any]) -> tuple[dict, dict]:
    """Set the values that differ; return (before, after) of exactly those."""
    before, after = {}, {}
    for name, value in values.items():
        old = getattr(obj, name)
        if not _same(name, old, value):
            before[name], after[name] = old, value
            setattr(obj, name, value)
    return before, after


def _bulk_insert(model, rows: list[dict[str, Any]], *key: str) -> dict[Any, int]:
    """Insert rows in batches (one statement per batch, not per row); returns their ids by ``key``."""
    ids: dict[Any, int] = {}
    columns = [getattr(model, k) for k in key]
    for start in range(0, len(rows), 1000):
        batch = rows[start:start + 1000]
        db.session.execute(insert(model), batch)
        # Read the new ids back by their natural key, a batch at a time.
        if len(key) == 1:
            wanted = [r[key[0]] for r in batch]
            stmt = select(model.id, *columns).where(columns[0].in_(wanted))
        else:
            parents = sorted({r[key[0]] for r in batch})
            stmt = select(model.id, *columns).where(columns[0].in_(parents))
        found = {tuple(r[k] for k in key) for r in batch}
        for new_id, *values in db.session.execute(stmt):
            natural = values[0] if len(key) == 1 else tuple(values)
            if (tuple(values) in found) and natural not in ids:
                ids[natural] = new_id
    return ids


def import_ledger(actor: User | None, data: bytes, *, clock: Clock) -> ImportResult:
    """Check a whole ledger file and apply it, or raise ``LedgerError`` having written nothing.

    The caller commits on success and rolls back on error; this flushes only
    after every row has passed.
    """
    book = open_workbook(data)
    rows, problems = read_sheet(book)
    if not rows and not problems:
        raise LedgerError(422, f"“{DATA_SHEET}”工作表没有数据行。")
    codes = {_code_of(r[0]) for _, r in rows} - {""}
    lookups = _Lookups(codes)
    checked = check_rows(rows, lookups)
    problems = sorted(problems + checked.problems,
                      key=lambda p: (p.row or 0, INDEX.get(_key_of(p.column), 99)))
    if problems:
        raise LedgerError(422, f"台账有 {len(problems)} 处问题，整个文件未导入。请修改后重新导入。", problems)

    try:
        return _apply(actor, checked, lookups, len(rows), clock)
    except (IntegrityError, StaleDataError):
        raise LedgerError(
            409, "导入时有人同时新建或修改了相同的项目或节点，本次未导入任何数据；请稍后重新导入。"
        ) from None


def _apply(actor: User | None, checked: _Checked, lookups: _Lookups, rows: int, clock: Clock) -> ImportResult:
    """Write a checked file: updates in place, creations in batches, one audit entry per project."""
    result = ImportResult(rows=rows)
    project_ids: dict[str, int] = {}
    names: dict[str, str] = {}
    project_changes: dict[str, tuple[str, dict, dict]] = {}
    to_create: list[dict[str, Any]] = []
    for code, first in checked.projects.items():
        values = _project_values(first.project)
        names[code] = values["name"]
        existing = lookups.projects.get(code)
        if existing is None:
            to_create.append({"code": code, **values})
            project_changes[code] = ("create", {}, {"code": code, **values})
            result.projects_created += 1
            continue
        project_ids[code] = existing.id
        before, after = _update(existing, values)
        if after:
            project_changes[code] = ("update", before, after)
            result.projects_updated += 1
        else:
            result.projects_unchanged += 1
    db.session.flush()  # the updates
    project_ids.update(_bulk_insert(Project, to_create, "code"))

    node_changes: dict[str, dict[str, Any]] = defaultdict(lambda: {"created": [], "before": {}, "after": {}})
    new_nodes: list[dict[str, Any]] = []
    new_codes: dict[tuple[int, str], str] = {}
    for row in checked.rows:
        if row.node is None:
            continue
        code = row.project["code"]
        project_id = project_ids[code]
        values = _node_values(row.node)
        title = row.node["title"]
        matches = lookups.nodes[project_id].get(title, []) if project_id in lookups.nodes else []
        if not matches:
            new_nodes.append({"project_id": project_id, "title": title, "version": 1, **values})
            new_codes[(project_id, title)] = code
            result.nodes_created += 1
            continue
        node = matches[0]
        before, after = _update(node, values)
        if after:
            node_changes[code]["before"][node.id] = {"title": node.title, **before}
            node_changes[code]["after"][node.id] = {"title": node.title, **after}
            result.nodes_updated += 1
        else:
            result.nodes_unchanged += 1
    db.session.flush()  # the updates, each checked against its version
    for (project_id, title), node_id in _bulk_insert(Node, new_nodes, "project_id", "title").items():
        node_changes[new_codes[(project_id, title)]]["created"].append(node_id)

    for code in sorted(set(project_changes) | set(node_changes)):
        kind, before, after = project_changes.get(code, ("unchanged", {}, {}))
        nodes = node_changes.get(code)
        after = dict(after)
        before = dict(before)
        if nodes:
            after["nodes_created"] = sorted(nodes["created"])
            if nodes["after"]:
                before["nodes"] = nodes["before"]
                after["nodes"] = nodes["after"]
        verb = {"create": "新建项目", "update": "更新项目", "unchanged": "项目"}[kind]
        created_n = len(nodes["created"]) if nodes else 0
        updated_n = len(nodes["after"]) if nodes else 0
        audit.record(
            actor, "ledger.import", object_type="project", object_id=project_ids[code],
            summary=f"台账导入：{verb} {code} {names[code]}，新建节点 {created_n} 个，更新节点 {updated_n} 个",
            before=before or None, after=after,
        )
    audit.record(
        actor, "ledger.import", object_type="ledger", summary=(
            f"导入台账 {result.rows} 行：新建项目 {result.projects_created} 个，更新 {result.projects_updated} 个；"
            f"新建节点 {result.nodes_created} 个，更新 {result.nodes_updated} 个"
        ), after={**result.counts(), "at": clock.now()},
    )
    db.session.flush()
    return result


# -- export ---------------------------------------------------------------------


def ledger_rows(scope: Scope) -> list[list[Any]]:
    """The ledger rows of a scope, in the order of the sheet: projects by year and code, nodes by deadline."""
    stmt = select(Project).order_by(Project.year, Project.code)
    node_stmt = select(Node).order_by(Node.project_id, Node.deadline, Node.id)
    if scope.project is not None:
        stmt = stmt.where(Project.id == scope.project.id)
        node_stmt = node_stmt.where(Node.project_id == scope.project.id)
    elif scope.category is not None:
        stmt = stmt.where(Project.category_id == scope.category.id)
        node_stmt = node_stmt.join(Project).where(Project.category_id == scope.category.id)
    elif scope.unit is not None:
        node_stmt = node_stmt.where(Node.unit_id == scope.unit.id)
    nodes_by_project: dict[int, list[Node]] = defaultdict(list)
    for n in db.session.scalars(node_stmt):
        nodes_by_project[n.project_id].append(n)
    if scope.unit is not None:
        stmt = stmt.where(Project.id.in_(list(nodes_by_project))) if nodes_by_project else None
    projects = db.session.scalars(stmt).all() if stmt is not None else []

    categories = {c.id: c.name for c in db.session.scalars(select(Category))}
    themes = {t.id: t.name for t in db.session.scalars(select(Theme))}
    units = {u.id: u.name for u in db.session.scalars(select(Unit))}
    user_ids = {p.lead_leader_id for p in projects} | {
        n.responsible_user_id for ns in nodes_by_project.values() for n in ns
    }
    user_ids.discard(None)
    users = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(list(user_ids)))).tuples().all()) if user_ids else {}

    rows: list[list[Any]] = []
    for p in projects:
        head = [
            p.code, p.name, categories[p.category_id], themes.get(p.theme_id), p.year, units[p.lead_unit_id],
            users.get(p.lead_leader_id), STAGE_NAMES.get(p.stage, p.stage),
            Decimal(p.investment_total or 0), Decimal(p.investment_planned or 0), Decimal(p.investment_completed or 0),
            p.start_date, p.end_date, _clean(p.description) or None,
        ]
        nodes = nodes_by_project.get(p.id, [])
        if not nodes:
            rows.append(head + [None] * len(NODE_COLUMNS))
        for n in nodes:
            rows.append(head + [
                n.title, units[n.unit_id], users.get(n.responsible_user_id), n.deadline, _clean(n.standard),
                n.weight, YES if n.is_major else NO, YES if n.is_key_supervision else NO,
            ])
    return rows


def export_ledger(scope: Scope) -> bytes:
    """The ledger of a unit, a project, a category or the county, as an xlsx file in the import format."""
    return build_workbook(ledger_rows(scope))


def template_workbook() -> bytes:
    """The empty import template, with today's lists of categories, themes and units."""
    return build_workbook([])


def _choices() -> dict[str, list[str]]:
    def active(model):
        return list(db.session.scalars(
            select(model.name).where(model.is_active).order_by(model.sort_order, model.id)
        ))

    leaders = db.session.scalars(
        select(User.username).join(UserRole).where(UserRole.role == "leader", User.is_active_account)
        .order_by(User.username)
    )
    return {
        "category": active(Category),
        "theme": active(Theme),
        "unit": active(Unit),
        "leader": list(leaders),
        "stage": list(STAGE_NAMES.values()),
        "flag": [YES, NO],
    }


LIST_TITLES = {
    "category": "类别", "theme": "时光轴主题", "unit": "单位（牵头单位、责任单位）",
    "leader": "包保领导（县领导用户名）", "stage": "建设阶段", "flag": "是/否",
}


def _safe_text(value: Any) -> Any:
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def build_workbook(rows: list[list[Any]]) -> bytes:
    """The ledger workbook: the data sheet (with drop-downs and checks) and the instructions."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = DATA_SHEET
    help_sheet = book.create_sheet(HELP_SHEET)
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFE7C7")
    optional_fill = PatternFill("solid", fgColor="EEEEEE")

    for i, column in enumerate(COLUMNS):
        cell = sheet.cell(row=1, column=i + 1, value=column.header)
        cell.font = bold
        cell.fill = required_fill if column.required else optional_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[letter(i)].width = column.width
    sheet.row_dimensions[1].height = 30
    sheet.freeze_panes = "A2"

    formats = {"date": "yyyy-mm-dd", "money": "0.00", "code": "@"}
    for r, values in enumerate(rows, start=2):
        for i, value in enumerate(values):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=i + 1, value=_safe_text(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
            fmt = formats.get(COLUMNS[i].kind)
            if fmt:
                cell.number_format = fmt

    # The instructions, then the lists the drop-downs read from.
    help_sheet.append(["列名", "是否必填", "填写说明"])
    for cell in help_sheet[1]:
        cell.font = bold
    for column in COLUMNS:
        help_sheet.append([column.header, "必填" if column.required else "选填", column.help])
    notes = [
        "每行一个节点；同一项目的多个节点各占一行，项目信息（前 14 列）在每一行重复填写且须一致。"
        "只有项目、暂无节点的，节点各列（第 15 列起）全部留空。",
        "导入时按“项目编号”对应项目：系统中已有的更新，没有的新建；按“项目编号 + 节点”对应节点：已有的更新，没有的新建。"
        "文件中没有的项目和节点保持不变，不会被删除。",
        "导入前逐行检查，有任何一处问题则整个文件不导入，并列出每一处问题的行号和列名。",
        "不能使用公式、合并单元格，不能增加工作表或列，不能修改第 1 行表头；日期请填写为日期格式（如 2026-06-30）。",
        f"一个文件最多 {MAX_ROWS} 行数据、{MAX_BYTES // (1024 * 1024)} MB。文字中不能包含 HTML 标签。",
    ]
    help_sheet.append([])
    help_sheet.append(["注意事项"])
    help_sheet.cell(row=help_sheet.max_row, column=1).font = bold
    for note in notes:
        help_sheet.append(["", "", note])
    help_sheet.append([])
    help_sheet.append(["下拉列表可选值（由系统生成，请勿修改）"])
    help_sheet.cell(row=help_sheet.max_row, column=1).font = bold
    lists_row = help_sheet.max_row + 1
    choices = _choices()
    ranges: dict[str, str] = {}
    for j, (key, values) in enumerate(choices.items()):
        col = j + 1
        head = help_sheet.cell(row=lists_row, column=col, value=LIST_TITLES[key])
        head.font = bold
        for k, value in enumerate(values, start=1):
            help_sheet.cell(row=lists_row + k, column=col, value=_safe_text(value)).data_type = "s"
        if values:
            col_letter = letter(col - 1)
            ranges[key] = f"'{HELP_SHEET}'!${col_letter}${lists_row + 1}:${col_letter}${lists_row + len(values)}"
    help_sheet.column_dimensions["A"].width = 22
    help_sheet.column_dimensions["B"].width = 16
    help_sheet.column_dimensions["C"].width = 90
    for col in "DEF":
        help_sheet.column_dimensions[col].width = 20
    for row in help_sheet.iter_rows(min_row=2, max_row=len(COLUMNS) + 1 + len(notes) + 3, min_col=3, max_col=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    last = MAX_ROWS + 1
    list_kinds = {"category": "category", "theme": "theme", "unit": "unit", "leader": "leader",
                  "stage": "stage", "flag": "flag"}
    for i, column in enumerate(COLUMNS):
        area = f"{letter(i)}2:{letter(i)}{last}"
        kind = column.kind
        validation = None
        if kind in list_kinds and list_kinds[kind] in ranges:
            validation = DataValidation(type="list", formula1=ranges[list_kinds[kind]], allow_blank=True)
            validation.error = f"请从下拉列表中选择“{column.header}”。"
        elif kind == "date":
            validation = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)",
                                        formula2="DATE(2100,12,31)", allow_blank=True)
            validation.error = "请填写日期，如 2026-06-30。"
        elif kind == "year":
            validation = DataValidation(type="whole", operator="between", formula1="2000", formula2="2100",
                                        allow_blank=True)
            validation.error = "请填写 2000 到 2100 之间的四位年份。"
        elif kind == "weight":
            validation = DataValidation(type="whole", operator="between", formula1="1", formula2="10",
                                        allow_blank=True)
            validation.error = "权重须为 1 到 10 的整数。"
        elif kind == "money":
            validation = DataValidation(type="decimal", operator="between", formula1="0",
                                        formula2=str(MAX_MONEY), allow_blank=True)
            validation.error = "请填写 0 到 999,999,999 之间的数字（万元）。"
        elif column.max_len:
            validation = DataValidation(type="textLength", operator="lessThanOrEqual",
                                        formula1=str(column.max_len), allow_blank=True)
            validation.error = f"不能超过 {column.max_len} 个字。"
        if validation is None:
            continue
        validation.errorTitle = "输入有误"
        validation.showErrorMessage = True
        validation.prompt = column.help
        validation.promptTitle = column.header
        validation.showInputMessage = True
        validation.add(area)
        sheet.add_data_validation(validation)

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
