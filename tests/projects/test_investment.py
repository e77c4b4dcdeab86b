"""Completed investment reported monthly by the project's contact (N #7): rules, the history and its chart."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import AuditEntry, InvestmentReport, Project
from tests import factories as f
from tests.conftest import csrf_from, post_at_once


@pytest.fixture
def county(app):
    town, park = f.unit("城关镇", short_name="城关镇"), f.unit("经济开发区", short_name="开发区")
    contact = f.user("wu", roles=["contact"], unit=town, display_name="吴海涛")
    f.user("staff", roles=["unit_staff"], unit=town)
    f.user("other", roles=["unit_staff"], unit=park)
    f.user("lead", roles=["leader"], unit=f.unit("县政府"))
    project = f.project(lead_unit=town, year=2026, investment_planned=Decimal(1200))
    project.contacts.append(contact)
    db.session.commit()
    return {"project": project}


def _report(client, project, month="2026-05-01", completed="300", note="统计快报"):
    return client.post(f"/projects/{project.id}/investment", {"month": month, "completed": completed, "note": note},
                       page=f"/projects/{project.id}")


def _reports(project) -> list[tuple[str, Decimal]]:
    db.session.expire_all()
    return [(r.month.isoformat(), r.completed) for r in db.session.scalars(
        select(InvestmentReport).where(InvestmentReport.project_id == project.id).order_by(InvestmentReport.month))]


def test_the_contact_reports_a_month_and_the_project_shows_it(county, login_as):
    wu, project = login_as("wu"), county["project"]
    page = wu.client.get(f"/projects/{project.id}").get_data(as_text=True)
    # This month (June 2026) first, back to January; never a month to come.
    assert '<option selected value="2026-06-01">2026年6月</option>' in page and "2026年7月" not in page
    response = _report(wu, project, "2026-04-01", "180.5")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/projects/{project.id}#investment")
    assert _report(wu, project, "2026-05-01", "1,300.25").status_code == 303  # a thousands separator is read
    assert _reports(project) == [("2026-04-01", Decimal("180.50")), ("2026-05-01", Decimal("1300.25"))]
    assert db.session.get(Project, project.id).investment_completed == Decimal("1300.25")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "investment.report")).first()
    assert entry.actor_id is not None and entry.after["month"] == "2026-04-01"
    page = wu.client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "已保存2026年5月完成投资" in page
    assert "1,300.25" in page and "1,119.75" in page  # May's figure and what May added
    assert page.count('class="fill-green" x=') == 2  # a bar per month reported
    assert "计划 1,200.00" in page  # the year's plan as a line


def test_a_correction_replaces_the_month_and_is_audited_as_one(county, login_as):
    wu, project = login_as("wu"), county["project"]
    _report(wu, project, "2026-05-01", "300")
    assert _report(wu, project, "2026-05-01", "320", note="更正：统计局核定数").status_code == 303
    assert _reports(project) == [("2026-05-01", Decimal("320.00"))]
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("investment.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["investment.report", "investment.correct"]


def test_the_year_never_goes_down_and_nothing_is_written_when_refused(county, login_as):
    wu, project = login_as("wu"), county["project"]
    _report(wu, project, "2026-03-01", "200")
    _report(wu, project, "2026-05-01", "500")
    low = _report(wu, project, "2026-04-01", "150")
    assert low.status_code == 422
    assert "本年累计完成投资不能低于此前月份：2026年3月已报 200.00 万元" in low.get_data(as_text=True)
    high = _report(wu, project, "2026-04-01", "600")
    assert high.status_code == 422 and "不能高于此后月份：2026年5月已报 500.00 万元" in high.get_data(as_text=True)
    assert _reports(project) == [("2026-03-01", Decimal("200.00")), ("2026-05-01", Decimal("500.00"))]
    assert db.session.get(Project, project.id).investment_completed == Decimal("500.00")


@pytest.mark.parametrize("month, completed, message", [
    ("2026-07-01", "100", "不是有效的选择"), ("2025-12-01", "100", "不是有效的选择"), ("x" * 300, "100", "不是有效的选择"),
    ("2026-05-01", "abc", "请输入 0 到 999,999,999 之间的金额"), ("2026-05-01", "-1", "请输入 0 到 999,999,999 之间的金额"),
    ("2026-05-01", "NaN", "请输入 0 到 999,999,999 之间的金额"), ("2026-05-01", "1.005", "请输入 0 到 999,999,999 之间的金额"),
    ("2026-05-01", "", "此项为必填项"),
])
def test_bad_input_is_refused_in_chinese_once(county, login_as, month, completed, message):
    wu, project = login_as("wu"), county["project"]
    response = _report(wu, project, month, completed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count(message) == 1, page[page.find("investment"):][:3000]
    assert _reports(project) == []


def test_who_may_report(county, login_as):
    project = county["project"]
    assert _report(login_as("staff"), project).status_code == 303  # the lead unit's staff
    assert _report(login_as("other"), project, completed="400").status_code == 403  # another unit's
    assert _report(login_as("lead"), project, completed="400").status_code == 403  # leaders read
    assert "填报完成投资" not in login_as("lead").client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert _reports(project) == [("2026-05-01", Decimal("300.00"))]


def test_two_reports_of_one_month_at_once_are_applied_one_after_the_other(county, login_as, app):
    project = county["project"]
    clients = [login_as("wu"), login_as("staff")]
    posts = []
    for client, amount in zip(clients, ("310", "320"), strict=True):
        token = csrf_from(client.client.get(f"/projects/{project.id}").get_data(as_text=True))
        posts.append((client.client, f"/projects/{project.id}/investment",
                      {"csrf_token": token, "month": "2026-05-01", "completed": amount, "note": ""}))
    assert sorted(post_at_once(app, posts)) == [303, 303]
    (month, amount), = _reports(project)
    assert month == "2026-05-01" and amount in (Decimal("310.00"), Decimal("320.00"))
    assert db.session.get(Project, project.id).investment_completed == amount
