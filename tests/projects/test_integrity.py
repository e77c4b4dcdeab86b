"""Setup integrity (N #5): a node's responsible person belongs to its unit or one of its co-units; co-units get nodes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import AuditEntry, Node
from tests import factories as f
from tests.ledger.test_ledger import book, refused, row, run_import


@pytest.fixture
def county(app):
    town, park, water = (f.unit(name, short_name=name) for name in ("城关镇", "经济开发区", "县水利局"))
    world = {
        "town": town, "park": park, "water": water,
        "zhang": f.user("zhang", roles=["unit_staff"], unit=town, display_name="张敏"),
        "wang": f.user("wang", roles=["unit_staff"], unit=park, display_name="王磊"),
        "li": f.user("li", roles=["unit_staff"], unit=water, display_name="李娜"),
        "sup": f.user("sup", roles=["supervisor"], unit=f.unit("督查室")),
    }
    world["project"] = f.project(lead_unit=town, year=2026, co_units=[water])
    db.session.commit()
    return world


def _post(client, project, **over):
    data = {"title": "完成土地摘牌", "unit_id": project.lead_unit_id, "responsible_user_id": "", "deadline": "2026-06-30",
            "standard": "取得不动产权证书", "weight": "1", **over}
    return client.post(f"/projects/{project.id}/nodes/new", data)


def _nodes():
    return db.session.scalar(select(func.count(Node.id)))


def test_a_person_of_another_unit_is_refused_in_chinese_and_nothing_is_saved(county, login_as):
    sup = login_as("sup")
    response = _post(sup, county["project"], responsible_user_id=county["wang"].id)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "王磊 属于经济开发区，不是责任单位城关镇或本节点联动单位的人员" in page
    assert page.count("不是责任单位城关镇") == 1  # one error, by the field
    assert _nodes() == 0


def test_a_person_of_the_unit_or_of_a_co_unit_is_accepted_and_the_node_shows_on_the_co_units_board(county, login_as):
    sup, project = login_as("sup"), county["project"]
    assert _post(sup, project, responsible_user_id=county["zhang"].id).status_code == 303
    response = _post(sup, project, title="完成水保方案批复", responsible_user_id=county["li"].id,
                     co_unit_ids=[county["water"].id])
    assert response.status_code == 303
    node = db.session.scalar(select(Node).where(Node.title == "完成水保方案批复"))
    assert [u.name for u in node.co_units] == ["县水利局"] and node.responsible_user_id == county["li"].id
    links = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "node.links"))
    assert links.after == {"co_units": [county["water"].id]}
    board = sup.client.get(f"/units/{county['water'].id}/board").get_data(as_text=True)
    assert "完成水保方案批复" in board


def test_removing_the_co_unit_of_its_responsible_person_is_refused(county, login_as):
    sup, project = login_as("sup"), county["project"]
    _post(sup, project, responsible_user_id=county["li"].id, co_unit_ids=[county["water"].id])
    node = db.session.scalar(select(Node))
    response = sup.post(f"/nodes/{node.id}/edit", {
        "title": node.title, "unit_id": node.unit_id, "responsible_user_id": county["li"].id, "deadline": "2026-06-30",
        "standard": node.standard, "weight": "1", "version": node.version})
    assert response.status_code == 422 and "李娜 属于县水利局" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [u.name for u in db.session.get(Node, node.id).co_units] == ["县水利局"]


def test_the_project_page_names_units_without_nodes_and_the_link_preselects_the_unit(county, login_as):
    sup, project = login_as("sup"), county["project"]
    page = sup.client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "城关镇 在本项目中还没有由本单位负责的节点" in page and "县水利局 在本项目中还没有由本单位负责的节点" in page
    form = sup.client.get(f"/projects/{project.id}/nodes/new?unit_id={county['water'].id}").get_data(as_text=True)
    assert f'<option selected value="{county["water"].id}">县水利局（联动）</option>' in form
    assert "城关镇（牵头）" in form
    # The project's own units are offered first.
    assert form.index("城关镇（牵头）") < form.index("县水利局（联动）") < form.index(">经济开发区<")
    _post(sup, project, unit_id=county["water"].id, responsible_user_id=county["li"].id)
    page = sup.client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "县水利局 在本项目中还没有" not in page and "城关镇 在本项目中还没有" in page


def test_a_ledger_naming_an_account_of_another_unit_is_refused_at_its_cell(county, clock):
    error = refused(book([row(code="P-1", lead_unit="城关镇", unit="城关镇", responsible="wang", lead_leader="",
                              theme="", category="产业项目")]), clock)
    messages = [p.message for p in error.problems]
    assert any("“wang”是经济开发区的账号，不属于责任单位或本节点的联动单位" in m for m in messages), messages


def test_a_ledger_namesake_in_another_unit_is_kept_as_written_not_linked(county, clock):
    f.category("产业项目")
    db.session.commit()
    run_import(book([row(code="P-1", lead_unit="城关镇", unit="城关镇", responsible="王磊", lead_leader="", theme="",
                         deadline=date(2026, 6, 30))]), clock)
    node = db.session.scalar(select(Node))
    assert node.responsible_user_id is None and node.responsible_name == "王磊"
