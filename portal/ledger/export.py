"""Exporting: the ledger rows of a unit, a project, a category or the county, and the workbook.

The workbook is the import format (with drop-downs, checks and the
instructions sheet), so export → import changes nothing.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal.core.extensions import db
from portal.ledger.columns import (
    COLUMNS,
    DATA_SHEET,
    HELP_SHEET,
    MAX_BYTES,
    MAX_MONEY,
    MAX_ROWS,
    NO,
    NODE_COLUMNS,
    STAGE_NAMES,
    YES,
    letter,
)
from portal.ledger.reading import clean_text
from portal.models import Category, Node, Project, Theme, Unit, User, UserRole


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
            p.start_date, p.end_date, clean_text(p.description) or None,
        ]
        nodes = nodes_by_project.get(p.id, [])
        if not nodes:
            rows.append(head + [None] * len(NODE_COLUMNS))
        for n in nodes:
            rows.append(head + [
                n.title, units[n.unit_id], users.get(n.responsible_user_id), n.deadline, clean_text(n.standard),
                n.weight, YES if n.is_major else NO, YES if n.is_key_supervision else NO,
            ])
    return rows


def export_ledger(scope: Scope) -> bytes:
    """The ledger of a unit, a project, a category or the county, as an xlsx file in the import format."""
    return build_workbook(ledger_rows(scope))


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
