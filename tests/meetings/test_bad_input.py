"""Bad input on the meeting loop's forms: a Chinese message, 422, nothing written, never a 500."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import Assignment, AuditEntry, Meeting, Problem, ProblemType
from tests import factories as f

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def loop_county(app):
    town = f.unit("城关镇")
    other = f.unit("河口乡")
    f.user("staff", roles=["unit_staff"], unit=town)
    f.user("supervisor", roles=["supervisor"], unit=f.unit("县委督查室"))
    leader = f.user("leader", roles=["leader"])
    project = f.project(lead_unit=town, name="城南产业园")
    foreign = f.project(lead_unit=other, name="河口水厂")
    meeting = Meeting(kind="weekly", title="周例会", held_on=date(2026, 6, 15), chair_id=leader.id, state="planned")
    db.session.add(meeting)
    db.session.commit()
    kind = db.session.scalars(select(ProblemType)).first()
    return {"town": town, "project": project, "foreign": foreign, "type": kind, "meeting": meeting}


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Problem, Assignment, Meeting, AuditEntry))


def _problem(c, **change):
    return {"project_id": str(c["project"].id), "type_id": str(c["type"].id), "title": "用地指标不足",
            "need": "调剂用地指标", "urgency": "normal", **change}


def _assignment(c, **change):
    return {"source": "instruction", "title": "加装电梯", "text": "年内完成", "lead_unit_id": str(c["town"].id), **change}


def _decision(c, **change):
    return {"title": "征迁协议签订", "text": "一周内签订", "lead_unit_id": str(c["town"].id), **change}


CASES = [
    ("staff", "/problems/new", _problem, {"title": SCRIPT}, "HTML"),
    ("staff", "/problems/new", _problem, {"title": "长" * 101}, "最多 100"),
    ("staff", "/problems/new", _problem, {"need": ""}, "请写明需要协调解决什么"),
    ("staff", "/problems/new", _problem, {"type_id": "999"}, "不是有效的选择"),
    ("staff", "/problems/new", _problem, {"urgency": "whenever"}, "不是有效的选择"),
    ("staff", "/problems/new", lambda c, **k: _problem(c, project_id=str(c["foreign"].id), **k), {}, "不是有效的选择"),
    ("staff", "/problems/new", _problem, {"project_id": "x"}, "不是有效的选择"),
    ("supervisor", "/assignments/new", _assignment, {"source": "rumour"}, "不是有效的选择"),
    ("supervisor", "/assignments/new", _assignment, {"text": SCRIPT}, "HTML"),
    ("supervisor", "/assignments/new", _assignment, {"lead_unit_id": ""}, "请选择牵头单位"),
    ("supervisor", "/assignments/new", _assignment, {"co_unit_ids": "99999"}, "不是有效的选择"),
    ("supervisor", "/meetings/new", lambda c, **k: {"kind": "weekly", "held_on": "2026-02-30", **k}, {}, "日期"),
    ("supervisor", "/meetings/new", lambda c, **k: {"kind": "party", "held_on": "2026-06-15", **k}, {}, "不是有效的选择"),
    ("supervisor", "/meetings/new", lambda c, **k: {"kind": "weekly", "held_on": "2026-06-15", "place": SCRIPT, **k}, {}, "HTML"),
]


@pytest.mark.parametrize("role, path, build, change, message", CASES)
def test_a_bad_form_is_refused_and_writes_nothing(app, loop_county, login_as, role, path, build, change, message):
    who = login_as(role)
    before = _counts()
    response = who.post(path, data=build(loop_county, **change), page=path)
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body[-2000:]
    assert message in body and SCRIPT not in body
    assert _counts() == before


def test_a_decision_needs_its_fields_and_a_known_unit(app, loop_county, login_as):
    c = loop_county
    office = login_as("supervisor")
    path = f"/meetings/{c['meeting'].id}/decide"
    before = _counts()
    for change, message in (({"title": ""}, "请填写议定事项"), ({"lead_unit_id": "999999"}, "不是有效的选择"),
                            ({"problem_id": "12345"}, "不是有效的选择")):
        response = office.post(path, data=_decision(c, **change), page=f"/meetings/{c['meeting'].id}")
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _counts() == before
    nul = office.post(path, data=_decision(c, text="一周\x00内"), page=f"/meetings/{c['meeting'].id}")
    assert nul.status_code == 422 and _counts() == before


def test_signing_twice_and_reporting_before_signing_are_refused(app, loop_county, login_as):
    c = loop_county
    assignment = f.assignment(c["town"])
    db.session.commit()
    staff = login_as("staff")
    page = f"/assignments/{assignment.project_id}"
    early = staff.post(f"{page}/report", data={"text": "已选址"}, page=page)
    assert early.status_code == 422 and "请先签收" in early.get_data(as_text=True)
    assert staff.post(f"{page}/sign", page=page).status_code == 303
    again = staff.post(f"{page}/sign", page=page)
    assert again.status_code == 409 and "已经签收" in again.get_data(as_text=True)
    hostile = staff.post(f"{page}/sign", data={"next": "//evil.example/"}, page=page)
    assert hostile.status_code == 409
