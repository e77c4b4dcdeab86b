"""Excel ledgers (台账): template, checked all-or-nothing import, export, round trips."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.ledger import services
from portal.ledger.services import HEADERS, LedgerError, Scope
from portal.models import AuditEntry, Node, Project
from tests import factories as f

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- helpers -------------------------------------------------------------------------


@pytest.fixture
def org(app):
    """A small county: two categories, a theme, three units, a leader, staff and a supervisor."""
    town = f.unit("城关镇", short_name="城关")
    park = f.unit("经济开发区", short_name="开发区")
    f.unit("已撤并乡", short_name="撤并", is_active=False)
    world = {
        "town": town,
        "park": park,
        "industry": f.category("产业项目"),
        "city": f.category("城市建设"),
        "theme": f.theme("产业创新"),
        "leader": f.user("lixian", roles=["leader"], unit=town),
        "staff": f.user("zhang", roles=["unit_staff"], unit=town),
        "park_staff": f.user("wang", roles=["unit_staff"], unit=park),
        "supervisor": f.user("ducha", roles=["supervisor"], unit=town),
    }
    db.session.commit()
    return world


def row(**over) -> list:
    """One good ledger row as a list in column order; keyword overrides by column key."""
    values = {
        "code": "CY-2026-001", "name": "新能源电池项目", "category": "产业项目", "theme": "产业创新", "year": 2026,
        "lead_unit": "经济开发区", "lead_leader": "lixian", "stage": "在建", "investment_total": 50000,
        "investment_planned": 12000.5, "investment_completed": 3000, "start_date": date(2026, 1, 10),
        "end_date": date(2026, 12, 31), "description": "一期厂房", "title": "完成土地摘牌", "unit": "城关镇",
        "responsible": "zhang", "deadline": date(2026, 6, 30), "standard": "取得不动产权证书", "weight": 2,
        "is_major": "是", "is_key_supervision": "否",
    }
    values.update(over)
    return [values[c.key] for c in services.COLUMNS]


def book(rows: list[list], headers=HEADERS, *, extra_sheet: str | None = None, edit=None) -> bytes:
    """An xlsx file with the 台账 sheet (and 说明), built with openpyxl."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(list(headers))
    for values in rows:
        ws.append(values)
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text typed as text, as Excel keeps it
    wb.create_sheet("说明")
    if extra_sheet:
        wb.create_sheet(extra_sheet)
    if edit:
        edit(ws)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def good_rows(projects: int = 2, nodes: int = 3) -> list[list]:
    rows = []
    for p in range(projects):
        for n in range(nodes):
            rows.append(row(code=f"P-{p:04d}", name=f"项目{p}", title=f"节点{n}", deadline=date(2026, 1 + n % 12, 1 + p % 28)))
    return rows


def snapshot() -> list:
    """Every project and node field the ledger carries, in a stable order."""
    projects = db.session.scalars(select(Project).order_by(Project.code)).all()
    out = []
    for p in projects:
        out.append((
            p.code, p.name, p.category_id, p.theme_id, p.year, p.lead_unit_id, p.lead_leader_id, p.stage,
            Decimal(p.investment_total), Decimal(p.investment_planned), Decimal(p.investment_completed),
            p.start_date, p.end_date, p.description,
            sorted((n.title, n.unit_id, n.responsible_user_id, n.deadline, n.standard, n.weight, n.is_major,
                    n.is_key_supervision) for n in p.nodes),
        ))
    return out


def counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count(Project.id))),
        db.session.scalar(select(func.count(Node.id))),
        db.session.scalar(select(func.count(AuditEntry.id))),
    )


def run_import(data: bytes, clock, actor=None):
    try:
        result = services.import_ledger(actor, data, clock=clock)
    except LedgerError:
        db.session.rollback()
        raise
    db.session.commit()
    db.session.expire_all()
    return result


def refused(data: bytes, clock, actor=None) -> LedgerError:
    before = counts()
    with pytest.raises(LedgerError) as caught:
        run_import(data, clock, actor)
    db.session.expire_all()
    assert counts() == before, "a refused file changed the database"
    return caught.value


# -- template -------------------------------------------------------------------------


def test_template_has_headers_lists_and_instructions(org, client, auth):
    auth.login("ducha")
    response = client.get("/ledger/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["台账", "说明"]
    ws = wb["台账"]
    assert [c.value for c in ws[1]] == list(HEADERS)
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width >= 20
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert validations["C2"].type == "list" and "说明" in validations["C2"].formula1  # 类别
    assert validations["P2"].type == "list"  # 责任单位
    assert validations["H2"].type == "list"  # 建设阶段
    assert validations["U2"].type == "list"  # 重大节点
    assert validations["R2"].type == "date"  # 完成时限
    assert validations["T2"].type == "whole" and (validations["T2"].formula1, validations["T2"].formula2) == ("1", "10")
    assert validations["I2"].type == "decimal"
    instructions = [c.value for c in wb["说明"]["A"] if c.value]
    assert all(h in instructions for h in HEADERS)
    listed = {c.value for col in wb["说明"].iter_cols() for c in col}
    assert {"产业项目", "城关镇", "签约", "达效", "是", "否", "lixian"} <= listed
    assert "已撤并乡" not in listed  # inactive units are not offered
    # The empty template imports as "no data", not as a crash.
    with pytest.raises(LedgerError) as caught:
        services.import_ledger(None, response.data, clock=None)
    assert "没有数据" in caught.value.message


# -- import and round trips -----------------------------------------------------------


def test_import_creates_projects_and_nodes_and_audits(org, clock):
    rows = good_rows(2, 3) + [row(code="EMPTY-1", name="暂无节点的项目", title=None, unit=None, responsible=None,
                                  deadline=None, standard=None, weight=None, is_major=None, is_key_supervision=None)]
    result = run_import(book(rows), clock, org["supervisor"])
    assert (result.projects_created, result.nodes_created, result.rows) == (3, 6, 7)
    project = db.session.scalars(select(Project).where(Project.code == "P-0001")).one()
    assert project.lead_unit == org["park"] and project.lead_leader == org["leader"] and project.stage == "building"
    assert project.investment_planned == Decimal("12000.50") and project.theme == org["theme"]
    node = next(n for n in project.nodes if n.title == "节点0")
    assert (node.unit, node.responsible_user, node.weight, node.is_major, node.is_key_supervision) == (
        org["town"], org["staff"], 2, True, False)
    assert node.status == "todo" and node.card == "none"
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.import")).all()
    assert {e.object_type for e in entries} == {"project", "ledger"}
    assert len([e for e in entries if e.object_type == "project"]) == 3
    summary = next(e for e in entries if e.object_type == "ledger")
    assert summary.after["nodes_created"] == 6 and summary.actor_id == org["supervisor"].id


def test_round_trip_import_export_import_is_identical(org, clock):
    rows = good_rows(3, 4)
    rows.append(row(code="X-1", name="=SUM(A1)", title="=1+1", standard="多行\n标准", description="",
                    theme=None, lead_leader=None, responsible=None, start_date=None, end_date=None,
                    investment_total=None, investment_planned=0.1, investment_completed=None, weight=None,
                    is_major=None, is_key_supervision="是", stage=None))
    run_import(book(rows), clock)
    first = snapshot()
    exported = services.export_ledger(Scope())
    again = run_import(exported, clock)
    assert (again.projects_created, again.projects_updated, again.nodes_created, again.nodes_updated) == (0, 0, 0, 0)
    assert again.projects_unchanged == 4 and again.nodes_unchanged == 13
    assert snapshot() == first
    assert services.ledger_rows(Scope()) == services.ledger_rows(Scope())
    # The exported file reads back as the same rows (text starting with "=" stays text).
    wb = load_workbook(io.BytesIO(exported))
    cells = [c for r in wb["台账"].iter_rows(min_row=2) for c in r if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    assert wb.sheetnames == ["台账", "说明"]


def test_export_of_existing_data_round_trips(org, clock):
    """Data entered through the forms (factories) exports and imports back unchanged."""
    project = f.project(lead_unit=org["park"], category=org["city"], code="CS-7", name="老旧小区改造",
                        stage="completed", investment_total=Decimal("1234.56"), description="第一行\r\n第二行",
                        start_date=date(2026, 2, 1), theme=org["theme"], lead_leader=org["leader"])
    f.node(project, unit=org["town"], title="完成招标", deadline=date(2026, 3, 31), weight=3, is_major=True,
           responsible_user=org["staff"], standard="中标通知书")
    f.node(project, unit=org["park"], title="主体完工", deadline=date(2026, 9, 30))
    f.project(lead_unit=org["town"], category=org["industry"], code="NO-NODES")
    db.session.commit()
    before = snapshot()
    for scope in (Scope(), Scope(unit=org["town"]), Scope(project=project), Scope(category=org["city"])):
        result = run_import(services.export_ledger(scope), clock)
        assert result.projects_updated == result.nodes_updated == result.projects_created == result.nodes_created == 0
    assert snapshot() == before
    assert len(services.ledger_rows(Scope(unit=org["town"]))) == 1  # only the town's node
    assert len(services.ledger_rows(Scope(category=org["city"]))) == 2
    assert len(services.ledger_rows(Scope())) == 3  # the project without nodes is one row


def test_import_updates_by_code_and_title(org, clock):
    project = f.project(lead_unit=org["park"], category=org["industry"], code="CY-2026-001", name="旧名称")
    node = f.node(project, title="完成土地摘牌", deadline=date(2026, 5, 1), standard="旧标准")
    keep = f.node(project, title="不在文件中的节点", deadline=date(2026, 8, 1))
    db.session.commit()
    version = node.version
    result = run_import(book([row(), row(title="新节点", deadline=date(2026, 7, 1))]), clock, org["supervisor"])
    assert (result.projects_updated, result.nodes_updated, result.nodes_created) == (1, 1, 1)
    db.session.refresh(project)
    assert project.name == "新能源电池项目" and len(project.nodes) == 3
    db.session.refresh(node)
    assert node.deadline == date(2026, 6, 30) and node.standard == "取得不动产权证书" and node.version == version + 1
    assert db.session.get(Node, keep.id).title == "不在文件中的节点"  # left alone
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "project",
                                                        AuditEntry.object_id == project.id)).one()
    assert entry.before["name"] == "旧名称" and entry.after["name"] == "新能源电池项目"
    assert entry.after["nodes"][str(node.id)]["deadline"] == "2026-06-30"


def test_two_thousand_rows_one_bad_row_imports_nothing_then_fast(org, clock, count_queries):
    rows = good_rows(100, 20)
    assert len(rows) == 2000
    bad = list(rows)
    bad[1499] = row(code="P-0074", name="项目74", title="节点19", deadline="2026-13-45")
    error = refused(book(bad), clock)
    assert [(p.row, p.column) for p in error.problems] == [(1501, "完成时限")]
    assert str(error.problems[0]).startswith("第 1501 行，“完成时限”列：")

    data = book(rows)
    started = time.perf_counter()
    with count_queries() as queries:
        result = run_import(data, clock)
    elapsed = time.perf_counter() - started
    assert queries["n"] < 150, "a query per row?"  # lookups, batched inserts, one audit entry per project
    assert (result.projects_created, result.nodes_created) == (100, 2000)
    print(f"\n2,000-row ledger imported in {elapsed:.2f} s ({2000 / elapsed:.0f} rows/s)")


# -- every malformed kind -------------------------------------------------------------


def _merge(ws):
    ws.merge_cells("A2:A3")


def _formula(ws):
    ws["S3"] = "=S2"


MALFORMED = {
    "unknown unit": ([row(unit="无此单位")], 2, "责任单位", "没有名为“无此单位”的单位"),
    "inactive unit": ([row(lead_unit="已撤并乡")], 2, "牵头单位", "已停用"),
    "unknown category": ([row(category="不存在的类别")], 2, "类别", "没有名为“不存在的类别”的类别"),
    "unknown theme": ([row(theme="不存在的主题")], 2, "时光轴主题", "时光轴主题"),
    "leader is not a leader": ([row(lead_leader="zhang")], 2, "包保领导", "不是县领导"),
    "bad date": ([row(deadline="下半年")], 2, "完成时限", "日期格式不正确（应为 2026-06-30）"),
    "impossible date": ([row(deadline="2026-02-30")], 2, "完成时限", "不存在"),
    "deadline outside the year": ([row(deadline=date(2027, 1, 5))], 2, "完成时限", "不在项目年度（2026 年）内"),
    "end before start": ([row(start_date=date(2026, 5, 1), end_date=date(2026, 4, 1))], 2, "结束日期", "不能早于开始日期"),
    "conflicting project code": ([row(), row(title="第二个节点", name="另一个名称")], 3, "项目名称", "与第 2 行同一项目编号"),
    "duplicate node": ([row(), row(weight=3)], 3, "节点", "与第 2 行重复"),
    "missing standard": ([row(standard=None)], 2, "销号标准", "必填"),
    "missing name": ([row(name="  ")], 2, "项目名称", "必填"),
    "missing deadline": ([row(deadline=None)], 2, "完成时限", "必填"),
    "weight too high": ([row(weight=11)], 2, "权重", "1 到 10"),
    "weight zero": ([row(weight=0)], 2, "权重", "1 到 10"),
    "weight not whole": ([row(weight=1.5)], 2, "权重", "1 到 10"),
    "html in a title": ([row(title="<script>alert(1)</script>")], 2, "节点", "HTML 标签"),
    "script url": ([row(description="javascript:alert(1)")], 2, "项目说明", "HTML 标签"),
    "title too long": ([row(title="长" * 121)], 2, "节点", "不能超过 120 个字"),
    "name too long": ([row(name="名" * 101)], 2, "项目名称", "不能超过 100 个字"),
    "bad code": ([row(code="项目 1")], 2, "项目编号", "字母、数字"),
    "bad flag": ([row(is_major="Y")], 2, "重大节点", "“是”或“否”"),
    "bad stage": ([row(stage="规划")], 2, "建设阶段", "签约、开工"),
    "bad money": ([row(investment_total=-5)], 2, "总投资(万元)", "0 到 999,999,999"),
    "money with three decimals": ([row(investment_total=1.234)], 2, "总投资(万元)", "两位小数"),
    "bad year": ([row(year=26)], 2, "年度", "四位年份"),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_each_malformed_row_is_refused_with_its_place(org, clock, kind):
    project = f.project(lead_unit=org["park"], category=org["industry"], code="CY-2026-001", name="原名")
    db.session.commit()
    rows, line, column, text = MALFORMED[kind]
    error = refused(book(rows), clock)
    assert error.status == 422
    assert any(p.row == line and p.column == column and text in p.message for p in error.problems), error.lines()
    db.session.refresh(project)
    assert project.name == "原名" and project.nodes == []


def test_formula_without_a_value_is_refused_and_merged_cells_are_filled_down(org, clock):
    error = refused(book([row(), row(title="第二个")], edit=_formula), clock)
    assert [(p.row, p.column, "不能含公式" in p.message) for p in error.problems] == [(3, "销号标准", True)]
    # A project's code merged over its two node rows: both rows are the project's (issue H).
    result = run_import(book([row(), row(code=None, title="第二个")], edit=_merge), clock)
    assert (result.projects_created, result.nodes_created) == (1, 2)


def test_what_the_ledger_says_without_a_rule_is_imported_as_written(org, clock):
    """A person with no account is kept by name; dates as offices write them; data outside the table is noted."""
    result = run_import(book([row(responsible="nobody", deadline="6月30日"),
                              row(title="第二个", deadline=datetime(2026, 7, 31, 9, 30)) + ["多出来的"]]), clock)
    assert result.nodes_created == 2
    nodes = {n.title: n for n in db.session.scalars(select(Node))}
    assert nodes["完成土地摘牌"].responsible_user_id is None and nodes["完成土地摘牌"].responsible_name == "nobody"
    assert nodes["完成土地摘牌"].deadline == date(2026, 6, 30) and nodes["第二个"].deadline == date(2026, 7, 31)
    assert any("W 列有内容但没有表头" in str(n) for n in result.notes)


def test_headers_are_read_by_what_they_name_and_a_missing_required_column_refuses(org, clock):
    # An unknown header is noted and its column left out; a missing optional column leaves its field alone.
    headers = HEADERS[:5] + ("分类",) + HEADERS[6:-1]
    result = run_import(book([row()[:-1]], headers=headers), clock)
    assert result.nodes_created == 1 and any("未识别的列“分类”" in str(n) for n in result.notes)
    # A missing required column refuses the file, naming it.
    headers = tuple(h for h in HEADERS if h != "完成时限")
    error = refused(book([[v for h, v in zip(HEADERS, row(), strict=True) if h != "完成时限"]], headers=headers), clock)
    assert any("找不到“完成时限”列" in p.message for p in error.problems), error.lines()


def test_full_width_brackets_in_headers_are_accepted(org, clock):
    headers = tuple(h.replace("(", "（").replace(")", "）") for h in HEADERS)
    assert run_import(book([row()], headers=headers), clock).nodes_created == 1


def test_other_sheets_are_noted_and_a_book_without_a_table_is_refused(org, clock):
    result = run_import(book([row()], extra_sheet="草稿"), clock)
    assert result.nodes_created == 1 and any(n.sheet == "草稿" for n in result.notes)
    wb = Workbook()
    wb.active.title = "Sheet1"
    out = io.BytesIO()
    wb.save(out)
    assert "没有可导入的数据行" in refused(out.getvalue(), clock).message


def test_unknown_reference_lists_every_bad_row(org, clock):
    rows = [row(title=f"节点{i}", unit="无此单位" if i in (3, 7) else "城关镇") for i in range(10)]
    error = refused(book(rows), clock)
    assert [p.row for p in error.problems] == [5, 9]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def _zip_bomb(megabytes: int) -> bytes:
    """A zip whose sheet inflates to many MB of zeros, written in chunks (small in memory and on no disk)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(chunk)
    return out.getvalue()


def test_files_that_are_not_ledgers(org, clock, monkeypatch):
    cases = [
        (b"", "文件是空的"),
        ("项目编号,项目名称\nCY-1,电池项目\n".encode("gbk"), "找不到"),  # read as CSV: no node columns
        ("项目编号,项目名称\nCY-1,电池项目\n".encode("utf-8-sig"), "找不到"),
        (b"<!DOCTYPE html><html><body>ledger</body></html>", "网页"),
        (services.OLE2_MAGIC + b"\0" * 600, "旧版 Excel（.xls）"),
        (bytes(range(256)) * 4, "不是 Excel 工作簿"),
        (b"PK\x03\x04 broken", "已损坏"),
        (_zip({"word/document.xml": b"<w/>"}), "Word 文档"),
        (_zip({"xl/workbook.xml": b"not xml"}), "无法读取该 Excel 工作簿"),
    ]
    for data, text in cases:
        error = refused(data, clock)
        assert text in " ".join(error.lines()) and error.status == 422, (text, error.lines())
    bomb = _zip_bomb(200)
    assert len(bomb) < 1024 * 1024
    assert "压缩炸弹" in refused(bomb, clock).message
    monkeypatch.setattr("portal.ledger.reading.MAX_RATIO", 10_000)
    assert "解压后超过 100 MB" in refused(bomb, clock).message
    big = refused(b"PK\x03\x04" + b"\0" * services.MAX_BYTES, clock)
    assert big.status == 413 and "20 MB" in big.message


def test_too_many_rows(org, clock, monkeypatch):
    monkeypatch.setattr("portal.ledger.services.MAX_ROWS", 3)
    assert "最多 3 行" in refused(book(good_rows(1, 4)), clock).message


def test_inactive_reference_kept_when_unchanged(org, clock):
    """A unit deactivated after setup does not block re-importing its own export."""
    gone = db.session.scalars(select(f.Unit).where(f.Unit.name == "已撤并乡")).one()
    project = f.project(lead_unit=gone, category=org["industry"], code="OLD-1")
    f.node(project, unit=gone, title="收尾")
    db.session.commit()
    result = run_import(services.export_ledger(Scope(project=project)), clock)
    assert result.nodes_unchanged == 1


def test_changing_the_year_must_keep_nodes_left_out_of_the_file(org, clock):
    project = f.project(lead_unit=org["park"], category=org["industry"], code="CY-2026-001")
    f.node(project, title="别的节点", deadline=date(2026, 3, 1))
    db.session.commit()
    error = refused(book([row(year=2027, start_date=date(2027, 1, 10), end_date=date(2027, 12, 31),
                              deadline=date(2027, 6, 30))]), clock)
    assert any(p.column == "年度" and "别的节点" in p.message for p in error.problems)


# -- web ------------------------------------------------------------------------------


def _upload(auth, data: bytes, name: str = "台账.xlsx"):
    return auth.post("/ledger/import", {"file": (io.BytesIO(data), name)}, page="/ledger",
                     content_type="multipart/form-data")


def test_page_and_import_over_the_web(org, client, auth):
    auth.login("ducha")
    page = client.get("/ledger")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "/ledger/template.xlsx" in body and 'name="unit_id"' in body and 'name="category_id"' in body
    response = _upload(auth, book(good_rows(1, 2)))
    assert response.status_code == 303
    assert "已导入 2 行：新建项目 1 个" in client.get("/ledger").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Node.id))) == 2

    bad = _upload(auth, book([row(code="NEW-1", deadline="明天")]))
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "日期格式不正确（应为 2026-06-30）" in html and "<td class=\"num\">2</td>" in html
    assert db.session.scalar(select(func.count(Project.id))) == 1

    assert _upload(auth, "a,b\n1,2\n".encode("gbk"), "台账.csv").status_code == 422
    assert auth.post("/ledger/import", {}, page="/ledger").status_code == 422  # no file chosen


def test_oversized_upload_over_the_web(org, client, auth, app):
    auth.login("ducha")
    token = auth.csrf("/ledger")

    def post(content: bytes):
        # A hand-made body: the test client would spool a large one to a file it never closes.
        body = (b'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode()
                + b'\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n'
                + b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--x--\r\n")
        return client.post("/ledger/import", data=body, content_type="multipart/form-data; boundary=x")

    too_big = post(b"PK\x03\x04" + b"\0" * services.MAX_BYTES)
    assert too_big.status_code == 413 and "20 MB" in too_big.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 1024  # beyond it the server refuses before reading
    assert post(b"\0" * 4096).status_code == 413


def test_unit_staff_cannot_import_but_export_their_unit(org, client, auth):
    project = f.project(lead_unit=org["park"], category=org["industry"], code="P-1")
    f.node(project, unit=org["town"], title="城关的节点")
    f.node(project, unit=org["park"], title="开发区的节点")
    db.session.commit()
    auth.login("zhang")
    token = auth.csrf("/")
    response = client.post("/ledger/import", data={"csrf_token": token, "file": (io.BytesIO(book([row()])), "a.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert client.get("/ledger").status_code == 403
    assert client.get("/ledger/template.xlsx").status_code == 403
    own = client.get(f"/ledger/export.xlsx?unit_id={org['town'].id}")
    assert own.status_code == 200 and own.mimetype == XLSX
    titles = [r[14].value for r in load_workbook(io.BytesIO(own.data))["台账"].iter_rows(min_row=2)]
    assert titles == ["城关的节点"]
    assert client.get(f"/ledger/export.xlsx?unit_id={org['park'].id}").status_code == 403
    assert client.get("/ledger/export.xlsx").status_code == 403
    assert client.get(f"/ledger/export.xlsx?category_id={org['industry'].id}").status_code == 403
    assert client.get(f"/ledger/export.xlsx?project_id={project.id}").status_code == 200  # it has a node of theirs
    assert client.get("/ledger/export.xlsx?unit_id=999999").status_code == 404


def test_leader_exports_the_county_and_a_category(org, client, auth):
    f.project(lead_unit=org["park"], category=org["industry"], code="P-1")
    db.session.commit()
    auth.login("lixian")
    county = client.get("/ledger/export.xlsx")
    assert county.status_code == 200
    assert "attachment" in county.headers["Content-Disposition"]
    assert client.get(f"/ledger/export.xlsx?category_id={org['city'].id}").status_code == 200
    assert client.get(f"/ledger/export.xlsx?category_id={org['city'].id}&unit_id={org['town'].id}").status_code == 400


# -- command line ---------------------------------------------------------------------


def test_cli_import_export_and_exit_codes(org, runner, tmp_path, clock):
    good = tmp_path / "good.xlsx"
    good.write_bytes(book(good_rows(2, 2)))
    result = runner.invoke(args=["ledger", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "projects_created=2" in result.output and "nodes_created=4" in result.output

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(book([row(code="Z-1", unit="无此单位"), row(code="Z-1", title="二", weight=99)]))
    result = runner.invoke(args=["ledger", "import", str(bad)])
    assert result.exit_code == 1
    assert "第 2 行，“责任单位”列：没有名为“无此单位”的单位" in result.output
    assert "第 3 行，“权重”列：" in result.output
    assert db.session.scalar(select(func.count(Project.id))) == 2

    csv = tmp_path / "ledger.xlsx"
    csv.write_bytes("a,b\n".encode("gbk"))
    assert runner.invoke(args=["ledger", "import", str(csv)]).exit_code == 1

    out = tmp_path / "out.xlsx"
    result = runner.invoke(args=["ledger", "export", str(out)])
    assert result.exit_code == 0 and "rows=4" in result.output
    again = runner.invoke(args=["ledger", "import", str(out)])
    assert again.exit_code == 0 and "nodes_unchanged=4" in again.output
    for option, value, rows in (("--unit", "城关", 4), ("--project", "P-0000", 2), ("--category", "城市建设", 0)):
        result = runner.invoke(args=["ledger", "export", str(out), option, value])
        assert result.exit_code == 0 and f"rows={rows}" in result.output, result.output
    assert runner.invoke(args=["ledger", "export", str(out), "--unit", "无此单位"]).exit_code == 1


def test_a_concurrent_change_is_refused_whole(org, clock, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    def clash(*_args, **_kwargs):
        raise IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint"))

    monkeypatch.setattr("portal.ledger.applying._bulk_insert", clash)
    error = refused(book([row()]), clock)
    assert error.status == 409 and "同时" in error.message
