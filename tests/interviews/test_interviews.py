"""Interviews (约谈, rule 6): proposed → scheduled → held → closed, or cancelled; who may do what."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from portal.audit import services as audit
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.interviews import services
from portal.models import AuditEntry, CardEvent, Interview, Notification, User
from portal.sweeps.services import sweep
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def unit_with_interview(app, clock):
    """A township with a red card; the sweep has proposed an interview with it."""
    unit = f.unit("上派镇", head_name="王明")
    other = f.unit("三河镇")
    f.user("staff", roles=["unit_staff"], unit=unit)
    f.user("contact", roles=["contact"], unit=unit)
    f.user("other_staff", roles=["unit_staff"], unit=other)
    leader = f.user("leader", roles=["leader"], unit=f.unit("县政府"), display_name="李强", title="副县长")
    f.user("leader2", roles=["leader"], unit=f.unit("县政协"), display_name="赵敏")
    sup = f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    f.user("root", roles=["admin"])
    node = f.node(f.project(lead_unit=unit), title="完成征迁交地", deadline=date(2026, 6, 30))
    other_node = f.node(f.project(lead_unit=other), title="完成管网铺设", deadline=date(2026, 6, 30))
    red = CardEvent(node=node, unit=unit, colour="red", points=-1, effective_date=date(2026, 6, 12),
                    reason="现场督查发现进度严重滞后", is_manual=True, issued_by=sup)
    # Cards by hand, so that the sweep's own rules (red after the grace period) leave them alone.
    yellow = CardEvent(node=node, unit=unit, colour="yellow", points=0, effective_date=date(2026, 6, 5), is_manual=True, issued_by=sup)
    elsewhere = CardEvent(node=other_node, unit=other, colour="yellow", points=0, effective_date=date(2026, 6, 8),
                          is_manual=True, issued_by=sup)
    db.session.add_all([red, yellow, elsewhere])
    db.session.commit()
    sweep(clock.today(), clock)
    db.session.commit()
    interview = db.session.scalars(select(Interview)).one()
    return {"unit": unit, "other": other, "leader": leader, "sup": sup, "interview": interview.id,
            "red": red.id, "yellow": yellow.id, "elsewhere": elsewhere.id}



def _schedule_data(unit_with_interview, **changes) -> dict:
    data = {"when": "2026-06-18T15:00", "place": "县委县政府督查室会议室", "interviewer_id": str(unit_with_interview["leader"].id),
            "interviewer_name": "", "bring": "超期情况说明、整改方案及责任人名单"}
    return {**data, **changes}


def _interview(unit_with_interview) -> Interview:
    return db.session.get(Interview, unit_with_interview["interview"])


def _audit(interview_id: int) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "interview", AuditEntry.object_id == interview_id)
        .order_by(AuditEntry.id)
    ).all()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _set_state(interview_id: int, state: str, **values) -> None:
    db.session.execute(update(Interview).where(Interview.id == interview_id).values(state=state, **values))
    db.session.commit()


def test_the_full_path_over_http(login_as, app, unit_with_interview, clock):
    iid = unit_with_interview["interview"]
    detail = f"/interviews/{iid}"
    sup = login_as("sup")
    listing = sup.client.get("/interviews").get_data(as_text=True)
    assert "上派镇" in listing and "待安排" in listing
    page = sup.client.get(detail).get_data(as_text=True)
    assert "王明" in page and "完成征迁交地" in page and "安排约谈" in page
    assert f"/interviews/{iid}/notice.pdf" not in page  # nothing to print before it is scheduled

    response = sup.post(f"{detail}/schedule", _schedule_data(unit_with_interview), page=detail)
    assert response.status_code == 303 and response.headers["Location"].endswith(detail)
    interview = _interview(unit_with_interview)
    assert interview.state == "scheduled"
    assert interview.scheduled_for == datetime(2026, 6, 18, 7, 0, tzinfo=UTC)  # 15:00 county time
    assert interview.interviewer_id == unit_with_interview["leader"].id and interview.interviewer_name == "李强（副县长）"
    assert interview.place == "县委县政府督查室会议室"
    told = db.session.scalars(select(Notification).where(Notification.kind == "interview.scheduled")).all()
    staff_id = db.session.scalar(select(User.id).where(User.username == "staff"))
    assert {n.user_id for n in told} == {staff_id, unit_with_interview["leader"].id}
    assert all(n.link == detail and "2026-06-18 15:00" in n.title for n in told)
    page = sup.client.get(detail).get_data(as_text=True)
    assert f'action="/interviews/{iid}/notice"' in page and "2026-06-18 15:00" in page  # issued by its button
    assert sup.post(f"/interviews/{iid}/notice", page=detail).status_code == 303
    page = sup.client.get(detail).get_data(as_text=True)
    assert f'href="/interviews/{iid}/notice.pdf"' in page

    clock.set(datetime(2026, 6, 18, 16, 30, tzinfo=SHANGHAI))
    leader = login_as("leader")  # the interviewer records the minutes
    response = leader.post(f"{detail}/hold", {"minutes": "王明同志说明了超期原因，承诺7月10日前完成交地。"}, page=detail)
    assert response.status_code == 303
    interview = _interview(unit_with_interview)
    assert interview.state == "held" and interview.held_at == clock.now() and "7月10日" in interview.minutes

    sup = login_as("sup")  # three days later: a new session
    response = sup.post(f"{detail}/close", page=detail)
    assert response.status_code == 303
    interview = _interview(unit_with_interview)
    assert interview.state == "closed" and interview.closed_at == clock.now()

    entries = _audit(iid)
    assert [e.action for e in entries] == ["interview.propose", "interview.schedule", "interview.notice", "interview.hold", "interview.close"]
    steps = [e for e in entries if e.action != "interview.notice"]
    assert [(e.before or {}).get("state") for e in steps[1:]] == ["proposed", "scheduled", "held"]
    assert [e.after["state"] for e in steps[1:]] == ["scheduled", "held", "closed"]
    assert entries[2].actor_id == unit_with_interview["sup"].id  # the notice: issued by the supervisor
    assert entries[3].actor_name == "李强" and entries[4].actor_id == unit_with_interview["sup"].id
    page = sup.client.get(detail).get_data(as_text=True)
    assert "已办结" in page and "记录约谈纪要" in page and "承诺7月10日前完成交地" in page


def test_rescheduling_is_audited_and_notifies_again(login_as, app, unit_with_interview):
    detail = f"/interviews/{unit_with_interview['interview']}"
    sup = login_as("sup")
    assert sup.post(f"{detail}/schedule", _schedule_data(unit_with_interview), page=detail).status_code == 303
    later = _schedule_data(unit_with_interview, when="2026-06-19T09:30", interviewer_id="", interviewer_name="县委常委、常务副县长 张伟")
    assert sup.post(f"{detail}/schedule", later, page=detail).status_code == 303
    interview = _interview(unit_with_interview)
    assert interview.scheduled_for == datetime(2026, 6, 19, 1, 30, tzinfo=UTC)
    assert interview.interviewer_id is None and interview.interviewer_name == "县委常委、常务副县长 张伟"
    entry = _audit(interview.id)[-1]
    assert entry.action == "interview.reschedule"
    assert entry.before["scheduled_for"].startswith("2026-06-18T07:00") and entry.after["scheduled_for"].startswith("2026-06-19T01:30")
    titles = db.session.scalars(select(Notification.title).where(Notification.kind == "interview.scheduled")).all()
    assert any("2026-06-19 09:30" in t for t in titles) and any("2026-06-18 15:00" in t for t in titles)


def test_a_supervisor_proposes_an_interview_by_hand(login_as, app, unit_with_interview, clock):
    sup = login_as("sup")
    response = sup.post("/interviews/new", {"unit_id": str(unit_with_interview["unit"].id), "card_ids": [str(unit_with_interview["yellow"])],
                                            "reason": "连续两周节点推进滞后，督查组建议约谈"}, page="/interviews")
    assert response.status_code == 303
    interview = db.session.scalars(select(Interview).where(Interview.trigger == "manual")).one()
    assert response.headers["Location"].endswith(f"/interviews/{interview.id}")
    assert (interview.state, interview.trigger_key, interview.proposed_on) == ("proposed", None, clock.today())
    assert interview.proposed_by_id == unit_with_interview["sup"].id and [c.id for c in interview.cards] == [unit_with_interview["yellow"]]
    entry = _audit(interview.id)[0]
    assert entry.action == "interview.propose" and entry.after["reason"] == "连续两周节点推进滞后，督查组建议约谈"
    page = sup.client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    assert "督查室提议" in page and "连续两周节点推进滞后" in page
    # Without any card is fine too; a second manual one for the same unit does not clash on trigger_key.
    response = sup.post("/interviews/new", {"unit_id": str(unit_with_interview["unit"].id), "reason": "专项督查"}, page="/interviews")
    assert response.status_code == 303
    assert _count(Interview) == 3


@pytest.mark.parametrize(("data", "message"), [
    ({"reason": ""}, "提议约谈须填写理由"),
    ({"unit_id": ""}, "请选择单位"),
    ({"unit_id": "99999"}, "不是有效的选择"),
    ({"card_ids": ["99999"]}, "不是有效的选择"),
    ({"card_ids": "elsewhere"}, "所选记牌不属于该单位"),
    ({"reason": SCRIPT}, "HTML"),
    ({"reason": "长" * 1001}, "最多 1000"),
])
def test_a_bad_proposal_is_refused(login_as, app, unit_with_interview, data, message):
    if data.get("card_ids") == "elsewhere":
        data = {"card_ids": [str(unit_with_interview["elsewhere"])]}
    sup = login_as("sup")
    before = (_count(Interview), _count(AuditEntry))
    fields = {"unit_id": str(unit_with_interview["unit"].id), "reason": "专项督查", **data}
    response = sup.post("/interviews/new", fields, page="/interviews")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert (_count(Interview), _count(AuditEntry)) == before


def test_cancel_needs_a_reason(login_as, app, unit_with_interview):
    detail = f"/interviews/{unit_with_interview['interview']}"
    sup = login_as("sup")
    assert sup.post(f"{detail}/schedule", _schedule_data(unit_with_interview), page=detail).status_code == 303
    audits = len(_audit(unit_with_interview["interview"]))
    response = sup.post(f"{detail}/cancel", {"reason": "   "}, page=detail)
    assert response.status_code == 422 and "取消约谈须填写理由" in response.get_data(as_text=True)
    assert _interview(unit_with_interview).state == "scheduled" and len(_audit(unit_with_interview["interview"])) == audits

    response = sup.post(f"{detail}/cancel", {"reason": "该单位已于6月16日完成整改，经研究不再约谈"}, page=detail)
    assert response.status_code == 303
    assert _interview(unit_with_interview).state == "cancelled"
    entry = _audit(unit_with_interview["interview"])[-1]
    assert entry.action == "interview.cancel" and entry.before["state"] == "scheduled"
    assert entry.after == entry.after | {"state": "cancelled", "reason": "该单位已于6月16日完成整改，经研究不再约谈"}
    # The unit had been told the time, so it is told of the cancellation too.
    assert db.session.scalars(select(Notification).where(Notification.kind == "interview.cancelled")).all()
    page = sup.client.get(detail).get_data(as_text=True)
    assert "已取消" in page and "经研究不再约谈" in page


# (state the interview is in, step, expected message fragment)
ILLEGAL = [
    ("proposed", "hold", "请先安排时间"),
    ("proposed", "close", "尚未举行"),
    ("scheduled", "close", "尚未举行"),
    ("held", "schedule", "约谈已举行，不能再安排时间"),
    ("held", "hold", "不能重复记录"),
    ("held", "cancel", "约谈已举行，不能取消"),
    ("closed", "schedule", "“已办结”，不能安排约谈"),
    ("closed", "hold", "“已办结”，不能记录约谈纪要"),
    ("closed", "close", "约谈已办结"),
    ("closed", "cancel", "“已办结”，不能取消"),
    ("cancelled", "schedule", "“已取消”，不能安排约谈"),
    ("cancelled", "hold", "“已取消”，不能记录约谈纪要"),
    ("cancelled", "close", "“已取消”，不能办结"),
    ("cancelled", "cancel", "“已取消”，不能取消"),
]


@pytest.mark.parametrize(("state", "step", "message"), ILLEGAL)
def test_illegal_transitions_are_refused(login_as, app, unit_with_interview, clock, state, step, message):
    iid = unit_with_interview["interview"]
    _set_state(iid, state, scheduled_for=datetime(2026, 6, 15, 1, 0, tzinfo=UTC), place="会议室", interviewer_name="李强")
    clock.set(datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI))
    data = {"schedule": _schedule_data(unit_with_interview), "hold": {"minutes": "纪要"}, "close": {}, "cancel": {"reason": "不再约谈"}}[step]
    sup = login_as("sup")
    before = (_count(AuditEntry), _count(Notification))
    response = sup.post(f"/interviews/{iid}/{step}", data, page=f"/interviews/{iid}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    interview = _interview(unit_with_interview)
    assert interview.state == state and interview.minutes == "" and interview.place == "会议室"
    assert (_count(AuditEntry), _count(Notification)) == before


@pytest.mark.parametrize(("when", "message"), [
    ("2026-06-15T09:59", "须晚于当前时间"),
    ("2026-06-15T10:00", "须晚于当前时间"),
    ("2026-06-01T15:00", "须晚于当前时间"),
    ("明天下午三点", "YYYY-MM-DD HH:MM"),
    ("2026-02-30T15:00", "YYYY-MM-DD HH:MM"),
    ("", "请填写约谈日期和时间"),
])
def test_scheduling_in_the_past_or_without_a_time_is_refused(login_as, app, unit_with_interview, when, message):
    detail = f"/interviews/{unit_with_interview['interview']}"
    sup = login_as("sup")
    before = (_count(AuditEntry), _count(Notification))
    response = sup.post(f"{detail}/schedule", _schedule_data(unit_with_interview, when=when), page=detail)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _interview(unit_with_interview).state == "proposed" and _interview(unit_with_interview).scheduled_for is None
    assert (_count(AuditEntry), _count(Notification)) == before


def test_minutes_wait_for_the_scheduled_time(login_as, app, unit_with_interview, clock):
    detail = f"/interviews/{unit_with_interview['interview']}"
    sup = login_as("sup")
    sup.post(f"{detail}/schedule", _schedule_data(unit_with_interview), page=detail)
    response = sup.post(f"{detail}/hold", {"minutes": "纪要"}, page=detail)
    assert response.status_code == 422 and "尚未到安排的时间" in response.get_data(as_text=True)
    assert _interview(unit_with_interview).state == "scheduled"


@pytest.mark.parametrize(("step", "data", "message"), [
    ("schedule", {"place": SCRIPT}, "HTML"),
    ("schedule", {"place": ""}, "请填写约谈地点"),
    ("schedule", {"place": "长" * 101}, "最多 100"),
    ("schedule", {"interviewer_name": "<b>张伟</b>"}, "HTML"),
    ("schedule", {"interviewer_name": "长" * 61}, "最多 60"),
    ("schedule", {"interviewer_id": "", "interviewer_name": ""}, "请选择或填写约谈人"),
    ("schedule", {"interviewer_id": "99999"}, "不是有效的选择"),
    ("schedule", {"bring": "javascript:alert(1)"}, "HTML"),
    ("schedule", {"bring": "长" * 1001}, "最多 1000"),
    ("hold", {"minutes": SCRIPT}, "HTML"),
    ("hold", {"minutes": "长" * 5001}, "最多 5000"),
    ("hold", {"minutes": ""}, "请填写约谈纪要"),
    ("cancel", {"reason": '<img src=x onerror="alert(1)">'}, "HTML"),
    ("cancel", {"reason": "长" * 1001}, "最多 1000"),
])
def test_bad_input_is_refused_and_nothing_is_written(login_as, app, unit_with_interview, clock, step, data, message):
    iid = unit_with_interview["interview"]
    if step == "hold":
        _set_state(iid, "scheduled", scheduled_for=datetime(2026, 6, 15, 1, 0, tzinfo=UTC), place="会议室", interviewer_name="李强")
    fields = _schedule_data(unit_with_interview, **data) if step == "schedule" else data
    sup = login_as("sup")
    before = (_count(AuditEntry), _count(Notification))
    snapshot = audit.snapshot(_interview(unit_with_interview), services.FIELDS)
    response = sup.post(f"/interviews/{iid}/{step}", fields, page=f"/interviews/{iid}")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert SCRIPT not in body  # shown escaped, if at all
    db.session.expire_all()
    assert audit.snapshot(_interview(unit_with_interview), services.FIELDS) == snapshot
    assert (_count(AuditEntry), _count(Notification)) == before


def test_unit_staff_read_their_own_units_interviews_only(login_as, app, unit_with_interview):
    iid = unit_with_interview["interview"]
    detail = f"/interviews/{iid}"
    staff = login_as("staff")
    assert staff.client.get(detail).status_code == 200
    assert "上派镇" in staff.client.get("/interviews").get_data(as_text=True)
    for step, data in [("schedule", _schedule_data(unit_with_interview)), ("hold", {"minutes": "纪要"}), ("close", {}),
                       ("cancel", {"reason": "不约了"})]:
        response = staff.post(f"{detail}/{step}", data, page=detail)
        assert response.status_code == 403, step
        assert "没有权限" in response.get_data(as_text=True)
    assert staff.post("/interviews/new", {"unit_id": str(unit_with_interview["unit"].id), "reason": "自查"}, page=detail).status_code == 403
    assert _interview(unit_with_interview).state == "proposed" and _count(Interview) == 1

    other = login_as("other_staff")
    assert other.client.get(detail).status_code == 403
    assert "上派镇" not in other.client.get("/interviews").get_data(as_text=True)
    contact = login_as("contact")
    assert contact.client.get("/interviews").status_code == 403
    assert contact.client.get(detail).status_code == 403


def test_leaders_read_all_and_only_the_interviewer_records_minutes(login_as, app, unit_with_interview, clock):
    iid = unit_with_interview["interview"]
    detail = f"/interviews/{iid}"
    sup = login_as("sup")
    sup.post(f"{detail}/schedule", _schedule_data(unit_with_interview), page=detail)
    clock.set(datetime(2026, 6, 18, 16, 0, tzinfo=SHANGHAI))
    other_leader = login_as("leader2")
    assert other_leader.client.get(detail).status_code == 200
    assert "记录约谈纪要" not in other_leader.client.get(detail).get_data(as_text=True)
    assert other_leader.post(f"{detail}/hold", {"minutes": "纪要"}, page=detail).status_code == 403
    leader = login_as("leader")
    page = leader.client.get(detail).get_data(as_text=True)
    assert "记录约谈纪要" in page and "调整约谈安排" not in page  # only the minutes form for the interviewer
    assert leader.post(f"{detail}/schedule", _schedule_data(unit_with_interview, when="2026-06-20T09:00"), page=detail).status_code == 403
    assert leader.post(f"{detail}/cancel", {"reason": "有事"}, page=detail).status_code == 403
    assert _interview(unit_with_interview).state == "scheduled"
    admin = login_as("root")
    assert admin.client.get(detail).status_code == 200
    assert admin.post(f"{detail}/close", page=detail).status_code == 403


def test_the_list_filters_by_state_and_unit(login_as, app, unit_with_interview):
    sup = login_as("sup")
    sup.post("/interviews/new", {"unit_id": str(unit_with_interview["other"].id), "reason": "专项督查"}, page="/interviews")
    iid = unit_with_interview["interview"]
    sup.post(f"/interviews/{iid}/schedule", _schedule_data(unit_with_interview), page=f"/interviews/{iid}")
    scheduled = sup.client.get("/interviews?state=scheduled").get_data(as_text=True)
    assert f"/interviews/{iid}\"" in scheduled and "三河镇</a>" not in scheduled
    proposed = sup.client.get("/interviews?state=proposed").get_data(as_text=True)
    assert "三河镇</a>" in proposed and "上派镇</a>" not in proposed
    by_unit = sup.client.get(f"/interviews?unit_id={unit_with_interview['other'].id}").get_data(as_text=True)
    assert "三河镇</a>" in by_unit and "上派镇</a>" not in by_unit


def test_a_concurrent_change_is_not_overwritten(app, unit_with_interview, clock):
    """Two supervisors act at once: the second finds the row moved on and gets a 409."""
    interview = _interview(unit_with_interview)
    assert interview.state == "proposed"
    # Someone else cancels it in the meantime; this session still holds the old state.
    db.session.execute(update(Interview).where(Interview.id == interview.id).values(state="cancelled")
                       .execution_options(synchronize_session=False))
    with pytest.raises(Refused) as refused:
        services.schedule(unit_with_interview["sup"], interview, datetime(2026, 6, 18, 7, 0, tzinfo=UTC), "会议室", None, "李强", "",
                          clock=clock)
    assert refused.value.status == 409
    db.session.rollback()


def test_services_refuse_naive_times_and_non_supervisors(app, unit_with_interview, clock):
    interview = _interview(unit_with_interview)
    with pytest.raises(ValueError):
        services.schedule(unit_with_interview["sup"], interview, datetime(2026, 6, 18, 15, 0), "会议室", None, "李强", "", clock=clock)
    with pytest.raises(Refused) as refused:
        services.propose_manual(unit_with_interview["leader"], unit_with_interview["unit"], [], "理由", clock=clock)
    assert refused.value.status == 403 and "只有督查人员" in refused.value.message


def test_cards_are_chosen_per_unit_with_checkboxes(login_as, app, unit_with_interview, clock):
    """N #7: choosing an interview's cards needed Ctrl+click in one list mixing all units."""
    sup = login_as("sup")
    page = sup.client.get("/interviews").get_data(as_text=True)
    unit = unit_with_interview["unit"]
    assert f'<details data-unit="{unit.id}">' in page and f"<summary>{unit.name}" in page
    assert f'type="checkbox" name="card_ids" value="{unit_with_interview["yellow"]}"' in page
    assert "按住 Ctrl" not in page and "<select multiple" not in page.split('id="propose-title"')[1]
    refused = sup.post("/interviews/new", {"unit_id": str(unit.id), "reason": "专项督查", "card_ids": ["abc"]},
                       page="/interviews")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "不是有效的选择" in text
