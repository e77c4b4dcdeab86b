"""What the import hands out: the template workbook and the printed one-time password sheet."""

from __future__ import annotations

import io
from datetime import date

from flask import current_app

from portal.admin.orgchart.applying import NewAccount
from portal.admin.orgchart.columns import HELP_SHEET, MAX_LEAGUES, ROLE_LABELS, SHEETS
from portal.documents.layout import current as document_layout
from portal.documents.render import render_pdf

PASSWORD_TEMPLATE = "admin/orgchart_passwords.html"


def template_workbook() -> bytes:
    """The three sheets with their headers and one example row each, and a 说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for spec in SHEETS:
        sheet = book.create_sheet(spec.title)
        sheet.append([c.header for c in spec.columns])
        sheet.append([c.example for c in spec.columns])
        for i, column in enumerate(spec.columns, start=1):
            letter = get_column_letter(i)
            sheet.column_dimensions[letter].width = column.width
            cell = sheet.cell(1, i)
            cell.font, cell.fill = head_font, head_fill
            if column.key in ("username", "phone"):
                for row in range(2, 502):
                    sheet.cell(row, i).number_format = "@"  # typed as text: a phone stays a phone
        sheet.freeze_panes = "A2"

    help_sheet = book.create_sheet(HELP_SHEET)
    help_sheet.column_dimensions["A"].width = 12
    help_sheet.column_dimensions["B"].width = 14
    help_sheet.column_dimensions["C"].width = 90
    wrap = Alignment(wrap_text=True, vertical="top")
    lines = [
        ("组织架构导入说明", "", ""),
        ("", "", "一次导入全县的联赛、单位和用户。三个工作表的顺序不限，也可只填其中一两个；表头在每个表的第一个非空行。"),
        ("", "", "先“检查”：列出每个表将新建、更新、不变的行和所有问题（表、行、列和内容）；文件有任何问题都不会导入。"
                 "检查无误后“确认导入”，所有数据在一次操作中写入。"),
        ("", "", "已有的记录按名称匹配后更新：联赛按名称，单位按名称或别名，用户按用户名（未填用户名时按姓名和单位）。"
                 "空白单元格不改动已有内容；别名、角色和分管单位只增加，不删除；不会删除任何记录。"),
        ("", "", "每个新账号生成一个一次性密码，导入后打印“一次性登录密码单”分发本人；首次登录后须修改密码。"
                 "密码只显示和打印这一次，系统不保存明文。"),
        ("", "", f"全县最多 {MAX_LEAGUES} 个联赛。角色只能是：{'、'.join(ROLE_LABELS.values())}。"),
        ("工作表", "列", "填写要求"),
    ]
    table_head = len(lines)
    for spec in SHEETS:
        for column in spec.columns:
            lines.append((spec.title, column.header + ("（必填）" if column.required else ""), column.help))
    for values in lines:
        help_sheet.append(list(values))
    help_sheet["A1"].font = Font(bold=True, size=14)
    for cell in help_sheet[table_head]:
        cell.font = head_font
    for row in help_sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def passwords_pdf(accounts: list[NewAccount], *, today: date) -> bytes:
    """The printed sheet: one block per new account, to cut apart and hand to each person.

    The portal's address is printed when the ``PORTAL_URL`` setting holds it.
    """
    config = current_app.config
    return render_pdf(PASSWORD_TEMPLATE, accounts=accounts, portal_url=config.get("PORTAL_URL") or "",
                      office=document_layout().office, issued_on=today, title="一次性登录密码单")
