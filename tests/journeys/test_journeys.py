"""One journey per role in a real Chromium, from the login form to the work done.

Each journey clicks and types through the UI (forms, uploads of real files,
htmx), then checks what the page shows and what the database holds; no page
may log an error or a CSP violation. Screenshots go to the test artifacts as
``journey-<role>-NN-<step>.png``. "Today" is the FixedClock's 2026-06-15; the
yellow cards come from the real sweep run as of that day.
"""

from __future__ import annotations

import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import (
    CardEvent,
    Document,
    Interview,
    Node,
    Notification,
    ProgressEntry,
    Project,
    Recommitment,
    ScoringPolicy,
    Unit,
    User,
    UserSession,
)
from portal.recommitments import services as recommit
from portal.sweeps.services import sweep
from tests import factories as f
from tests.browser import ConsoleWatch, chromium, live_server, login, screenshot
from tests.conftest import start_worker, stop

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
DURATIONS: dict[str, float] = {}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def journey_ids(app, clock):
    """A small county: two townships in a league, the office, a leader in charge, a late node with its yellow card."""
    league = f.league("乡镇联赛")
    township = f.unit("上派镇", league=league, head_name="王建国")
    f.unit("三河镇", league=league, head_name="陈立新")
    office = f.unit("县委督查室")
    government = f.unit("县政府")
    f.user("staff", roles=["unit_staff"], unit=township, display_name="王经办")
    f.user("sup", roles=["supervisor"], unit=office, display_name="李督查")
    f.user("admin", roles=["admin"], unit=office, display_name="赵管理")
    leader = f.user("leader", roles=["leader"], unit=government, display_name="周建华", title="副县长")
    leader.units_in_charge = [township]
    project = f.project(lead_unit=township, name="新能源整车配套产业园一期", code="XNY-01")
    late = f.node(project, title="完成土地摘牌", deadline=date(2026, 6, 10), status="doing")
    open_node = f.node(project, title="取得施工许可证", deadline=date(2026, 6, 30), status="doing")
    db.session.commit()
    result = sweep(clock.today(), clock)  # the real sweep: 完成土地摘牌 missed its deadline
    db.session.commit()
    assert result.yellow == 1 and result.red == 0
    return {"township": township.id, "project": project.id, "late": late.id, "open": open_node.id, "leader": leader.id}


@pytest.fixture
def files(tmp_path):
    """Real small evidence files: a PDF and a PNG (Pillow writes both)."""
    pdf = tmp_path / "施工许可证.pdf"
    Image.new("RGB", (60, 40), "white").save(pdf, "PDF")
    png = tmp_path / "现场照片.png"
    Image.new("RGB", (60, 40), (200, 30, 30)).save(png, "PNG")
    return {"pdf": pdf, "png": png}


class Journey:
    """One browser context for one role: its page, its console watch, its screenshots."""

    def __init__(self, browser, base: str, role: str, viewport=WIDE, allow: tuple[int, ...] = ()):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.watch = ConsoleWatch(self.context, allow=allow)
        self.page = self.context.new_page()
        self.base = base
        self.role = role
        self.step = 0

    def shot(self, name: str) -> None:
        self.step += 1
        screenshot(self.page, f"journey-{self.role}-{self.step:02d}-{name}")

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state()
        return response

    def menu(self, menu: str, item: str) -> None:
        """Open a top-bar menu (督查, 管理) and follow one of its links (on a phone, the folded bar first)."""
        self.unfold()
        self.page.click(f'.mainnav details.navmenu > summary:text-is("{menu}")')
        self.page.click(f'.mainnav details.navmenu[open] .navmenu-list a:text-is("{item}")')
        self.page.wait_for_load_state()

    def unfold(self) -> None:
        """On a phone the top bar is folded behind its menu button: open it."""
        toggle = self.page.locator(".menu-toggle")
        if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
            toggle.click()

    def flash(self) -> str:
        return self.page.locator(".flashes").inner_text()

    def fetch_pdf(self, href: str) -> bytes:
        """The bytes behind a PDF link, fetched with this browser session's cookies."""
        response = self.context.request.get(self.base + href if href.startswith("/") else href)
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        return response.body()

    def close(self) -> None:
        self.context.close()
        assert self.watch.errors == [], self.watch.errors


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def fresh():
    """Forget what the test's session has loaded: the server wrote in other sessions."""
    db.session.rollback()


@pytest.fixture
def timed(request):
    started = time.monotonic()
    yield
    DURATIONS[request.node.name] = time.monotonic() - started
    print(f"\n{request.node.name}: {DURATIONS[request.node.name]:.1f} s")


# -- unit staff ------------------------------------------------------------------------------


def test_unit_staff_board_progress_sign_off_and_re_commitment(app, journey_ids, files, browser, timed):
    board_url = f"/units/{journey_ids['township']}/board"
    with live_server(app) as base:
        j = Journey(browser, base, "staff")
        page = j.page
        login(page, base, "staff")
        assert page.url == base + board_url  # unit staff land on their board
        late_card = page.locator(f"#node-{journey_ids['late']}")
        assert late_card.get_attribute("data-card") == "yellow"
        j.shot("board")

        # Progress on the open node, through htmx: the entry appears without a reload.
        page.click(f"#node-{journey_ids['open']} a[href='/nodes/{journey_ids['open']}']")
        page.wait_for_load_state()
        page.fill("#progress-form textarea[name=body]", "施工图审查已通过，正在办理许可")
        page.fill("#progress-form input[name=percent]", "80")
        page.click("#progress-form button[type=submit]")
        page.wait_for_selector("#progress-list >> text=施工图审查已通过")
        assert page.locator("#progress-form textarea[name=body]").input_value() == ""
        j.shot("progress")

        # Evidence: a photo uploaded on the node page, then the sign-off with the PDF.
        page.select_option("form[action$='/evidence'] select[name=kind]", "photo")
        page.set_input_files("form[action$='/evidence'] input[type=file]", str(files["png"]))
        page.click("form[action$='/evidence'] button[type=submit]")
        page.wait_for_load_state()
        assert "材料已上传" in j.flash() and page.locator("ul.files a:text-is('现场照片.png')").count() == 1
        page.click("a.button.primary:has-text('申请销号')")
        page.wait_for_load_state()
        page.fill("textarea[name=note]", "已取得县住建局核发的施工许可证")
        page.set_input_files("input[type=file][name=files]", str(files["pdf"]))
        j.shot("sign-off-form")
        page.click("form.submit-form button[type=submit]")
        page.wait_for_load_state()
        assert page.url == f"{base}/nodes/{journey_ids['open']}"
        assert "已提交销号申请" in j.flash()
        assert page.locator(".page-head .tag").inner_text() == "待销号"
        j.shot("submitted")

        # The yellow card: explain the delay and re-commit from the late node's page.
        j.go(board_url)
        page.click(f"#node-{journey_ids['late']} a[href='/nodes/{journey_ids['late']}']")
        page.wait_for_load_state()
        assert "黄牌" in page.locator(".page-head .card-dot").inner_text()
        recommit_form = page.locator("form[action$='/recommit']")
        recommit_form.locator("textarea[name=reason]").fill("土地挂牌公告期延长，已与县自然资源局确认新的摘牌日期")
        recommit_form.locator("input[name=new_deadline]").fill("2026-06-30")
        recommit_form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "已提交超期说明和重新承诺" in j.flash()
        assert page.locator("form[action$='/recommit']").count() == 0  # one request at a time
        assert "待审定" in page.locator("table.recommitments >> text=2026-06-30 >> xpath=..").inner_text()
        history = page.locator("table.audit").inner_text()  # and the history says it in Chinese
        assert "王经办 申请重新承诺" in history and "2026-06-30" in history
        j.shot("re-commitment")
        j.close()

    fresh()
    node = db.session.get(Node, journey_ids["open"])
    assert node.status == "review" and node.submission_note == "已取得县住建局核发的施工许可证"
    assert sorted((e.original_name, e.kind) for e in node.evidence) == [("施工许可证.pdf", "document"), ("现场照片.png", "photo")]
    assert [(p.body, p.percent) for p in node.progress_entries] == [("施工图审查已通过，正在办理许可", 80)]
    request = db.session.scalars(select(Recommitment).where(Recommitment.node_id == journey_ids["late"])).one()
    assert request.state == "pending" and request.new_deadline == date(2026, 6, 30)


# -- project contact -------------------------------------------------------------------------


def test_contact_works_on_an_assigned_project_and_is_refused_elsewhere(app, journey_ids, files, browser, timed):
    investment = f.unit("县城投集团")
    contact = f.user("contact", roles=["contact"], unit=investment, display_name="吴海涛")
    project = db.session.get(Project, journey_ids["project"])
    project.contacts.append(contact)
    elsewhere = f.node(f.project(lead_unit=f.unit("杭埠镇"), name="杭埠河治理工程", code="HBH-01"), title="完成清淤")
    db.session.commit()
    elsewhere_id, elsewhere_project = elsewhere.id, elsewhere.project_id
    with live_server(app) as base:
        j = Journey(browser, base, "contact", allow=(403,))
        page = j.page
        login(page, base, "contact")
        # The workbench lists the projects the contact follows; the project lists its nodes.
        page.click(".contact-projects a:text-is('新能源整车配套产业园一期')")
        page.wait_for_load_state()
        j.shot("project")
        page.click("table.grid a:text-is('取得施工许可证')")
        page.wait_for_load_state()
        assert page.url == f"{base}/nodes/{journey_ids['open']}"
        assert page.locator("a:has-text('申请销号')").count() == 0  # sign-off is the unit's to file

        page.fill("#progress-form textarea[name=body]", "城投集团已完成施工图审查费用拨付")
        page.click("#progress-form button[type=submit]")
        page.wait_for_selector("#progress-list >> text=城投集团已完成施工图审查费用拨付")
        page.set_input_files("form[action$='/evidence'] input[type=file]", [str(files["pdf"]), str(files["png"])])
        page.click("form[action$='/evidence'] button[type=submit]")
        page.wait_for_load_state()
        assert "材料已上传" in j.flash()
        j.shot("progress-and-evidence")

        # Another project's node and project: refused, in Chinese, with a 403.
        for path in (f"/nodes/{elsewhere_id}", f"/projects/{elsewhere_project}"):
            response = j.go(path)
            assert response.status == 403 and "您没有权限执行此操作" in page.inner_text("main")
        j.shot("refused")
        # Even a hand-made POST with a valid token writes nothing there.
        token = page.locator("body").get_attribute("hx-headers").split('"X-CSRFToken": "')[1].split('"')[0]
        refused = j.context.request.post(f"{base}/nodes/{elsewhere_id}/progress",
                                          form={"csrf_token": token, "body": "越权记录"})
        assert refused.status == 403
        j.close()

    fresh()
    mine = db.session.get(Node, journey_ids["open"])
    assert [(p.body, p.author.username) for p in mine.progress_entries] == [("城投集团已完成施工图审查费用拨付", "contact")]
    assert sorted(e.original_name for e in mine.evidence) == ["施工许可证.pdf", "现场照片.png"]
    assert db.session.scalar(select(func.count(ProgressEntry.id)).where(ProgressEntry.node_id == elsewhere_id)) == 0


# -- supervisor ------------------------------------------------------------------------------


def _submitted_by_staff(journey_ids, clock, files) -> int:
    """The township files the open node for sign-off (the unit's step, done before the supervisor's day)."""
    from portal.boards import services

    node = db.session.get(Node, journey_ids["open"])
    staff = db.session.scalars(select(User).where(User.username == "staff")).one()
    services.submit(staff, node, "已取得施工许可证", [("施工许可证.pdf", files["pdf"].read_bytes())],
                    version=node.version, clock=clock)
    db.session.commit()
    return node.id


@pytest.fixture
def worker(app, clock, redis, tmp_path):
    """A real RQ worker on the test Redis database, started early so its start-up overlaps the clicking."""
    process = start_worker(app, clock, log=tmp_path / "worker.log")
    process.log = tmp_path / "worker.log"
    yield process
    stop(process)


def test_supervisor_sets_up_verifies_schedules_prints_and_publishes(app, journey_ids, files, clock, worker, browser, timed):
    f.category("重点产业项目")
    db.session.commit()
    submitted = _submitted_by_staff(journey_ids, clock, files)
    with live_server(app) as base:
        j = Journey(browser, base, "supervisor")
        page = j.page
        login(page, base, "sup")

        # 节点设立: a project, then two nodes.
        j.menu("管理", "项目")
        page.click("a.button.primary:has-text('新建项目')")
        page.wait_for_load_state()
        page.fill("#code", "GC-2026-07")
        page.fill("#name", "城南污水处理厂提标改造")
        page.select_option("#category_id", label="重点产业项目")
        page.select_option("#lead_unit_id", label="三河镇")
        page.fill("#start_date", "2026-03-01")
        page.fill("#end_date", "2026-11-30")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text().startswith("城南污水处理厂提标改造")
        for title, deadline in (("完成设备招标", "2026-07-20"), ("完成主体工程", "2026-10-31")):
            page.click("a.button.primary:has-text('新增节点')")
            page.wait_for_load_state()
            page.fill("#title", title)
            # A new node starts with the project's lead unit chosen; the project's own units come first.
            assert page.locator("#unit_id option:checked").inner_text() == "三河镇（牵头）"
            page.fill("#deadline", deadline)
            page.fill("#standard", f"{title}，以相关文件为准")
            page.click("form.stack button[type=submit]")
            page.wait_for_load_state()
            assert "已保存" in j.flash()
        assert page.locator("table.grid tbody tr").count() == 2
        j.shot("project")

        # 销号核验 from the queue, over htmx.
        j.menu("督查", "待销号")
        page.click(f"#queue-{submitted} button:has-text('核验销号')")
        page.wait_for_selector(f"#queue-{submitted} >> text=已核验销号")
        j.shot("verified")

        # An interview proposed by hand over the yellow card, scheduled, its notice printed.
        j.menu("督查", "约谈")
        page.select_option("#unit_id", label="上派镇")
        group = page.locator("fieldset.card-groups details", has_text="上派镇")  # the unit's cards, ticked
        group.locator("summary").click()
        group.locator("input[name=card_ids]").first.check()  # the yellow card of 完成土地摘牌
        page.fill("#reason", "土地摘牌超期，约谈镇主要负责人")
        page.click("form[action$='/interviews/new'] button[type=submit]")
        page.wait_for_load_state()
        assert "待安排" in page.locator(".page-head [data-state]").inner_text()
        page.fill("#when", "2026-06-18T15:00")
        page.fill("#place", "县委县政府督查室会议室")
        page.select_option("#interviewer_id", index=1)
        page.fill("#bring", "超期情况说明、整改方案")
        page.click("form[action$='/schedule'] button[type=submit]")
        page.wait_for_load_state()
        assert page.locator(".page-head [data-state]").get_attribute("data-state") == "scheduled"
        j.shot("interview")
        # The notice is issued (numbered, archived) by its button, a POST, and shown after the redirect.
        # Back from the PDF viewer is by address: Chromium's viewer may detach the page's history.
        interview_url = page.url
        with page.expect_response(lambda r: r.url.endswith("/notice.pdf")) as shown:
            page.click("button:has-text('签发约谈通知')")
        assert shown.value.status == 200 and page.url.endswith("/notice.pdf")  # Chromium's PDF viewer shows it
        href = page.url
        page.goto(interview_url)
        assert page.locator("a:has-text('打印约谈通知')").get_attribute("href").endswith("/notice.pdf")
        notice = pdftotext(j.fetch_pdf(href))
        assert "督约〔2026〕1号" in notice and "上派镇" in notice and "王建国" in notice
        assert "2026年6月18日15:00" in notice and "县委县政府督查室会议室" in notice
        assert "督约〔2026〕1号" in page.locator("table.audit tr", has_text="印发约谈通知").inner_text()
        j.shot("notice")

        # A monthly bulletin: draft, preview, publish on a real worker; the page follows it over htmx.
        j.go("/documents")
        page.click("a.button:has-text('通报')")
        page.wait_for_load_state()
        page.select_option("#b-period", "month")
        page.fill("#b-body", "各单位要对照节点倒排工期，确保按期销号。")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        preview = pdftotext(j.fetch_pdf(page.locator("a:has-text('预览')").get_attribute("href")))
        assert "草稿" in preview
        page.click("#bulletin-status button[type=submit]")
        page.wait_for_load_state()
        assert page.locator(".flashes").count() == 0  # the status box speaks for the job; no flash to go stale
        # The worker builds it; the page polls over htmx until the download link appears.
        page.wait_for_selector("#bulletin-status a:has-text('下载')", timeout=60000)
        assert worker.poll() is None, worker.log.read_text()[-2000:]
        j.shot("bulletin")
        bulletin = pdftotext(j.fetch_pdf(page.locator("#bulletin-status a:has-text('下载')").get_attribute("href")))
        assert "督通〔2026〕1号" in bulletin and "各单位要对照节点倒排工期" in bulletin and "2026年6月" in bulletin
        page.click(".breadcrumb a")
        page.wait_for_load_state()
        assert page.locator("table.grid tbody tr", has_text="督通〔2026〕1号").locator("td").nth(1).inner_text() == "已印发"
        j.close()

    fresh()
    project = db.session.scalars(select(Project).where(Project.code == "GC-2026-07")).one()
    assert project.lead_unit.name == "三河镇" and sorted(n.title for n in project.nodes) == ["完成主体工程", "完成设备招标"]
    assert db.session.get(Node, submitted).status == "done"
    green = db.session.scalars(select(CardEvent).where(CardEvent.node_id == submitted)).one()
    assert green.colour == "green" and not green.is_withdrawn
    interview = db.session.scalars(select(Interview).where(Interview.trigger == "manual")).one()
    assert interview.state == "scheduled" and interview.place == "县委县政府督查室会议室"
    assert interview.interviewer_id == journey_ids["leader"] and len(interview.cards) == 1
    notices = db.session.scalars(select(Document).where(Document.kind == "notice")).all()
    assert [(d.doc_number, d.state, d.id) for d in notices] == [("督约〔2026〕1号", "published", interview.notice_document_id)]
    bulletin_row = db.session.scalars(select(Document).where(Document.kind == "bulletin")).one()
    assert bulletin_row.state == "published" and bulletin_row.doc_number == "督通〔2026〕1号" and bulletin_row.sha256


# -- leader ----------------------------------------------------------------------------------


def test_leader_approves_a_re_commitment_reads_the_dashboard_and_the_ranking(app, journey_ids, clock, browser, timed):
    staff = db.session.scalars(select(User).where(User.username == "staff")).one()
    late = db.session.get(Node, journey_ids["late"])
    recommit.file_request(staff, late, "土地挂牌公告期延长", date(2026, 6, 30), clock=clock)
    db.session.commit()
    with live_server(app) as base:
        j = Journey(browser, base, "leader")
        page = j.page
        login(page, base, "leader")
        # The request was notified, beside the yellow card copied to the leader in charge (rule 13).
        told = db.session.scalars(select(Notification.kind).where(Notification.user_id == journey_ids["leader"])).all()
        assert sorted(told) == ["card.yellow", "recommitment.filed"]
        assert page.locator(".bell .unread-count").inner_text() == "2"

        j.menu("督查", "超期说明与重新承诺")
        row = page.locator("table.grid tbody tr", has_text="完成土地摘牌")
        row.locator("input[value=approve]").check()
        row.locator("input[name=comment]").fill("同意，请按承诺时间完成")
        row.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "已审定" in j.flash() and "暂无待审定的申请" in page.inner_text("table.grid")
        j.shot("re-commitment")

        page.click(".mainnav a:text-is('挂图作战')")
        page.wait_for_load_state()
        kpis = page.locator(".kpis").inner_text()
        assert "全年节点" in kpis and "2" in page.locator(".kpi", has_text="全年节点").locator("strong").inner_text()
        assert page.locator(".kpi", has_text="当前超期").locator("strong").inner_text() == "0"  # re-committed, no longer overdue
        j.shot("dashboard")

        page.click(".mainnav a:text-is('排名')")
        page.wait_for_load_state()
        assert "上派镇" in page.inner_text("main") and "三河镇" in page.inner_text("main")
        j.shot("ranking")
        href = page.locator("a.button:has-text('PDF')").get_attribute("href")
        assert "period=week" in href and "date=2026-06-14" in href  # the last complete week (rule 14)
        ranking = pdftotext(j.fetch_pdf(href))
        assert "2026年第24周" in ranking and "乡镇联赛" in ranking and "上派镇" in ranking and "三河镇" in ranking
        assert "全年累计" in ranking and "同分时依次比较" in ranking
        j.close()

    fresh()
    request = db.session.scalars(select(Recommitment)).one()
    assert request.state == "approved" and request.comment == "同意，请按承诺时间完成"
    assert request.decided_by_id == journey_ids["leader"]
    assert db.session.get(Node, journey_ids["late"]).committed_deadline == date(2026, 6, 30)


# -- administrator ---------------------------------------------------------------------------


def test_admin_adds_a_unit_and_a_user_and_changes_the_scoring_policy(app, journey_ids, browser, timed):
    with live_server(app) as base:
        j = Journey(browser, base, "admin")
        page = j.page
        login(page, base, "admin")
        j.menu("管理", "系统管理")
        page.click(".subnav a:text-is('单位')")
        page.wait_for_load_state()
        page.click("a.button.primary")
        page.wait_for_load_state()
        page.fill("#name", "舒城县千人桥镇")
        page.fill("#short_name", "千人桥镇")
        page.select_option("#league_id", label="乡镇联赛")
        page.fill("#head_name", "孙志强")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert "已保存" in j.flash() and page.locator("table.grid >> text=舒城县千人桥镇").count() == 1
        j.shot("unit")

        page.click(".subnav a:text-is('用户')")
        page.wait_for_load_state()
        page.click("a.button.primary:has-text('新增用户')")
        page.wait_for_load_state()
        page.fill("#username", "qrq.staff")
        page.fill("#display_name", "钱小芳")
        page.select_option("#unit_id", label="舒城县千人桥镇")
        page.select_option("#roles", ["unit_staff"])
        page.fill("#password", "qianrenqiao-2026")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("table.grid tr", has_text="qrq.staff").locator(".tag").inner_text() == "单位经办人"
        j.shot("user")

        page.click(".subnav a:text-is('计分规则')")
        page.wait_for_load_state()
        page.fill("#effective_from", "2026-07-01")
        page.fill("#yellow_points", "-1")
        page.fill("#red_points", "-3")
        page.fill("#note", "县委常委会议定，下半年起加大扣分")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert "新的计分规则已保存" in j.flash()
        assert page.locator("table.grid tbody tr", has_text="2026-07-01").count() == 1
        j.shot("policy")
        j.close()

        # The new account works: it logs in and lands on its unit's (empty) board.
        newcomer = Journey(browser, base, "admin-newcomer")
        login(newcomer.page, base, "qrq.staff", "qianrenqiao-2026")
        assert "/board" in newcomer.page.url and "千人桥镇" in newcomer.page.inner_text(".who")
        newcomer.close()

    fresh()
    unit = db.session.scalars(select(Unit).where(Unit.name == "舒城县千人桥镇")).one()
    assert unit.league.name == "乡镇联赛" and unit.head_name == "孙志强"
    user = db.session.scalars(select(User).where(User.username == "qrq.staff")).one()
    assert user.unit_id == unit.id and list(user.roles) == ["unit_staff"]
    policy = db.session.scalars(select(ScoringPolicy).where(ScoringPolicy.effective_from == date(2026, 7, 1))).one()
    assert (policy.yellow_points, policy.red_points, policy.note) == (-1, -3, "县委常委会议定，下半年起加大扣分")


# -- sessions --------------------------------------------------------------------------------


def test_an_idle_session_expires_and_logout_kills_a_copied_cookie(app, journey_ids, clock, browser, timed):
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    with live_server(app) as base:
        j = Journey(browser, base, "session")
        page = j.page
        login(page, base, "staff")
        assert "/board" in page.url
        clock.set(clock.now() + idle + timedelta(minutes=1))  # the clerk went to lunch
        page.click(".mainnav a:text-is('挂图作战')")
        page.wait_for_load_state()
        assert page.url.startswith(f"{base}/login?next=")
        minutes = int(idle.total_seconds() // 60)
        assert f"您已超过 {minutes} 分钟未操作，会话已结束，请重新登录" in j.flash()
        j.shot("idle-expired")
        fresh()
        assert db.session.scalars(select(UserSession)).one().ended_at is not None

        # Logging in again goes back where the click was headed.
        page.fill("#username", "staff")
        page.fill("#password", f.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url == f"{base}/dashboard"
        cookies = j.context.cookies()
        page.click(".who button:has-text('退出')")
        page.wait_for_load_state()
        assert "您已退出登录" in j.flash()
        thief = Journey(browser, base, "session-copied-cookie")
        thief.context.add_cookies(cookies)
        thief.go(f"/units/{journey_ids['township']}/board")
        assert thief.page.url.startswith(f"{base}/login")
        thief.shot("refused")
        thief.close()
        j.close()
    fresh()
    assert all(row.ended_at is not None for row in db.session.scalars(select(UserSession)))


# -- the top bar -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "contact", "sup", "leader", "admin"])
def test_the_top_bar_fits_at_1366_and_390_for_every_role(app, journey_ids, browser, role):
    f.user("contact", roles=["contact"], unit=f.unit("县城投集团"), display_name="吴海涛")
    db.session.commit()
    with live_server(app) as base:
        for name, viewport in (("1366", WIDE), ("390", PHONE)):
            j = Journey(browser, base, f"nav-{role}-{name}", viewport=viewport)
            page = j.page
            login(page, base, role)
            j.go("/dashboard")
            j.shot("bar")
            bar = page.locator(".topbar").bounding_box()
            if viewport is WIDE:
                # Everything on one line: the links and the menus, the brand and the account.
                assert not page.locator(".menu-toggle").is_visible()
                items = page.locator(".mainnav > a, .mainnav > details > summary")
                tops = [items.nth(i).bounding_box()["y"] for i in range(items.count())]
                assert max(tops) - min(tops) < 4 and bar["height"] < 60, (tops, bar)
            else:
                # Folded to one line: the brand, the workbench with its badge, the bell and the menu button.
                assert bar["height"] < 60, bar
                assert page.locator(".mainnav .nav-workbench").is_visible() and page.locator(".bell").is_visible()
                assert not page.locator(".mainnav a:has-text('排名')").is_visible()
                page.click(".menu-toggle")
                assert page.locator(".menu-toggle").get_attribute("aria-expanded") == "true"
                assert page.locator(".mainnav a:has-text('排名')").is_visible()
                j.shot("menu-open")
            # No page wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            menus = page.locator(".mainnav details.navmenu > summary")
            for i in range(menus.count()):
                menus.nth(i).click()
                listing = page.locator(".mainnav details.navmenu[open] .navmenu-list")
                box = listing.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
                j.shot(f"menu-{i + 1}")
            page.keyboard.press("Escape")
            assert page.locator(".mainnav details.navmenu[open]").count() == 0
            j.close()
