"""The year turning over (N #4): a project carried into next year takes its open nodes; its history stays."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import AuditEntry, CardEvent, Node, ProgressEntry, Project
from portal.projects.services import carried_code
from tests import factories as f


@pytest.fixture
def county(app, clock):
    clock.set(date(2026, 12, 7))
    town, water = f.unit("城关镇", short_name="城关镇"), f.unit("县水利局", short_name="水利局")
    f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    contact = f.user("wu", roles=["contact"], unit=town)
    project = f.project(lead_unit=town, year=2026, code="2026-CY-007", name="新能源电池项目",
                        start_date=date(2025, 11, 1), end_date=date(2027, 6, 30), co_units=[water])
    project.contacts.append(contact)
    nodes = {
        "done": f.node(project, title="完成土地摘牌", deadline=date(2026, 5, 30), status="done", card="green"),
        "review": f.node(project, title="主体结构封顶", deadline=date(2026, 11, 30), status="review"),
        "late": f.node(project, title="设备安装调试", deadline=date(2026, 11, 20), status="doing", card="yellow"),
        "todo": f.node(project, title="竣工验收", deadline=date(2027, 3, 31)),
    }
    db.session.flush()
    db.session.add(CardEvent(node_id=nodes["late"].id, unit_id=town.id, colour="yellow", points=0,
                             effective_date=date(2026, 11, 21)))
    db.session.add(ProgressEntry(node_id=nodes["late"].id, body="设备已进场", percent=60))
    db.session.commit()
    return {"project": project, "nodes": nodes}


def test_the_next_years_code_moves_the_year_on():
    assert carried_code(Project(code="2026-CY-007", year=2026)) == "2027-CY-007"
    assert carried_code(Project(code="XM-15", year=2026)) == "XM-15-2027"
    assert len(carried_code(Project(code="X" * 30, year=2026))) == 30


def test_the_page_says_what_moves_and_carrying_moves_the_open_nodes_only(county, login_as):
    sup, project, nodes = login_as("sup"), county["project"], county["nodes"]
    page = sup.client.get(f"/projects/{project.id}/carry").get_data(as_text=True)
    assert "结转至2027年度" in page and 'value="2027-CY-007"' in page and 'value="2027-06-30"' not in page
    assert 'value="2027-12-31"' in page  # at least to the end of the next year
    moving = page[page.index("随项目结转的节点"):]
    assert "设备安装调试" in moving and "竣工验收" in moving and "主体结构封顶" not in moving
    assert "2 个节点留在本年度项目中" in page
    response = sup.post(f"/projects/{project.id}/carry", {"code": "2027-CY-007", "end_date": "2027-12-31"})
    assert response.status_code == 303
    carried = db.session.scalar(select(Project).where(Project.code == "2027-CY-007"))
    assert response.headers["Location"].endswith(f"/projects/{carried.id}")
    assert (carried.year, carried.name, carried.lead_unit_id, carried.start_date, carried.end_date) == (
        2027, "新能源电池项目", project.lead_unit_id, date(2025, 11, 1), date(2027, 12, 31))
    assert [u.name for u in carried.co_units] == ["县水利局"] and [u.username for u in carried.contacts] == ["wu"]
    assert carried.investment_planned == 0 and carried.investment_completed == 0
    db.session.expire_all()
    by_project = {n.title: n.project_id for n in db.session.scalars(select(Node))}
    assert by_project == {"完成土地摘牌": project.id, "主体结构封顶": project.id,
                          "设备安装调试": carried.id, "竣工验收": carried.id}
    # The moved node keeps its card, its progress and its deadline (inside the new project's span).
    late = db.session.get(Node, nodes["late"].id)
    assert [c.colour for c in late.card_events] == ["yellow"] and late.progress_entries[0].body == "设备已进场"
    assert late.deadline == date(2026, 11, 20)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "project.carry"))
    assert sorted(entry.after["nodes"]) == sorted([nodes["late"].id, nodes["todo"].id])
    # Both project pages link to each other; a node due next year is accepted on the new one.
    old_page = sup.client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "已结转至2027年度" in old_page and f"/projects/{carried.id}" in old_page and "/carry" not in old_page
    assert "由2026年度结转" in sup.client.get(f"/projects/{carried.id}").get_data(as_text=True)
    added = sup.post(f"/projects/{carried.id}/nodes/new", {
        "title": "达产达效", "unit_id": carried.lead_unit_id, "responsible_user_id": "", "deadline": "2027-11-30",
        "standard": "以统计月报为准", "weight": "1"})
    assert added.status_code == 303


def test_carrying_twice_or_too_early_or_badly_is_refused_and_changes_nothing(county, login_as, clock):
    sup, project = login_as("sup"), county["project"]
    clock.set(date(2026, 9, 30))
    early = sup.post(f"/projects/{project.id}/carry", {"code": "2027-CY-007", "end_date": ""})
    assert early.status_code == 409 and "2026年度项目自2026-10-01起可结转至下一年度" in early.get_data(as_text=True)
    clock.set(date(2026, 12, 7))
    bad_end = sup.post(f"/projects/{project.id}/carry", {"code": "2027-CY-007", "end_date": "2026-12-31"})
    assert bad_end.status_code == 422 and "结束日期须在2027年或以后" in bad_end.get_data(as_text=True)
    taken = sup.post(f"/projects/{project.id}/carry", {"code": "2026-CY-007", "end_date": ""})
    assert taken.status_code == 422 and "该项目编号已被使用" in taken.get_data(as_text=True)
    assert db.session.scalars(select(Project.code)).all() == ["2026-CY-007"]
    assert sup.post(f"/projects/{project.id}/carry", {"code": "2027-CY-007", "end_date": ""}).status_code == 303
    again = sup.post(f"/projects/{project.id}/carry", {"code": "2027-CY-008", "end_date": ""})
    assert again.status_code == 409 and "本项目已结转至2027年度（2027-CY-007）" in again.get_data(as_text=True)
    assert sorted(db.session.scalars(select(Project.code)).all()) == ["2026-CY-007", "2027-CY-007"]


def test_only_the_office_carries(county, login_as):
    project = county["project"]
    assert login_as("wu").post(f"/projects/{project.id}/carry", {"code": "2027-CY-007"},
                               page=f"/projects/{project.id}").status_code == 403
