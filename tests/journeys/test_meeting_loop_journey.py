"""The meeting loop in Chromium (issue J): a unit raises a problem, the leader in charge escalates it to the
weekly meeting, the meeting's decision is handed out on the spot, the unit signs for it on a 390 px phone,
reports back and closes it; the office verifies and the unit confirms the problem solved.

Screenshots: ``journey-loop-<who>-NN-<step>.png``; the 督办通知单 and the 会议纪要 are also written as PNG pages.
"""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Assignment, Node, Problem
from tests import factories as f
from tests.browser import ARTIFACTS, chromium, live_server, login
from tests.journeys.test_journeys import PHONE, Journey, fresh, pdftotext

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def loop_ids(app, clock):
    league = f.league("乡镇联赛")
    township = f.unit("上派镇", league=league, head_name="王建国")
    f.unit("三河镇", league=league)
    office = f.unit("县委督查室")
    government = f.unit("县政府")
    f.user("staff", roles=["unit_staff"], unit=township, display_name="王经办")
    f.user("sup", roles=["supervisor"], unit=office, display_name="李督查")
    leader = f.user("leader", roles=["leader"], unit=government, display_name="周建华", title="副县长")
    leader.units_in_charge = [township]
    project = f.project(lead_unit=township, name="新能源整车配套产业园一期", code="XNY-01")
    node = f.node(project, title="完成土地摘牌", deadline=date(2026, 7, 31), status="doing")
    db.session.commit()
    return {"township": township.id, "project": project.id, "node": node.id}


def _pdf_pages_as_png(pdf: bytes, name: str) -> list:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / name)], check=True)
    return sorted(ARTIFACTS.glob(f"{name}*.png"))


def test_a_problem_goes_to_the_weekly_meeting_and_comes_back_as_an_assignment_signed_on_a_phone(
        app, loop_ids, clock, browser, tmp_path):
    evidence = tmp_path / "摘牌确认书.pdf"
    Image.new("RGB", (60, 40), "white").save(evidence, "PDF")
    with live_server(app) as base:
        # 1. The township raises a land problem on its project's node.
        staff = Journey(browser, base, "loop-staff")
        page = staff.page
        login(page, base, "staff")
        staff.go(f"/problems/new?project_id={loop_ids['project']}")
        page.select_option("select[name=node_id]", str(loop_ids["node"]))
        page.select_option("select[name=type_id]", label="土地")
        page.fill("input[name=title]", "用地指标缺口 50 亩")
        page.fill("textarea[name=need]", "请县自然资源局调剂新增建设用地指标 50 亩")
        page.fill("input[name=needed_from]", "县自然资源局")
        page.select_option("select[name=urgency]", "urgent")
        staff.shot("raise")
        page.click("form button.primary[type=submit]")
        page.wait_for_load_state()
        assert "问题已提交" in staff.flash()
        problem_url = page.url[len(base):]
        staff.shot("raised")

        # 2. The leader in charge finds it waiting for them and escalates it to a meeting
        #    (the project has no 包保领导, so the next level is the meeting).
        leader = Journey(browser, base, "loop-leader")
        lpage = leader.page
        login(lpage, base, "leader")
        leader.go("/problems?mine=1")
        lpage.click("text=用地指标缺口 50 亩")
        lpage.wait_for_load_state()
        lpage.fill("form:has(button[data-step=escalate]) textarea[name=text]", "本级无法调剂，提交周例会研究")
        lpage.click("button[data-step=escalate]")
        lpage.wait_for_load_state()
        assert "问题已上报提交会议研究" in leader.flash()
        leader.shot("escalated")

        # 3. The weekly meeting: the problem is on the agenda; the decision is handed out there and then.
        leader.menu("督查", "会议")
        lpage.click("a.button:has-text('召集会议')")
        lpage.wait_for_load_state()
        lpage.fill("input[name=place]", "县政府二楼会议室")
        lpage.fill("textarea[name=attendees]", "县自然资源局、上派镇、县委督查室")
        lpage.click("form button.primary[type=submit]")
        lpage.wait_for_load_state()
        assert lpage.locator("#agenda-problems >> text=用地指标缺口 50 亩").count() == 1
        leader.shot("agenda")
        decide = lpage.locator("form[action$='/decide']")
        decide.locator("select[name=problem_id]").select_option(label="新能源整车配套产业园一期：用地指标缺口 50 亩")
        decide.locator("input[name=title]").fill("调剂新能源产业园用地指标")
        decide.locator("textarea[name=text]").fill("县自然资源局一周内调剂指标 50 亩，上派镇同步完成组卷报批")
        decide.locator("select[name=lead_unit_id]").select_option(label="上派镇")
        decide.locator("button[type=submit]").click()
        lpage.wait_for_load_state()
        assert "已当场交办上派镇" in leader.flash()
        lpage.fill("form[action$='/minutes'] textarea[name=minutes]", "会议研究了新能源整车配套产业园一期用地问题，议定由县自然资源局调剂指标。")
        lpage.click("form[action$='/minutes'] button[type=submit]")
        lpage.wait_for_load_state()
        leader.shot("decided")
        lpage.click("form[action$='/issue'] button[type=submit]")  # 印发: numbered, then the PDF
        lpage.wait_for_load_state()
        meeting_path = lpage.url[len(base):].rsplit("/", 1)[0]
        minutes = leader.fetch_pdf(meeting_path + "/minutes.pdf")
        leader.close()

        # 4. On a 390 px phone the unit signs for the assignment on its board, in one tap.
        fresh()
        assignment = db.session.scalars(select(Assignment)).one()
        phone = Journey(browser, base, "loop-phone", viewport=PHONE)
        ppage = phone.page
        login(ppage, base, "staff")
        phone.go(f"/units/{loop_ids['township']}/board")
        sign = ppage.locator(f"button[data-sign='{assignment.project_id}']")
        sign.scroll_into_view_if_needed()
        box = sign.bounding_box()
        assert box["width"] >= 200 and box["height"] >= 40  # a thumb-sized button
        phone.shot("board-sign")
        sign.click()
        ppage.wait_for_load_state()
        assert "已签收" in phone.flash()
        assert ppage.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # 5. It reports back, then applies to close the matter (办结) with its evidence.
        phone.go(f"/assignments/{assignment.project_id}")
        ppage.fill("#report ~ form textarea[name=text]", "已完成组卷，指标调剂文件已报县政府")
        ppage.click("#report ~ form button[type=submit]")
        ppage.wait_for_load_state()
        assert "办理情况已反馈" in phone.flash()
        phone.shot("reported")
        ppage.click("a.button:has-text('办结销号申请')")
        ppage.wait_for_load_state()
        ppage.fill("textarea[name=note]", "指标已调剂到位，摘牌确认书已取得")
        ppage.set_input_files("input[type=file][name=files]", str(evidence))
        ppage.click("form.submit-form button[type=submit]")
        ppage.wait_for_load_state()
        assert "已提交销号申请" in phone.flash()
        phone.close()

        # 6. The office verifies the 办结 in the sign-off queue; the unit confirms its problem solved.
        sup = Journey(browser, base, "loop-sup")
        spage = sup.page
        login(spage, base, "sup")
        fresh()
        resolve = db.session.scalar(select(Node).where(Node.project_id == assignment.project_id, Node.matter_step == "resolve"))
        sup.go("/signoff")
        spage.locator(f"#queue-{resolve.id} button.primary").click()  # 核验销号, over htmx
        spage.wait_for_selector(f"#queue-{resolve.id} button.primary", state="detached")
        notice = sup.fetch_pdf(f"/assignments/{assignment.project_id}/notice.pdf")
        sup.go(f"/assignments/{assignment.project_id}")
        sup.shot("matter-closed")
        sup.close()

        staff.go(problem_url)
        page.click("button[data-step=confirm]")
        page.wait_for_load_state()
        assert "问题已确认解决并销号" in staff.flash()
        staff.shot("confirmed")
        staff.close()

    fresh()
    problem = db.session.scalars(select(Problem)).one()
    assert (problem.level, problem.state, problem.meeting_id is not None) == ("meeting", "closed", True)
    steps = {n.matter_step: (n.status, n.card) for n in db.session.scalars(
        select(Node).where(Node.project_id == assignment.project_id))}
    assert steps == {"receipt": ("done", "green"), "feedback": ("done", "green"), "resolve": ("done", "green")}
    notice_text, minutes_text = "".join(pdftotext(notice).split()), "".join(pdftotext(minutes).split())
    assert "督办通知单" in notice_text and "调剂新能源产业园用地指标" in notice_text and "督办〔2026〕1号" in notice_text
    assert "周例会纪要" in minutes_text and "督纪〔2026〕1号" in minutes_text and "上派镇" in minutes_text
    assert _pdf_pages_as_png(notice, "journey-loop-notice") and _pdf_pages_as_png(minutes, "journey-loop-minutes")
