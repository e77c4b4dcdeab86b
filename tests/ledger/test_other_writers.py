"""Ledgers saved by LibreOffice (.xlsx, .xls, .ods) and by pandas, imported as they come (issue H).

The files in ``fixtures/`` were written by those tools (``fixtures/make.py`` says how); their content is that of
``real_ledgers``, so the checks here are those of test_real_ledgers.py on the same ledgers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.ledger import services
from portal.ledger.services import LedgerError, Options
from portal.models import Node, Project
from tests.ledger.test_real_ledgers import COUNTY, qingxi  # noqa: F401 (the county fixture)

FIXTURES = Path(__file__).parent / "fixtures"


def _import(name: str, clock, **options):
    data = (FIXTURES / name).read_bytes()
    result = services.import_ledger(None, data, clock=clock, filename=name,
                                    options=Options(county_names=COUNTY, **options))
    db.session.commit()
    return result


def _nodes() -> dict[str, Node]:
    return {n.title: n for n in db.session.scalars(select(Node))}


@pytest.mark.parametrize("name", ["libreoffice.xlsx", "libreoffice.xls", "libreoffice.ods"])
def test_the_merged_two_row_ledger_saved_by_libreoffice_imports(qingxi, clock, name):  # noqa: F811
    result = _import(name, clock)
    assert (result.projects_created, result.nodes_created) == (2, 5)
    assert result.rows_ignored == 2  # the 合计 row and the 注 row
    nodes = _nodes()
    battery = db.session.scalar(select(Project).where(Project.name == "年产10GWh锂电池项目"))
    assert battery.category.name == "产业项目" and battery.investment_total == 12000
    assert battery.lead_leader.display_name == "周建华"
    assert nodes["取得施工许可证"].deadline == date(2026, 8, 31)
    assert nodes["主体结构封顶"].deadline == date(2026, 9, 30)
    assert [u.name for u in nodes["主体结构封顶"].co_units] == ["清溪镇"]
    assert nodes["通水试运行"].deadline == date(2026, 12, 20)  # a real date cell
    assert nodes["通水试运行"].note == "备注：需电力配套"
    again = _import(name, clock)
    assert (again.projects_created, again.nodes_created, again.nodes_updated) == (0, 0, 0)


def test_several_sheets_saved_as_xls_keep_their_hidden_row_and_categories(qingxi, clock):  # noqa: F811
    result = _import("libreoffice-sheets.xls", clock)
    assert result.rows_hidden == 1 and "已取消的节点" not in _nodes()
    nodes = _nodes()
    assert nodes["完成管网铺设"].project.name == "老城区雨污分流管网改造"
    assert nodes["完成村庄规划"].project.category.name == "乡村振兴"
    assert nodes["完成村庄规划"].deadline == date(2026, 4, 30)


@pytest.mark.parametrize("name", ["pandas.xlsx", "pandas-multiheader.xlsx"])
def test_a_ledger_written_by_pandas_imports(qingxi, clock, name):  # noqa: F811
    result = _import(name, clock)
    assert (result.projects_created, result.nodes_created) == (2, 3)
    nodes = _nodes()
    assert nodes["完成设备招标"].deadline == date(2026, 10, 31)  # a timestamp cell
    assert nodes["完成设备招标"].note in (None, "")  # NaN is written as an empty cell
    assert nodes["通水试运行"].note == "需电力配套"
    heat = db.session.scalar(select(Project).where(Project.name == "县城供热管网改造"))
    assert heat.investment_total == 12000 and heat.category.name == "城市建设"


def test_an_encrypted_or_broken_old_workbook_is_refused_in_plain_words(qingxi, clock):  # noqa: F811
    data = (FIXTURES / "libreoffice.xls").read_bytes()[:2000]
    with pytest.raises(LedgerError) as refused:
        services.import_ledger(None, data, clock=clock, filename="台账.xls", options=Options(county_names=COUNTY))
    assert refused.value.status == 422 and ".xls" in str(refused.value.message)
