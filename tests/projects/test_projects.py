"""节点设立: projects and nodes set up by supervisors, with audit and no lost update."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import AuditEntry, CardEvent, Node, Project, User
from tests import factories as f


def _setup(app):
    unit = f.unit("上派镇")
    f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    leader = f.user("ld", roles=["leader"], unit=unit)
    contact = f.user("ct", roles=["contact"], unit=unit)
    category = f.category("产业项目")
    theme = f.theme("产业创新")
    db.session.commit()
    return unit, leader, contact, category, theme


def test_supervisor_sets_up_a_project_with_links(app, client, auth):
    unit, leader, contact, category, theme = _setup(app)
    co = f.unit("县住房和城乡建设局", short_name="县住建局")
    db.session.commit()
    auth.login("sup")
    response = auth.post(
        "/projects/new",
        {
            "code": "2026-CY-001", "name": "新能源整车配套产业园一期", "category_id": category.id, "theme_id": theme.id,
            "year": "2026", "lead_leader_id": leader.id, "lead_unit_id": unit.id, "co_unit_ids": [co.id],
            "contact_ids": [contact.id], "stage": "building", "investment_total": "350000.50",
            "investment_planned": "120000", "investment_completed": "45000", "start_date": "2026-02-01",
            "end_date": "2027-06-30", "description": "一期厂房及配套",
        },
        page="/projects/new",
    )
    assert response.status_code == 303
    project = db.session.scalars(select(Project)).one()
    assert [u.name for u in project.co_units] == ["县住房和城乡建设局"]
    assert [u.username for u in project.contacts] == ["ct"]
    assert str(project.investment_total) == "350000.50"
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "新能源整车配套产业园一期" in page and "在建" in page and "县住建局" in page
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "project.create" in actions and "project.links" in actions


def test_node_edit_with_a_stale_version_is_409_and_keeps_the_other_change(app, client, auth):
    unit, *_ = _setup(app)
    node = f.node(f.project(lead_unit=unit), title="完成土地摘牌", deadline=date(2026, 7, 1))
    db.session.commit()
    auth.login("sup")
    form_page = f"/nodes/{node.id}/edit"
    token = auth.csrf(form_page)
    fields = {"title": "完成土地摘牌", "unit_id": unit.id, "responsible_user_id": "", "deadline": "2026-07-01",
              "standard": "以成交确认书为准", "weight": "1", "csrf_token": token}
    # Someone else saves first (version 1 → 2) …
    assert client.post(form_page, data={**fields, "version": "1", "deadline": "2026-07-10"}).status_code == 303
    # … then our form, still at version 1, arrives.
    response = client.post(form_page, data={**fields, "version": "1", "deadline": "2026-08-01"})
    assert response.status_code == 409
    assert "已被他人修改" in response.get_data(as_text=True)
    db.session.refresh(node)
    assert node.deadline == date(2026, 7, 10) and node.version == 2
    assert 'value="2"' in response.get_data(as_text=True)  # the form now carries the fresh version


def test_node_without_version_is_refused(app, client, auth):
    unit, *_ = _setup(app)
    node = f.node(f.project(lead_unit=unit))
    db.session.commit()
    auth.login("sup")
    response = auth.post(f"/nodes/{node.id}/edit", {"title": "x", "unit_id": unit.id, "deadline": "2026-07-01", "standard": "s", "weight": "1"})
    assert response.status_code == 422


def test_nodes_with_cards_cannot_be_deleted(app, client, auth):
    unit, *_ = _setup(app)
    project = f.project(lead_unit=unit)
    node = f.node(project)
    db.session.add(CardEvent(node=node, unit=unit, colour="yellow", points=0, effective_date=date(2026, 7, 1)))
    db.session.commit()
    auth.login("sup")
    response = auth.post(f"/nodes/{node.id}/delete", page=f"/projects/{project.id}")
    assert response.status_code == 303
    assert db.session.get(Node, node.id) is not None
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "不能删除" in page
    response = auth.post(f"/projects/{project.id}/delete", page=f"/projects/{project.id}")
    assert db.session.get(Project, project.id) is not None


def test_deleting_a_project_removes_its_nodes_and_is_audited(app, client, auth):
    unit, *_ = _setup(app)
    project = f.project(lead_unit=unit)
    f.node(project)
    f.node(project)
    db.session.commit()
    auth.login("sup")
    assert auth.post(f"/projects/{project.id}/delete", page=f"/projects/{project.id}").status_code == 303
    assert db.session.scalars(select(Node)).all() == []
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "project.delete")).one()
    assert entry.before["nodes"] == 2


def test_project_list_filters(app, client, auth):
    unit, *_ = _setup(app)
    f.project(lead_unit=unit, name="城乡供水一体化二期", year=2026)
    f.project(lead_unit=unit, name="老城区雨污分流", year=2025)
    db.session.commit()
    auth.login("sup")
    html = client.get("/projects?q=供水").get_data(as_text=True)
    assert "城乡供水一体化二期" in html and "老城区雨污分流" not in html
    html = client.get("/projects?year=2025").get_data(as_text=True)
    assert "老城区雨污分流" in html and "城乡供水一体化二期" not in html


def test_a_contact_finds_the_followed_projects_and_their_nodes(app, client, auth):
    """The workbench lists a contact's projects; a project page links each node its reader may open."""
    township, other = f.unit("上派镇"), f.unit("三河镇")
    f.user("c1", roles=["contact"], unit=f.unit("县城投集团"))
    f.user("s1", roles=["unit_staff"], unit=other)
    mine = f.project(lead_unit=township, name="城南污水处理厂提标改造", co_units=[other])
    ours = f.node(mine, title="完成设备招标")
    theirs = f.node(mine, unit=other, title="完成管网接入")
    mine.contacts.append(db.session.scalars(select(User).where(User.username == "c1")).one())
    f.project(name="杭埠河治理工程")
    db.session.commit()
    auth.login("c1")
    home = client.get("/").get_data(as_text=True)
    assert f'href="/projects/{mine.id}"' in home and "我联系的项目" in home and "杭埠河治理工程" not in home
    page = client.get(f"/projects/{mine.id}").get_data(as_text=True)
    assert f'href="/nodes/{ours.id}"' in page and f'href="/nodes/{theirs.id}"' in page
    # A co-operating unit's staff read the project but open only their own unit's nodes.
    auth.logout()
    auth.login("s1")
    page = client.get(f"/projects/{mine.id}").get_data(as_text=True)
    assert f'href="/nodes/{theirs.id}"' in page and f'href="/nodes/{ours.id}"' not in page and "完成设备招标" in page


def test_a_contact_on_another_units_node_gets_no_link_to_that_units_board(app, client, auth):
    unit, _, contact, _, _ = _setup(app)
    other = f.unit("三河镇")
    project = f.project(lead_unit=unit)
    project.contacts.append(contact)
    node = f.node(project, unit=other, title="三河镇的节点")
    db.session.commit()
    auth.login("ct")
    page = client.get(f"/nodes/{node.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "三河镇" in html and f"/units/{other.id}/board" not in html
    assert client.get(f"/units/{other.id}/board").status_code == 403

