"""Bad input on every form: a Chinese message, 422, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import AuditEntry, Category, League, Node, Project, Theme, Unit, User
from tests import factories as f

SCRIPT = "<script>alert(1)</script>"
LONG = "长" * 300


@pytest.fixture
def world(app):
    unit = f.unit("上派镇")
    category = f.category("产业项目")
    f.theme("产业创新")
    f.league("乡镇联赛")
    project = f.project(lead_unit=unit, category=category, code="P-1", year=2026)
    node = f.node(project, title="完成土地摘牌")
    f.user("admin", roles=["admin", "supervisor"], unit=unit)
    db.session.commit()
    return {"unit": unit, "category": category, "project": project, "node": node}


def _valid(kind: str, world) -> tuple[str, dict]:
    unit, category, project = world["unit"], world["category"], world["project"]
    forms = {
        "league": ("/admin/leagues/new", {"name": "园区联赛", "description": "", "sort_order": "2"}),
        "category": ("/admin/categories/new", {"name": "民生工程", "sort_order": "1", "is_active": "y"}),
        "theme": ("/admin/themes/new", {"name": "城乡发展", "sort_order": "1", "is_active": "y"}),
        "unit": ("/admin/units/new", {"name": "三河镇", "short_name": "三河", "league_id": "", "head_name": "王明", "sort_order": "0", "is_active": "y"}),
        "user": ("/admin/users/new", {"username": "zhangsan", "display_name": "张三", "unit_id": str(unit.id), "roles": "unit_staff", "password": "long-enough-1", "is_active": "y"}),
        "project": ("/projects/new", {"code": "P-2", "name": "老城区雨污分流管网改造", "category_id": str(category.id), "theme_id": "", "year": "2026",
                     "lead_leader_id": "", "lead_unit_id": str(unit.id), "stage": "signed", "investment_total": "1000",
                     "investment_planned": "500", "investment_completed": "100", "start_date": "2026-01-01", "end_date": "2026-12-31", "description": ""}),
        "node": (f"/projects/{project.id}/nodes/new", {"title": "取得施工许可证", "unit_id": str(unit.id), "responsible_user_id": "",
                  "deadline": "2026-09-30", "standard": "以施工许可证为准", "weight": "1"}),
    }
    return forms[kind]


# (form, field, value, expected message fragment)
CASES = [
    ("league", "name", "", "必填"),
    ("league", "name", "乡镇联赛", "已被使用"),
    ("league", "name", SCRIPT, "HTML"),
    ("league", "name", LONG, "最多 40"),
    ("league", "sort_order", "abc", "整数"),
    ("category", "name", "", "必填"),
    ("category", "name", "产业项目", "已被使用"),
    ("theme", "name", "产业创新", "已被使用"),
    ("theme", "name", "<b>x</b>", "HTML"),
    ("unit", "name", "上派镇", "已被使用"),
    ("unit", "name", "", "必填"),
    ("unit", "head_name", SCRIPT, "HTML"),
    ("unit", "league_id", "9999", "不是有效的选择"),
    ("user", "username", "admin", "已被占用"),
    ("user", "username", "ADMIN", "已被占用"),
    ("user", "username", "张 三", "只能使用"),
    ("user", "display_name", SCRIPT, "HTML"),
    ("user", "password", "", "至少 8 位"),
    ("user", "password", "short", "8 到 200"),
    ("user", "roles", None, "至少选择一个角色"),  # nothing ticked: the browser sends nothing
    ("user", "roles", "god", "不是有效的选择"),
    ("user", "phone", "call me", "电话号码"),
    ("user", "unit_id", "", "必须属于某个单位"),
    ("project", "code", "P-1", "已被使用"),
    ("project", "code", "", "必填"),
    ("project", "code", "P 1/2", "只能使用"),
    ("project", "name", SCRIPT, "HTML"),
    ("project", "name", LONG, "最多 100"),
    ("project", "year", "20x6", "2000 到 2100"),
    ("project", "start_date", "2026-02-30", "日期"),
    ("project", "end_date", "2025-12-31", "不能早于"),
    ("project", "investment_total", "-5", "金额"),
    ("project", "category_id", "", "必填"),
    ("project", "description", '<img src=x onerror="alert(1)">', "HTML"),
    ("node", "title", "", "必填"),
    ("node", "title", SCRIPT, "HTML"),
    ("node", "title", LONG, "最多 120"),
    ("node", "deadline", "2026-13-01", "日期"),
    ("node", "deadline", "", "日期"),
    ("node", "deadline", "2027-01-05", "项目年度"),
    ("node", "standard", "", "必填"),
    ("node", "weight", "0", "1 到 10"),
    ("node", "unit_id", "", "必填"),
]

MODELS = {"league": League, "category": Category, "theme": Theme, "unit": Unit, "user": User, "project": Project, "node": Node}


def _counts():
    return {name: db.session.scalar(select(func.count()).select_from(m)) for name, m in MODELS.items()} | {
        "audit": db.session.scalar(select(func.count()).select_from(AuditEntry))
    }


@pytest.mark.parametrize(("kind", "field", "value", "message"), CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_refused_and_nothing_written(app, client, auth, world, kind, field, value, message):
    auth.login("admin")
    url, data = _valid(kind, world)
    data = {**data, field: value}
    if value is None:
        del data[field]
    if field == "year":
        data["start_date"] = data["end_date"] = ""
    before = _counts()
    response = auth.post(url, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "<script>alert(1)</script>" not in html  # echoed back escaped, never live
    assert _counts() == before


@pytest.mark.parametrize("kind", list(MODELS))
def test_the_valid_form_saves_and_audits(app, client, auth, world, kind):
    auth.login("admin")
    url, data = _valid(kind, world)
    before = _counts()
    response = auth.post(url, data)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    after = _counts()
    assert after[kind] == before[kind] + 1
    assert after["audit"] > before["audit"]


def test_english_messages_when_english_is_chosen(app, client, auth, world):
    auth.login("admin")
    client.get("/lang/en")
    response = auth.post("/admin/leagues/new", {"name": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
