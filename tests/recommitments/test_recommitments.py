"""Re-commitment (rule 3), cards by hand, notifications, the scoring policy and calendar pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import (
    AuditEntry,
    CalendarDay,
    CardEvent,
    Node,
    Notification,
    Recommitment,
    ScoringPolicy,
)
from portal.sweeps.services import sweep
from tests import factories as f


@pytest.fixture
def late(app, clock):
    """A node that got its yellow card this morning (deadline 06-12, today 06-15)."""
    unit = f.unit("上派镇")
    f.user("staff", roles=["unit_staff"], unit=unit)
    leader = f.user("leader", roles=["leader"], unit=f.unit("县政府"))
    leader.units_in_charge.append(unit)
    f.user("other_leader", roles=["leader"], unit=f.unit("县政协"))
    f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    node = f.node(f.project(lead_unit=unit), title="完成征迁交地", deadline=date(2026, 6, 12))
    db.session.commit()
    sweep(clock.today(), clock)
    db.session.commit()
    return node.id



def test_rule3_file_and_approve_sets_the_committed_deadline(login_as, app, late):
    staff = login_as("staff")
    response = staff.post(f"/nodes/{late}/recommit", {"reason": "3户未签订协议，正在做群众工作", "new_deadline": "2026-07-10"}, page=f"/nodes/{late}")
    assert response.status_code == 303
    request = db.session.scalars(select(Recommitment)).one()
    assert request.state == "pending" and request.new_deadline == date(2026, 7, 10)
    assert db.session.scalars(select(Notification.kind).where(Notification.kind == "recommitment.filed")).all()
    # A second request while one is pending is refused.
    again = staff.post(f"/nodes/{late}/recommit", {"reason": "再次申请", "new_deadline": "2026-07-20"}, page=f"/nodes/{late}")
    assert again.status_code == 422 and "待审定" in again.get_data(as_text=True)
    # Only the leader in charge decides.
    outsider = login_as("other_leader")
    assert outsider.post(f"/recommitments/{request.id}/decide", {"decision": "approve"}, page="/recommitments").status_code == 403
    leader = login_as("leader")
    assert "完成征迁交地" in leader.client.get("/recommitments").get_data(as_text=True)
    assert leader.post(f"/recommitments/{request.id}/decide", {"decision": "approve", "comment": "同意"}, page="/recommitments").status_code == 303
    node = db.session.get(Node, late)
    assert node.committed_deadline == date(2026, 7, 10) and node.warned_on is None
    assert db.session.get(Recommitment, request.id).state == "approved"
    assert "recommitment.approved" in db.session.scalars(select(AuditEntry.action)).all()


@pytest.mark.parametrize(("new_date", "message"), [
    ("2026-06-15", "晚于今天"),
    ("2026-06-01", "晚于今天"),
    ("2026-12-31", "不能晚于"),
    ("2026-02-30", "日期"),
])
def test_bad_dates_are_refused(login_as, app, late, new_date, message):
    staff = login_as("staff")
    response = staff.post(f"/nodes/{late}/recommit", {"reason": "原因", "new_deadline": new_date}, page=f"/nodes/{late}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalars(select(Recommitment)).all() == []


def test_rule3_rejection_needs_a_comment_and_leaves_no_committed_date(login_as, app, late):
    staff = login_as("staff")
    staff.post(f"/nodes/{late}/recommit", {"reason": "原因", "new_deadline": "2026-07-10"}, page=f"/nodes/{late}")
    request = db.session.scalars(select(Recommitment)).one()
    leader = login_as("leader")
    response = leader.post(f"/recommitments/{request.id}/decide", {"decision": "reject", "comment": ""}, page="/recommitments")
    assert response.status_code == 422 and "意见" in response.get_data(as_text=True)
    leader.post(f"/recommitments/{request.id}/decide", {"decision": "reject", "comment": "理由不充分"}, page="/recommitments")
    assert db.session.get(Recommitment, request.id).state == "rejected"
    assert db.session.get(Node, late).committed_deadline is None


def test_rule3_nodes_without_a_yellow_card_need_no_re_commitment(login_as, app, late):
    node = db.session.get(Node, late)
    fresh = f.node(node.project, deadline=date(2026, 8, 1))
    db.session.commit()
    staff = login_as("staff")
    response = staff.post(f"/nodes/{fresh.id}/recommit", {"reason": "原因", "new_deadline": "2026-08-20"}, page=f"/nodes/{fresh.id}")
    assert response.status_code == 422 and "只有记黄牌" in response.get_data(as_text=True)


def test_manual_card_and_withdrawal(login_as, app, late):
    sup = login_as("sup")
    response = sup.post(f"/nodes/{late}/cards", {"colour": "red", "reason": "现场督查发现弄虚作假"}, page=f"/nodes/{late}")
    assert response.status_code == 303
    node = db.session.get(Node, late)
    manual = db.session.scalars(select(CardEvent).where(CardEvent.is_manual.is_(True))).one()
    assert (manual.colour, manual.points, manual.issued_by_id is not None) == ("red", -1, True)
    assert node.card == "red" and node.is_key_supervision
    assert sup.post(f"/nodes/{late}/cards", {"colour": "yellow", "reason": ""}, page=f"/nodes/{late}").status_code == 422
    response = sup.post(f"/cards/{manual.id}/withdraw", {"reason": "经核实情况不属实"}, page=f"/nodes/{late}")
    assert response.status_code == 303
    db.session.refresh(node)
    assert db.session.get(CardEvent, manual.id).is_withdrawn and node.card == "yellow"
    again = sup.post(f"/cards/{manual.id}/withdraw", {"reason": "再次"}, page=f"/nodes/{late}")
    assert again.status_code == 409
    staff = login_as("staff")
    assert staff.post(f"/nodes/{late}/cards", {"colour": "green", "reason": "自评"}, page=f"/nodes/{late}").status_code == 403


def test_the_bell_counts_unread_notices(login_as, app, late):
    staff = login_as("staff")
    html = staff.client.get(f"/nodes/{late}").get_data(as_text=True)
    assert 'class="unread-count">1<' in html
    assert "超期未销号，已记黄牌" in staff.client.get("/notifications").get_data(as_text=True)
    staff.post("/notifications/read", page="/notifications")
    assert "unread-count" not in staff.client.get(f"/nodes/{late}").get_data(as_text=True)


def test_policy_change_applies_from_its_date_only(login_as, app, late, clock):
    f.user("root", roles=["admin"])
    db.session.commit()
    admin = login_as("root")
    fields = {"green_points": "2", "yellow_points": "-1", "red_points": "-2", "warn_days": "5", "recommit_grace_days": "5",
              "interview_yellow_threshold": "3", "recommit_max_days": "60", "project_yellow_lag": "10", "project_red_lag": "25", "note": "年中调整"}
    past = admin.post("/admin/policy", {**fields, "effective_from": "2026-06-01"})
    assert past.status_code == 422 and "今天或以后" in past.get_data(as_text=True)
    assert admin.post("/admin/policy", {**fields, "effective_from": "2026-06-20"}).status_code == 303
    policy = db.session.scalars(select(ScoringPolicy)).one()
    assert policy.yellow_points == -1
    assert db.session.scalars(select(CardEvent.points)).all() == [0]  # the card issued before keeps its points
    assert "policy.save" in db.session.scalars(select(AuditEntry.action)).all()


def test_calendar_page_adds_a_holiday(login_as, app, late):
    f.user("root", roles=["admin"])
    db.session.commit()
    admin = login_as("root")
    response = admin.post("/admin/calendar", {"day": "2027-01-01", "is_workday": "0", "name": "元旦"})
    assert response.status_code == 303
    row = db.session.get(CalendarDay, date(2027, 1, 1))
    assert row is not None and not row.is_workday
    assert "国庆节" in admin.client.get("/admin/calendar?year=2026").get_data(as_text=True)
