"""The workbench (工作台) per role: counts that match the county, direct links, the top bar's badge."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from portal.core.extensions import db
from portal.models import AuditEntry, Document, Interview, Recommitment, leader_unit
from portal.sweeps.services import sweep
from tests import factories as f


@pytest.fixture
def county(app, clock):
    unit = f.unit("上派镇")
    staff = f.user("staff", unit=unit, display_name="刘晓燕")
    contact = f.user("contact", roles=["contact"], unit=f.unit("县城投集团"))
    leader = f.user("leader", roles=["leader"])
    sup = f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    db.session.execute(leader_unit.insert().values(user_id=leader.id, unit_id=unit.id))
    project = f.project(lead_unit=unit, name="新能源整车配套产业园一期", lead_leader_id=leader.id)
    project.contacts.append(contact)
    late = f.node(project, title="完成征迁交地", deadline=date(2026, 6, 10), status="doing")
    f.node(project, title="完成土地摘牌", deadline=date(2026, 6, 11), status="doing")
    f.node(project, title="取得施工许可证", deadline=date(2026, 6, 17), status="todo")  # due soon
    f.node(project, title="完成设备招标", deadline=date(2026, 8, 30), status="todo")
    waiting = f.node(project, title="完成主体工程", deadline=date(2026, 6, 30), status="review",
                     submitted_at=datetime(2026, 6, 12, 2, 0, tzinfo=UTC), submitted_on=date(2026, 6, 12))
    back = f.node(project, title="完成环评批复", deadline=date(2026, 7, 30), status="doing")
    db.session.add(AuditEntry(actor_id=sup.id, actor_name="sup", action="node.reject", object_type="node",
                              object_id=back.id, summary="材料不全", at=clock.now()))
    db.session.add(Interview(unit=unit, trigger="manual", state="proposed", proposed_on=date(2026, 6, 12), place="",
                             interviewer_name="", bring="", minutes=""))
    db.session.add(Document(kind="bulletin", title="第24周通报", year=2026, period="week", params={}, state="draft"))
    db.session.commit()
    sweep(clock.today(), clock)  # yellow cards for the two late nodes
    db.session.add(Recommitment(node_id=late.id, reason="征迁延误", new_deadline=date(2026, 7, 10),
                                filed_by_id=staff.id, filed_at=clock.now(), state="pending"))
    db.session.commit()
    return {"unit": unit, "late": late, "waiting": waiting, "back": back}


def _counts(html: str) -> dict[str, int]:
    return {key: int(n) for key, n in re.findall(
        r'data-todo="([a-z_.]+)">\s*<a class="todo-head" href="[^"]*"><strong class="todo-n">(\d+)</strong>', html)}


def _badge(html: str) -> int:
    match = re.search(r'<span class="todo-count"[^>]*>(\d+)</span>', html)
    return int(match.group(1)) if match else 0


def test_unit_staff_see_their_units_work_with_links(login_as, county):
    page = login_as("staff").client.get("/").get_data(as_text=True)
    counts = _counts(page)
    assert counts == {"unit.overdue": 2, "unit.due_soon": 1, "unit.recommit": 1, "unit.sent_back": 1}
    assert f'href="/units/{county["unit"].id}/board"' in page and "打开本单位看板" in page
    assert "完成征迁交地" in page and "完成土地摘牌" in page and "取得施工许可证" in page and "完成环评批复" in page
    assert f'href="/nodes/{county["late"].id}"' in page
    assert _badge(page) == 5


def test_a_contact_sees_their_open_nodes_first(login_as, county):
    page = login_as("contact").client.get("/").get_data(as_text=True)
    counts = _counts(page)
    assert counts == {"contact.open": 5, "contact.due": 3}
    first = page.index('data-todo="contact.open"')
    assert first < page.index("完成征迁交地") < page.index('data-todo="contact.due"')  # the nodes, before the projects
    assert _badge(page) == 3  # what is late or due soon, not everything open


def test_the_office_sees_its_queue(login_as, county):
    page = login_as("sup").client.get("/").get_data(as_text=True)
    counts = _counts(page)
    assert counts["sup.signoff"] == 1 and counts["sup.propose"] >= 1 and counts["sup.bulletins"] == 1
    assert counts["sup.sweeps"] == 0 and counts["sup.hold"] == 0
    assert 'href="/signoff"' in page and 'href="/bulletins"' in page
    assert _badge(page) == sum(counts.values())


def test_a_leader_sees_what_to_decide_and_how_their_units_and_projects_stand(login_as, county):
    page = login_as("leader").client.get("/").get_data(as_text=True)
    counts = _counts(page)
    assert counts["leader.decide"] == 1 and counts["leader.yellow"] == 2 and counts["leader.red"] == 0
    assert counts["leader.projects_red"] + counts["leader.projects_yellow"] + counts["leader.projects_green"] == 1
    assert _badge(page) == 1  # only the decision is the leader's to act on
    board = login_as("leader").client.get("/rankings").get_data(as_text=True)
    assert _badge(board) == 1  # the same badge on every page
