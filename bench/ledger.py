"""The go-live import (issue H): a 5,000-row ledger laid out as offices keep them, checked and imported.

The ledger is written for the county dataset's own units, categories and
people: a title row, a 填报单位 row, a two-row header with merged cells, the
project columns merged down over their nodes, dates and money written as
offices write them. The portal's check (``--check``: everything but the
commit, in a savepoint rolled back) and its import (rolled back after each
run, outside the clock) are each timed against the bare baseline of reading
the same workbook with openpyxl, cell by cell.
"""

from __future__ import annotations

import io
import random

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

ROWS = 5000
NODES_PER_PROJECT = 17


def build(units: list[str], people: dict[str, list[str]], categories: list[str], *, seed: int = 1) -> bytes:
    """A real-layout ledger of ``ROWS`` node rows: one sheet per category."""
    rng = random.Random(seed)
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {name: wb.create_sheet(name) for name in categories}
    next_row = {}
    for name, ws in sheets.items():
        ws.cell(1, 1, f"2026年{name}节点任务台账")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=11)
        ws.cell(2, 1, "填报单位：县委县政府督查室")
        for c, label in enumerate(["序号", "项目名称", "总投资（万元）", "牵头单位", "包保领导", "节点任务"], start=1):
            ws.cell(3, c, label)
        ws.cell(3, 11, "备注")
        for c, label in enumerate(["节点内容", "责任单位", "责任人", "完成时限", "销号标准"], start=6):
            ws.cell(4, c, label)
        for c in (1, 2, 3, 4, 5, 11):
            ws.merge_cells(start_row=3, start_column=c, end_row=4, end_column=c)
        ws.merge_cells(start_row=3, start_column=6, end_row=3, end_column=10)
        next_row[name] = 5
    project = 0
    written = 0
    while written < ROWS:
        project += 1
        category = categories[project % len(categories)]
        ws = sheets[category]
        lead = units[project % len(units)]
        first = next_row[category]
        count = min(NODES_PER_PROJECT, ROWS - written)
        for k in range(count):
            r = first + k
            if k == 0:
                ws.cell(r, 1, project)
                ws.cell(r, 2, f"重点项目{project:04d}")
                ws.cell(r, 3, f"{rng.randint(1, 90) / 10:.1f}亿")
                ws.cell(r, 4, lead)
            unit = units[(project + k) % len(units)]
            month, day = 1 + (k % 12), rng.randint(1, 28)
            ws.cell(r, 6, f"第{k + 1}个节点任务")
            ws.cell(r, 7, unit)
            ws.cell(r, 8, rng.choice(people[unit]) if people.get(unit) else "")
            ws.cell(r, 9, f"2026年{month}月{day}日" if k % 3 else f"{month}月底")
            ws.cell(r, 10, "取得批复文件并上传佐证材料")
        for c in (1, 2, 3, 4):
            if count > 1:
                ws.merge_cells(start_row=first, start_column=c, end_row=first + count - 1, end_column=c)
        next_row[category] = first + count
        written += count
    for name, ws in sheets.items():
        ws.cell(next_row[name], 1, "合计")
        ws.cell(next_row[name] + 1, 1, "注：完成时限以县委县政府督查室最终确定为准。")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def county_ledger() -> bytes:
    """The ledger for the county dataset in the current app's database."""
    from portal.core.extensions import db
    from portal.models import Category, Unit, User

    units = db.session.scalars(select(Unit.name).where(Unit.is_active).order_by(Unit.id)).all()[:60]
    people: dict[str, list[str]] = {}
    for name, display in db.session.execute(
        select(Unit.name, User.display_name).join(User, User.unit_id == Unit.id).where(Unit.name.in_(units))
    ):
        people.setdefault(name, []).append(display)
    categories = db.session.scalars(select(Category.name).order_by(Category.id)).all()[:4]
    return build(units, people, categories)


def bare_read(data: bytes) -> int:
    """The baseline: open the same workbook with openpyxl and touch every cell."""
    book = load_workbook(io.BytesIO(data))
    return sum(1 for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
