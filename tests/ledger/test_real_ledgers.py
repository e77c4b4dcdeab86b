"""Going live (issue H): ledgers as offices keep them, imported as they come, and the go-live rule (SPEC 11)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.ledger import services
from portal.ledger.services import LedgerError, Options
from portal.models import CardEvent, Node, Project, Unit, UnitAlias
from portal.models.policy import go_live_on
from portal.sweeps.services import sweep
from tests import factories as f
from tests.ledger import real_ledgers

COUNTY = ("清溪县", "清溪")


@pytest.fixture
def qingxi(app, clock):
    """Part of 清溪县 as the portal knows it: units under their full names, people by name, three categories."""
    clock.set(date(2026, 7, 1))
    units = {name: f.unit(name) for name in (
        "县发展和改革委员会", "县自然资源和规划局", "县住房和城乡建设局", "清溪镇", "青山镇", "县水务局", "县卫生健康委员会")}
    people = {
        "王建军": "县自然资源和规划局", "孙丽": "县住房和城乡建设局", "周敏": "清溪镇", "李明": "县水务局", "陈红": "县卫生健康委员会",
    }
    for i, (name, unit) in enumerate(people.items()):
        f.user(f"user{i}", roles=["unit_staff"], unit=units[unit], display_name=name)
    f.user("zhoujh", roles=["leader"], unit=units["县发展和改革委员会"], display_name="周建华")
    for name in ("产业项目", "城市建设", "乡村振兴"):
        f.category(name)
    db.session.commit()
    return units


def _import(data: bytes, clock, **options):
    result = services.import_ledger(None, data, clock=clock, options=Options(county_names=COUNTY, **options))
    db.session.commit()
    return result


def _nodes() -> dict[str, Node]:
    return {n.title: n for n in db.session.scalars(select(Node))}


def test_a_merged_two_row_ledger_with_title_footer_and_totals_imports(qingxi, clock):
    result = _import(real_ledgers.merged_two_row_header(), clock)
    assert (result.projects_created, result.nodes_created) == (2, 5)
    assert result.rows_ignored == 2  # the 合计 row and the 注 row
    nodes = _nodes()
    battery = db.session.scalar(select(Project).where(Project.name == "年产10GWh锂电池项目"))
    assert battery.category.name == "产业项目"  # the sheet's name
    assert battery.year == 2026 and battery.investment_total == 12000  # 1.2亿 in 万元
    assert battery.lead_unit.name == "县发展和改革委员会" and battery.lead_leader.display_name == "周建华"
    assert battery.code.startswith("L2026-")
    assert nodes["取得施工许可证"].deadline == date(2026, 8, 31)
    assert nodes["取得施工许可证"].responsible_user.display_name == "孙丽"  # 孙丽（副主任）
    roof = nodes["主体结构封顶"]
    assert roof.deadline == date(2026, 9, 30)  # 9月底
    assert roof.unit.name == "县发展和改革委员会" and [u.name for u in roof.co_units] == ["清溪镇"]  # 县发展改革委、清溪镇
    assert roof.responsible_user.display_name == "周敏"  # 周敏 13907210001
    assert nodes["通水试运行"].note == "备注：需电力配套"


def test_a_ledger_imported_twice_changes_nothing_the_second_time(qingxi, clock):
    _import(real_ledgers.merged_two_row_header(), clock)
    again = _import(real_ledgers.merged_two_row_header(), clock)
    assert (again.projects_created, again.nodes_created, again.nodes_updated) == (0, 0, 0)
    assert (again.projects_unchanged, again.nodes_unchanged) == (2, 5)


def test_several_sheets_first_row_only_hidden_rows_and_varied_headers(qingxi, clock):
    result = _import(real_ledgers.first_row_only_several_sheets(), clock)
    assert result.rows_hidden == 1 and "已取消的节点" not in _nodes()
    nodes = _nodes()
    assert nodes["完成管网铺设"].project.name == "老城区雨污分流管网改造"  # project written on its first row only
    assert nodes["完成管网铺设"].deadline == date(2026, 11, 30)  # 2026年11月: the end of the month
    assert nodes["完成征迁"].deadline == date(2026, 6, 30)  # 6月30日前
    assert nodes["建设村卫生室"].unit.name == "县卫生健康委员会"  # 县卫生健康委
    assert nodes["完成村庄规划"].deadline == date(2026, 4, 30)  # full-width ２０２６年４月
    assert nodes["完成村庄规划"].project.category.name == "乡村振兴"
    assert [u.name for u in nodes["完成施工图设计"].co_units] == ["县自然资源和规划局"]
    road = db.session.scalar(select(Project).where(Project.name == "青山大道东延工程"))
    assert road.investment_total == 1560.5 and road.category.name == "城市建设"
    assert any("隐藏的行" in str(n) for n in result.notes)


def test_a_gbk_csv_imports(qingxi, clock):
    result = _import(real_ledgers.csv_gbk(), clock, category="城市建设")
    assert result.nodes_created == 2
    assert _nodes()["完成管道采购"].deadline == date(2026, 5, 31)


def test_going_live_mid_year_finished_nodes_are_signed_off_without_cards_and_open_late_ones_reported(qingxi, clock):
    """Rule 11: go-live 2026-07-01. A node the ledger marks finished is 已销号 with no card; an open one past its
    deadline is reported, and no sweep ever cards either."""
    result = _import(real_ledgers.first_row_only_several_sheets(), clock)
    assert go_live_on() == date(2026, 7, 1)  # the first import sets it
    nodes = _nodes()
    drawing, clearing, planning = nodes["完成施工图设计"], nodes["完成征迁"], nodes["完成村庄规划"]
    assert drawing.status == "done" and drawing.submitted_on == date(2026, 3, 31) and drawing.card == "none"
    assert clearing.status == "done" and clearing.card == "none"
    assert planning.status == "todo"  # due 2026-04-30, not marked finished
    assert result.nodes_done == 2 and result.nodes_overdue == 1
    assert any("已超期未完成" in str(n) and "完成村庄规划" in str(n) for n in result.notes)
    for day in (date(2026, 7, 2), date(2026, 8, 15), date(2026, 12, 31)):
        clock.set(day)
        sweep(day, clock)
    db.session.commit()
    carded = {c.node_id for c in db.session.scalars(select(CardEvent))}
    assert not carded & {drawing.id, clearing.id, planning.id}
    # A node due after go-live and late is carded as usual.
    assert nodes["完成管网铺设"].id in carded


def test_a_remark_of_finished_marks_the_node_finished_when_the_ledger_has_no_progress_column(qingxi, clock):
    """备注 “已完成” is how many offices mark a finished node; free text in 备注 says nothing and stays a note."""
    result = _import(real_ledgers.merged_two_row_header(), clock)
    nodes = _nodes()
    land = nodes["完成土地摘牌"]  # due 2026-03-31, 备注 已完成
    assert land.status == "done" and land.submitted_on == date(2026, 3, 31) and land.card == "none"
    assert nodes["通水试运行"].status == "todo"  # 备注：需电力配套
    assert result.nodes_done == 1 and result.nodes_overdue == 0


def test_a_progress_column_wins_over_the_remark(qingxi, clock):
    """When the ledger has a 完成情况 column, it alone says whether a node is finished."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "城市建设"
    ws.append(["项目名称", "责任单位", "节点任务", "完成时限", "销号标准", "完成情况", "备注"])
    ws.append(["县城供热管网改造", "县住房和城乡建设局", "完成管道采购", "2026年5月31日", "合同签订", "推进中", "已完成"])
    result = _import(real_ledgers._save(wb), clock)
    assert _nodes()["完成管道采购"].status == "todo" and result.nodes_overdue == 1


def test_check_writes_nothing_and_says_what_an_import_would_do(qingxi, clock):
    result = services.import_ledger(None, real_ledgers.merged_two_row_header(), clock=clock,
                                    options=Options(county_names=COUNTY), check=True)
    db.session.rollback()
    assert (result.projects_created, result.nodes_created) == (2, 5)
    assert db.session.scalar(select(func.count(Node.id))) == 0 and go_live_on() is None


def test_an_unknown_unit_is_refused_with_suggestions_or_created_on_request(qingxi, clock):
    db.session.delete(qingxi["县水务局"])
    db.session.commit()
    with pytest.raises(LedgerError) as caught:
        _import(real_ledgers.merged_two_row_header(), clock)
    assert any("没有名为“县水务局”的单位" in p.message and p.letter for p in caught.value.problems)
    db.session.rollback()
    result = _import(real_ledgers.merged_two_row_header(), clock, create_units=True)
    assert result.units_created == 1 and db.session.scalar(select(Unit).where(Unit.name == "县水务局")) is not None


def test_a_unit_chosen_for_an_unknown_name_becomes_its_alias(qingxi, clock):
    unit = qingxi["县住房和城乡建设局"]
    unit.name = "县住房城乡建设局（人防办）"
    db.session.commit()
    chosen = {"县住房和城乡建设局": unit.id}
    result = _import(real_ledgers.merged_two_row_header(), clock, units=chosen)
    assert result.aliases_added == 1
    assert db.session.scalar(select(UnitAlias.name).where(UnitAlias.unit_id == unit.id)) == "县住房和城乡建设局"
    assert _nodes()["取得施工许可证"].unit_id == unit.id


def test_the_command_line_checks_imports_and_keeps_its_last_line(qingxi, runner, tmp_path, clock, app):
    app.config["JIEDIAN_COUNTY"] = "清溪县"
    ledger = tmp_path / "供热台账.csv"
    ledger.write_bytes(real_ledgers.csv_gbk())
    checked = runner.invoke(args=["ledger", "import", str(ledger), "--check", "--category", "城市建设"])
    assert checked.exit_code == 0, checked.output
    last = checked.output.strip().splitlines()[-1]
    assert last.startswith("ledger import rows=2 projects_created=1 projects_updated=0 projects_unchanged=0 "
                           "nodes_created=2 nodes_updated=0 nodes_unchanged=0")
    assert db.session.scalar(select(func.count(Node.id))) == 0  # --check writes nothing
    refused = runner.invoke(args=["ledger", "import", str(ledger)])  # no category anywhere
    assert refused.exit_code == 1 and "没有类别" in refused.output
    done = runner.invoke(args=["ledger", "import", str(ledger), "--category", "城市建设", "--go-live", "2026-06-01"])
    assert done.exit_code == 0, done.output
    assert go_live_on() == date(2026, 6, 1) and db.session.scalar(select(func.count(Node.id))) == 2
    wrong = runner.invoke(args=["ledger", "import", str(ledger), "--go-live", "June"])
    assert wrong.exit_code != 0 and "YYYY-MM-DD" in wrong.output


def test_a_ledger_written_by_xlsxwriter_imports(qingxi, clock):
    result = _import(real_ledgers.xlsxwriter_ledger(), clock)
    assert (result.projects_created, result.nodes_created, result.rows_ignored) == (1, 2, 1)
    nodes = _nodes()
    assert nodes["完成设备招标"].deadline == date(2026, 10, 31) and nodes["通水试运行"].deadline == date(2026, 12, 20)
    assert nodes["通水试运行"].project.investment_total == 8000


def test_section_headings_name_the_category_of_the_rows_under_them(qingxi, clock):
    result = _import(real_ledgers.sections_in_one_sheet(), clock)
    assert (result.projects_created, result.nodes_created) == (2, 3)
    nodes = _nodes()
    assert nodes["完成土地摘牌"].project.category.name == "产业项目"
    assert nodes["完成管道铺设"].project.category.name == "城市建设"
    assert nodes["取得施工许可证"].unit.name == "县自然资源和规划局"  # 同上
    assert nodes["取得施工许可证"].deadline == date(2026, 8, 31)  # the Excel serial 46265


def test_a_finished_node_is_never_signed_off_on_a_day_to_come(qingxi, clock):
    """已完成 without a date: signed off on its deadline, or today when the deadline is still ahead."""
    result = _import(real_ledgers.first_row_only_several_sheets(), clock)
    assert result.nodes_done == 2
    clearing = _nodes()["完成征迁"]  # due 6月30日前, marked 完成, imported on 2026-07-01
    assert clearing.submitted_on == date(2026, 6, 30)


def test_a_completion_date_after_today_is_refused(qingxi, clock):
    data = real_ledgers.completion_in_the_future()
    with pytest.raises(LedgerError) as caught:
        _import(data, clock)
    assert any("晚于今天" in p.message for p in caught.value.problems)
