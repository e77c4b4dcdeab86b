"""The meeting loop (issue J): problems escalated level by level, assignments on the 13710 clocks, meetings."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal.assignments import services as assignments
from portal.core.extensions import db
from portal.meetings import services as meetings
from portal.models import AuditEntry, CardEvent, Document, Node, Problem, ProblemType
from portal.problems import services as problems
from portal.rankings.services import unit_scores
from portal.sweeps.services import sweep
from tests import factories as f


def _at(day: date, hour: int = 2) -> datetime:
    """10:00 county time on ``day`` (02:00 UTC)."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


@pytest.fixture
def county(app):
    category = f.category("产业项目")
    league = f.league("乡镇联赛")
    town = f.unit("城关镇", league=league)
    other = f.unit("河口乡", league=league)
    office = f.unit("县委督查室")
    staff = f.user("staff", roles=["unit_staff"], unit=town)
    other_staff = f.user("other_staff", roles=["unit_staff"], unit=other)
    in_charge = f.user("fenguan", roles=["leader"], display_name="王分管")
    in_charge.units_in_charge.append(town)
    baobao = f.user("baobao", roles=["leader"], display_name="李包保")
    supervisor = f.user("supervisor", roles=["supervisor"], unit=office)
    project = f.project(lead_unit=town, category=category, name="城南产业园标准厂房", lead_leader=baobao)
    node = f.node(project, title="完成土地征收", deadline=date(2026, 12, 31))
    db.session.commit()
    return {"town": town, "other": other, "staff": staff, "other_staff": other_staff, "in_charge": in_charge,
            "baobao": baobao, "supervisor": supervisor, "project": project, "node": node}


# -- problems --------------------------------------------------------------------------


def test_the_problem_types_are_seeded(app):
    names = db.session.scalars(select(ProblemType.name).order_by(ProblemType.sort_order)).all()
    assert names == ["土地", "资金", "规划", "手续", "征迁", "要素保障", "其他"]


def test_a_problem_climbs_level_by_level_and_is_confirmed_by_its_raiser(app, county, clock):
    c = county
    land = db.session.scalar(select(ProblemType).where(ProblemType.name == "土地"))
    problem = problems.raise_problem(c["staff"], c["project"], c["node"], land.id, "用地指标不足", "需调剂用地指标 50 亩",
                                     "县自然资源局", "urgent", clock=clock)
    db.session.commit()
    assert (problem.level, problem.state, problem.unit_id) == ("in_charge", "open", c["town"].id)
    # the unit's leader in charge holds it; the project's 包保领导 not yet; the other unit's staff cannot act
    assert problems.next_steps(c["in_charge"], problem) == ["escalate", "answer", "resolve"]
    assert problems.next_steps(c["baobao"], problem) == []
    with pytest.raises(problems.Refused) as refused:
        problems.act(c["other_staff"], problem, "escalate", "", clock=clock)
    assert refused.value.status == 403
    db.session.rollback()
    problem = db.session.get(Problem, problem.id)
    problems.act(c["in_charge"], problem, "escalate", "本级无法调剂", clock=clock)
    assert problem.level == "lead_leader"
    assert problems.next_steps(c["in_charge"], problem) == []
    problems.act(c["baobao"], problem, "escalate", "", clock=clock)
    assert problem.level == "meeting"
    db.session.commit()
    with pytest.raises(problems.Refused):  # nothing above a meeting
        problems.act(c["baobao"], problem, "escalate", "", clock=clock)
    db.session.rollback()
    problem = db.session.get(Problem, problem.id)
    problems.act(c["supervisor"], problem, "answer", "县自然资源局调剂指标 50 亩", clock=clock)
    problems.act(c["staff"], problem, "reopen", "指标尚未下达", clock=clock)
    assert problem.state == "open"
    problems.act(c["supervisor"], problem, "resolve", "指标已下达", clock=clock)
    problems.act(c["staff"], problem, "confirm", "", clock=clock)
    db.session.commit()
    assert (problem.state, problem.closed_on) == ("closed", clock.today())
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "problem",
                                                                 AuditEntry.object_id == problem.id).order_by(AuditEntry.id)).all()
    assert actions == ["problem.raise", "problem.escalate", "problem.escalate", "problem.answer", "problem.reopen",
                       "problem.resolve", "problem.confirm"]


def test_an_open_problem_past_its_limit_is_overdue(app, county, clock, client, auth):
    c = county
    kind = db.session.scalar(select(ProblemType).where(ProblemType.name == "资金"))
    clock.set(_at(date(2026, 9, 29)))  # Tuesday before the National Day holiday
    problem = problems.raise_problem(c["staff"], c["project"], None, kind.id, "配套资金未到位", "需拨付 300 万元",
                                     "县财政局", "normal", clock=clock)
    db.session.commit()
    # 7 working days: 9-30, 10-08, 10-09, 10-10 (调休上班), 10-12, 10-13, 10-14
    assert problems.overdue(date(2026, 10, 14)) == []
    assert [(p.id, due) for p, due in problems.overdue(date(2026, 10, 15))] == [(problem.id, date(2026, 10, 14))]
    assert problems.per_month(2026)[8] == (9, 1, 0)
    # the dashboard shows it, with the month's figures
    clock.set(_at(date(2026, 10, 15)))
    auth.login("staff")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-month="9" data-raised="1" data-solved="0"' in page
    assert f'href="/problems/{problem.id}"' in page.split('id="problems-overdue"')[1]


def test_problem_pages(app, county, auth, login_as):
    c = county
    kind = db.session.scalar(select(ProblemType).where(ProblemType.name == "手续"))
    staff = login_as("staff")
    page = staff.client.get(f"/problems/new?project_id={c['project'].id}")
    assert page.status_code == 200 and "完成土地征收" in page.get_data(as_text=True)
    bad = staff.post("/problems/new", data={"project_id": str(c["project"].id), "type_id": str(kind.id), "title": "",
                                            "need": "x", "urgency": "normal"}, page="/problems/new")
    assert bad.status_code == 422 and "请用一句话写明问题" in bad.get_data(as_text=True)
    done = staff.post("/problems/new", data={"project_id": str(c["project"].id), "node_id": str(c["node"].id),
                                             "type_id": str(kind.id), "title": "环评批复未下达",
                                             "need": "请协调市生态环境局加快审批", "needed_from": "县生态环境分局",
                                             "urgency": "critical"}, page="/problems/new")
    assert done.status_code == 303
    problem = db.session.scalar(select(Problem))
    listing = staff.client.get("/problems").get_data(as_text=True)
    assert "环评批复未下达" in listing
    outsider = login_as("other_staff")
    assert outsider.client.get(f"/problems/{problem.id}").status_code == 403
    assert "环评批复未下达" not in outsider.client.get("/problems").get_data(as_text=True)
    leader = login_as("fenguan")
    assert leader.post(f"/problems/{problem.id}/act", data={"step": "nonsense"}, page=f"/problems/{problem.id}").status_code == 422
    up = leader.post(f"/problems/{problem.id}/act", data={"step": "escalate", "text": "请包保领导协调"},
                     page=f"/problems/{problem.id}")
    assert up.status_code == 303
    assert db.session.get(Problem, problem.id).level == "lead_leader"
    again = leader.post(f"/problems/{problem.id}/act", data={"step": "escalate"}, page=f"/problems/{problem.id}")
    assert again.status_code == 403  # no longer theirs


# -- assignments on the 13710 clocks ------------------------------------------------------


def test_the_13710_deadlines_count_working_days_across_the_national_day_holiday(app):
    from portal.models.policy import policy_on

    policy = policy_on(date(2026, 9, 30))
    # handed out on Wed 30 Sep: 1-7 Oct are holidays, Sat 10 Oct is a make-up working day
    assert assignments.step_deadlines(date(2026, 9, 30), False, policy) == {
        "receipt": date(2026, 10, 8), "feedback": date(2026, 10, 10), "resolve": date(2026, 10, 15)}
    # major: one month, then the next working day (31 Oct 2026 is a Saturday)
    assert assignments.step_deadlines(date(2026, 9, 30), True, policy)["resolve"] == date(2026, 10, 30)


def test_one_assignment_through_all_13710_steps_on_time_and_another_late(app, county, clock):
    """Time travel: two matters handed out before the holiday; one unit keeps every clock, the other misses them."""
    c = county
    clock.set(_at(date(2026, 9, 30)))
    kept = assignments.hand_out(c["supervisor"], source="instruction", source_ref="县长批示〔2026〕18号",
                                title="解决城南片区停车难问题", text="限期增设停车泊位 200 个", proposal="请城关镇牵头办理",
                                lead_unit=c["town"], co_units=[c["other"]], is_major=False, clock=clock)
    missed = assignments.hand_out(c["supervisor"], source="inspection", source_ref="市督导组第3组",
                                  title="河道垃圾清理", text="清理河口段河道垃圾", proposal="",
                                  lead_unit=c["other"], co_units=[], is_major=False, clock=clock)
    db.session.commit()
    steps = assignments.steps_of(kept)
    assert {s: n.deadline for s, n in steps.items()} == {
        "receipt": date(2026, 10, 8), "feedback": date(2026, 10, 10), "resolve": date(2026, 10, 15)}
    assert all(n.unit_id == c["town"].id and [u.id for u in n.co_units] == [c["other"].id] for n in steps.values())
    notice = db.session.get(Document, kept.notice_document_id)
    assert notice.kind == "assignment" and notice.doc_number == "督办〔2026〕1号"

    # 8 Oct, first working day after the holiday: the town signs (one click); the other unit does not
    clock.set(_at(date(2026, 10, 8)))
    assignments.sign(c["staff"], kept, clock=clock)
    db.session.commit()
    with pytest.raises(assignments.Refused) as twice:
        assignments.sign(c["staff"], kept, clock=clock)
    assert twice.value.status == 409
    db.session.rollback()
    kept, missed = db.session.merge(kept), db.session.merge(missed)
    # 9 Oct: the sweep gives the unsigned receipt its yellow card
    clock.set(_at(date(2026, 10, 9)))
    result = sweep(date(2026, 10, 9), clock)
    db.session.commit()
    late_receipt = assignments.steps_of(missed)["receipt"]
    assert result.yellow == 1 and late_receipt.card == "yellow"
    assignments.sign(c["other_staff"], missed, clock=clock)  # signed late: the yellow card stays, no green
    # 10 Oct, a Saturday worked in lieu (调休): the town's first report is on time
    clock.set(_at(date(2026, 10, 10)))
    assignments.report(c["staff"], kept, "已排查可用地块 6 处，拟新增泊位 220 个", clock=clock)
    db.session.commit()
    # 12 Oct: the other unit's report is late (its feedback step was due on the 10th)
    clock.set(_at(date(2026, 10, 12)))
    assert sweep(date(2026, 10, 12), clock).yellow == 1
    assignments.report(c["other_staff"], missed, "已组织清理", clock=clock)
    db.session.commit()
    # 15 Oct: the town submits its 办结 with evidence; a supervisor verifies it on the 16th
    from portal.boards import services as boards

    clock.set(_at(date(2026, 10, 15)))
    resolve = assignments.steps_of(kept)["resolve"]
    boards.submit(c["staff"], resolve, "新增泊位 220 个已投用", [("验收单.pdf", b"%PDF-1.4 accepted")],
                  version=resolve.version, clock=clock)
    db.session.commit()
    clock.set(_at(date(2026, 10, 16)))
    boards.verify(c["supervisor"], resolve, clock=clock)
    result = sweep(date(2026, 10, 16), clock)  # the other unit's 办结 (due the 15th) is yellow now
    db.session.commit()
    assert result.yellow == 1

    kept_cards = {n.matter_step: n.card for n in assignments.steps_of(kept).values()}
    missed_cards = {n.matter_step: n.card for n in assignments.steps_of(missed).values()}
    assert kept_cards == {"receipt": "green", "feedback": "green", "resolve": "green"}
    assert missed_cards == {"receipt": "yellow", "feedback": "yellow", "resolve": "yellow"}
    # the same card events feed the ranking: no second scoring path
    scores = unit_scores(date(2026, 10, 1), date(2026, 10, 31), today=date(2026, 10, 16))
    assert scores[c["town"].id].score == 3 and scores[c["town"].id].green == 3
    assert scores[c["other"].id].score == 0 and scores[c["other"].id].yellow == 3
    assert scores[c["town"].id].score > scores[c["other"].id].score
    rates = {r.unit.id: r for r in assignments.rates(date(2026, 1, 1), date(2026, 12, 31))}
    assert (rates[c["town"].id].receipt_rate, rates[c["town"].id].completion_rate) == (1.0, 1.0)
    assert (rates[c["other"].id].receipt_rate, rates[c["other"].id].completion_rate) == (0.0, 0.0)
    # a red card follows for the other unit after the re-commitment grace period, by the same sweep
    clock.set(_at(date(2026, 10, 26)))
    sweep(date(2026, 10, 26), clock)
    db.session.commit()
    assert db.session.scalar(select(CardEvent).where(CardEvent.node_id == assignments.steps_of(missed)["resolve"].id,
                                                     CardEvent.colour == "red")) is not None


def test_assignment_pages_board_sign_and_notice_pdf(app, county, login_as, tmp_path):
    c = county
    office = login_as("supervisor")
    form = office.client.get("/assignments/new")
    assert form.status_code == 200
    bad = office.post("/assignments/new", data={"source": "instruction", "title": "", "text": "x",
                                                "lead_unit_id": str(c["town"].id)}, page="/assignments/new")
    assert bad.status_code == 422 and "请填写事项名称" in bad.get_data(as_text=True)
    done = office.post("/assignments/new", data={"source": "instruction", "source_ref": "县长批示", "title": "老旧小区加装电梯",
                                                 "text": "年内完成 20 部", "proposal": "请城关镇牵头",
                                                 "lead_unit_id": str(c["town"].id)}, page="/assignments/new")
    assert done.status_code == 303
    assignment_id = int(done.headers["Location"].rsplit("/", 1)[1])
    pdf = office.client.get(f"/assignments/{assignment_id}/notice.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "督办〔2026〕1号" in flat and "老旧小区加装电梯" in flat and "签收" in flat and "城关镇" in flat
    # the steps are cards on the unit's board; signing is one click there
    staff = login_as("staff")
    board = staff.client.get(f"/units/{c['town'].id}/board").get_data(as_text=True)
    assert f'data-sign="{assignment_id}"' in board and "签收：老旧小区加装电梯" in board
    signed = staff.post(f"/assignments/{assignment_id}/sign", data={"next": f"/units/{c['town'].id}/board"},
                        page=f"/units/{c['town'].id}/board")
    assert signed.status_code == 303 and signed.headers["Location"].endswith(f"/units/{c['town'].id}/board")
    receipt = db.session.scalar(select(Node).where(Node.project_id == assignment_id, Node.matter_step == "receipt"))
    assert receipt.status == "done" and receipt.card == "green"
    outsider = login_as("other_staff")
    assert outsider.client.get(f"/assignments/{assignment_id}").status_code == 403
    assert outsider.client.get(f"/assignments/{assignment_id}/notice.pdf").status_code == 403
    assert staff.post(f"/assignments/{assignment_id}/report", data={"text": ""},
                      page=f"/assignments/{assignment_id}").status_code == 422
    assert staff.post(f"/assignments/{assignment_id}/report", data={"text": "已完成选址"},
                      page=f"/assignments/{assignment_id}").status_code == 303
    listing = office.client.get("/assignments").get_data(as_text=True)
    assert "老旧小区加装电梯" in listing and "100.0%" in listing


# -- meetings -------------------------------------------------------------------------------


def test_a_meeting_takes_up_escalated_problems_and_hands_out_its_decisions(app, county, clock, tmp_path):
    c = county
    kind = db.session.scalar(select(ProblemType).where(ProblemType.name == "征迁"))
    problem = problems.raise_problem(c["staff"], c["project"], c["node"], kind.id, "3 户未签征迁协议", "需县征迁办协调",
                                     "县征迁办", "urgent", clock=clock)
    problems.act(c["in_charge"], problem, "escalate", "", clock=clock)
    problems.act(c["baobao"], problem, "escalate", "提交周例会", clock=clock)
    meeting = meetings.create(c["baobao"], kind="weekly", title="", held_on=clock.today(), chair=c["baobao"],
                              place="县政府二楼会议室", attendees="各乡镇、县直有关单位", clock=clock)
    db.session.commit()
    assert meeting.title == "2026年6月15日周例会"
    agenda = meetings.agenda(meeting)
    assert [p.id for p in agenda.problems] == [problem.id]
    assert [p.id for p in agenda.chair_projects] == [c["project"].id]
    assignment = meetings.decide(c["baobao"], meeting, title="3 户征迁协议签订", text="县征迁办会同城关镇一周内签订",
                                 proposal="", lead_unit=c["town"], co_units=[], is_major=False, problem=problem,
                                 clock=clock)
    meetings.record_minutes(c["baobao"], meeting, "会议听取了城南产业园推进情况汇报，研究了征迁问题。", None, clock=clock)
    document = meetings.issue_minutes(c["baobao"], meeting, clock=clock)
    db.session.commit()
    assert (assignment.source, assignment.meeting_id, assignment.problem_id) == ("meeting", meeting.id, problem.id)
    assert problem.state == "answered" and problem.meeting_id == meeting.id
    assert document.doc_number == "督纪〔2026〕1号"
    assert meetings.issue_minutes(c["baobao"], meeting, clock=clock).id == document.id  # numbered once
    path = tmp_path / "minutes.pdf"
    from portal.documents.services import archived_bytes

    path.write_bytes(archived_bytes(document))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "周例会纪要" in flat and "征迁协议" in flat and "06-25" in flat and "督纪〔2026〕1号" in flat
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "yes" in fonts  # embedded


def test_meeting_pages(app, county, login_as, clock):
    c = county
    leader = login_as("baobao")
    assert leader.client.get("/meetings/new").status_code == 200
    bad = leader.post("/meetings/new", data={"kind": "weekly", "held_on": "2026-13-01"}, page="/meetings/new")
    assert bad.status_code == 422
    made = leader.post("/meetings/new", data={"kind": "onsite", "held_on": "2026-06-15", "chair_id": str(c["baobao"].id),
                                              "place": "城南产业园"}, page="/meetings/new")
    assert made.status_code == 303
    meeting_id = int(made.headers["Location"].rsplit("/", 1)[1])
    assert leader.client.get(f"/meetings/{meeting_id}/minutes.pdf").status_code == 404
    decided = leader.post(f"/meetings/{meeting_id}/decide", data={"title": "厂房屋面防水整改", "text": "一周内完成",
                                                                  "lead_unit_id": str(c["town"].id)},
                          page=f"/meetings/{meeting_id}")
    assert decided.status_code == 303
    assert leader.post(f"/meetings/{meeting_id}/issue", page=f"/meetings/{meeting_id}").status_code == 422  # no minutes yet
    assert leader.post(f"/meetings/{meeting_id}/minutes", data={"minutes": "现场研究了防水问题。"},
                       page=f"/meetings/{meeting_id}").status_code == 303
    issued = leader.post(f"/meetings/{meeting_id}/issue", page=f"/meetings/{meeting_id}")
    assert issued.status_code == 303
    assert leader.client.get(f"/meetings/{meeting_id}/minutes.pdf").mimetype == "application/pdf"
    assert login_as("staff").client.get("/meetings").status_code == 403
