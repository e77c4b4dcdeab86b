"""Ledgers laid out the way supervision offices keep them by hand, not our template.

Each builder returns the file's bytes. The units, people and categories are
those of the ``county`` fixture in test_real_ledgers.py.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font


def _title(ws, text: str, width: int) -> None:
    ws.cell(1, 1, text).font = Font(bold=True, size=16)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")


def merged_two_row_header() -> bytes:
    """XX县2026年重点项目节点任务台账: title, 填报单位 row, two-row header, projects merged down, 合计 and 注 rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = "产业项目"
    _title(ws, "清溪县2026年重点项目节点任务台账", 10)
    ws.cell(2, 1, "填报单位：县委县政府督查室")
    ws.cell(2, 8, "填报日期：2026年7月1日")
    top = ["序号", "项目名称", "总投资（万元）", "牵头单位", "包保领导", "节点任务", None, None, None, None, "备注"]
    sub = [None, None, None, None, None, "节点内容", "责任单位", "责任人", "完成时限", "销号标准", None]
    for c, v in enumerate(top, start=1):
        if v:
            ws.cell(3, c, v)
    for c, v in enumerate(sub, start=1):
        if v:
            ws.cell(4, c, v)
    for c in (1, 2, 3, 4, 5, 11):
        ws.merge_cells(start_row=3, start_column=c, end_row=4, end_column=c)
    ws.merge_cells(start_row=3, start_column=6, end_row=3, end_column=10)
    rows = [
        # project 1: three nodes, project columns merged down
        (1, "年产10GWh锂电池项目", "1.2亿", "县发展和改革委员会", "周建华",
         "完成土地摘牌", "县自然资源和规划局", "王建军", "2026年3月31日", "取得不动产权证书", "已完成"),
        (None, None, None, None, None, "取得施工许可证", "县住房和城乡建设局", "孙丽（副主任）", "2026.8.31",
         "施工许可证核发", None),
        (None, None, None, None, None, "主体结构封顶", "县发展改革委、清溪镇", "周敏 13907210001", "9月底",
         "主体结构验收合格", None),
        # project 2: two nodes
        (2, "城南污水处理厂扩建", "8000万元", "县水务局", "周建华",
         "完成设备招标", "县水务局", "李明", "2026/10/31", "签订设备采购合同", None),
        (None, None, None, None, None, "通水试运行", "县水务局", "李明", datetime(2026, 12, 20), "出水水质达标",
         "备注：需电力配套"),
    ]
    r = 5
    for record in rows:
        for c, v in enumerate(record, start=1):
            if v is not None:
                ws.cell(r, c, v)
        r += 1
    for c in (1, 2, 3, 4, 5):
        ws.merge_cells(start_row=5, start_column=c, end_row=7, end_column=c)
        ws.merge_cells(start_row=8, start_column=c, end_row=9, end_column=c)
    ws.cell(r, 1, "合计")
    ws.cell(r, 3, "=SUM(C5:C9)")
    ws.cell(r + 1, 1, "注：完成时限以县委县政府督查室最终确定为准。")
    ws.merge_cells(start_row=r + 1, start_column=1, end_row=r + 1, end_column=11)
    return _save(wb)


def first_row_only_several_sheets() -> bytes:
    """One sheet per category, project columns on the first row only, varied header names, a hidden 已取消 row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "城市建设"
    ws.append(["2026年城市建设重点项目推进台账"])
    ws.append(["序号", "项目", "计划总投资", "承办单位", "工作任务", "时间节点", "目标要求", "具体责任人", "配合单位",
               "完成情况"])
    ws.append([1, "老城区雨污分流管网改造", "2.35亿元", "县住房和城乡建设局", "完成施工图设计", "3月31日",
               "施工图审查合格", "孙丽", "县自然资源和规划局", "已完成"])
    ws.append([None, None, None, "县住房和城乡建设局", "完成管网铺设", "2026年11月", "管网验收合格", "孙丽", None, None])
    ws.append([None, None, None, "县住房和城乡建设局", "已取消的节点", "2026年6月30日", "（取消）", "孙丽", None, None])
    ws.row_dimensions[5].hidden = True
    ws.append([2, "青山大道东延工程", "1,560.5", "青山镇", "完成征迁", "6月30日前", "征迁协议全部签订", "周敏", None, "完成"])
    other = wb.create_sheet("乡村振兴")
    other.append(["序号", "项目名称", "牵头单位", "责任单位", "节点名称", "完成时间", "验收标准", "联系人"])
    other.append(["１", "集贤路乡村振兴示范带", "清溪镇", "清溪镇", "完成村庄规划", "２０２６年４月", "规划经村民代表大会通过", "王建军"])
    other.append(["２", "集贤路乡村振兴示范带", "清溪镇", "县卫生健康委", "建设村卫生室", "20261130", "卫生室通过验收", "陈红"])
    wb.create_sheet("说明").append(["本表由各责任单位每月5日前更新。"])
    return _save(wb)


def csv_gbk() -> bytes:
    """A CSV export in GBK, as WPS writes it."""
    lines = [
        "序号,项目名称,责任单位,节点任务,完成时限,销号标准,责任人",
        "1,县城供热管网改造,县住房和城乡建设局,完成管道采购,2026-05-31 00:00:00,采购合同签订,孙丽",
        ",县城供热管网改造,县住房和城乡建设局,完成管道铺设,2026年10月31日,管网打压试验合格,孙丽",
    ]
    return ("\n".join(lines) + "\n").encode("gbk")


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


TODAY = date(2026, 7, 1)


def xlsxwriter_ledger() -> bytes:
    """The merged two-row ledger as XlsxWriter writes it (inline formats, formulas cached as 0, merged ranges)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = book.add_worksheet("产业项目")
    ws.merge_range(0, 0, 0, 10, "清溪县2026年重点项目节点任务台账")
    ws.write(1, 0, "填报单位：县委县政府督查室")
    for c, label in enumerate(["序号", "项目名称", "总投资（万元）", "牵头单位", "包保领导"]):
        ws.merge_range(2, c, 3, c, label)
    ws.merge_range(2, 5, 2, 9, "节点任务")
    ws.merge_range(2, 10, 3, 10, "备注")
    for c, label in enumerate(["节点内容", "责任单位", "责任人", "完成时限", "销号标准"], start=5):
        ws.write(3, c, label)
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.merge_range(4, 0, 5, 0, 1)
    ws.merge_range(4, 1, 5, 1, "城南污水处理厂扩建")
    ws.merge_range(4, 2, 5, 2, "8000万元")
    ws.merge_range(4, 3, 5, 3, "县水务局")
    ws.merge_range(4, 4, 5, 4, "周建华")
    ws.write_row(4, 5, ["完成设备招标", "县水务局", "李明"])
    ws.write_datetime(4, 8, datetime(2026, 10, 31), dates)
    ws.write(4, 9, "签订设备采购合同")
    ws.write_row(5, 5, ["通水试运行", "县水务局", "李明", "2026年12月20日", "出水水质达标"])
    ws.write(6, 0, "合计")
    ws.write_formula(6, 2, "=SUM(C5:C6)")
    book.close()
    return out.getvalue()


def sections_in_one_sheet() -> bytes:
    """One sheet for the county, sections 一、产业项目 / 二、城市建设 merged across, a 同上 cell, an Excel date serial."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["2026年度全县重点项目节点台账"])
    ws.append(["序号", "项目名称", "节点任务", "责任单位", "完成时限", "完成标准", "责任人", "备注"])
    ws.append(["一、产业项目"])
    ws.merge_cells("A3:H3")
    ws.append([1, "年产10GWh锂电池项目", "完成土地摘牌", "县自然资源和规划局", "2026年3月31日", "取得不动产权证书", "王建军", None])
    ws.append([None, None, "取得施工许可证", "同上", 46265, "施工许可证核发", "王建军", None])
    ws.append(["二、城市建设"])
    ws.merge_cells("A6:H6")
    ws.append([1, "县城供热管网改造", "完成管道铺设", "县住房和城乡建设局", "2026.10.31", "管网打压试验合格", "孙丽", "已取消的不在此表"])
    return _save(wb)


def completion_in_the_future() -> bytes:
    """A 完成时间 column with a date still to come (the ledger's planned date written in the wrong column)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "城市建设"
    ws.append(["项目名称", "责任单位", "节点任务", "完成时限", "完成时间", "销号标准"])
    ws.append(["县城供热管网改造", "县住房和城乡建设局", "完成管道铺设", "2026年10月31日", "2026年9月30日", "管网打压试验合格"])
    return _save(wb)
