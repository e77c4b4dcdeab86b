"""The ledger's format, shared by the import and the export: limits, sheets, stages and columns.

One sheet "台账" holds one row per node; the project columns repeat on every
row of the same project (a project without nodes is one row with the node
columns left empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.models import STAGES

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
