"""Phones (N #3) in Chromium at 390 px: the rankings as cards, the timeline month by month, a contact's monthly
investment report from the workbench; the same pages at 1366 px keep their tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import InvestmentReport
from portal.sweeps.services import sweep
from tests import factories as f
from tests.browser import live_server, login
from tests.journeys.test_journeys import PHONE, WIDE, Journey, browser, fresh  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def county(app, clock):
    league = f.league("乡镇联赛")
    town = f.unit("上派镇", league=league, short_name="上派镇")
    other = f.unit("三河镇", league=league, short_name="三河镇")
    contact = f.user("contact", roles=["contact"], unit=f.unit("县城投集团"), display_name="吴海涛")
    f.user("leader", roles=["leader"], unit=f.unit("县政府"), display_name="周建华")
    project = f.project(lead_unit=town, name="新能源整车配套产业园一期", investment_planned=Decimal(1200))
    project.contacts.append(contact)
    f.node(project, title="完成征迁交地", deadline=date(2026, 6, 10), status="doing", is_major=True)
    f.node(project, title="完成设备招标", deadline=date(2026, 8, 28), is_major=True)
    f.node(f.project(lead_unit=other, name="三河古镇保护修缮"), title="完成环评批复", deadline=date(2026, 5, 29),
           is_major=True)
    db.session.commit()
    sweep(clock.today(), clock)  # yellow cards for the late nodes, effective in the week before
    db.session.commit()
    return {"project": project}


def _wide(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_a_leader_reads_rankings_and_timeline_on_a_phone_and_at_a_desk(app, browser, county):  # noqa: F811
    with live_server(app) as base:
        phone = Journey(browser, base, "phone-leader", viewport=PHONE)
        page = phone.page
        login(page, base, "leader")
        phone.unfold()
        page.click(".mainnav a:text-is('排名')")
        page.wait_for_load_state()
        assert _wide(page) <= PHONE["width"]
        cards = page.locator(".league-table tbody tr")
        assert cards.count() == 2
        assert page.evaluate("getComputedStyle(document.querySelector('.league-table tbody tr')).display") == "flex"
        first = cards.nth(0).bounding_box()
        assert first["width"] <= PHONE["width"] and first["height"] > 40  # a card, not a table row
        labels = page.evaluate("""[...document.querySelectorAll('.league-table tbody tr:first-child td.r-stat')]
            .map(td => getComputedStyle(td, '::before').content)""")
        assert labels[0] == '"得分 "' and '"按时完成率 "' in labels  # each figure named on the card
        assert "末位" in cards.nth(1).inner_text()
        phone.shot("rankings")
        phone.unfold()
        page.click(".mainnav a:text-is('时光轴')")
        page.wait_for_load_state()
        assert _wide(page) <= PHONE["width"]
        assert not page.locator("table.yeartl").is_visible()
        june, may = page.locator("#month-6"), page.locator("#month-5")
        assert june.get_attribute("open") is not None and may.get_attribute("open") is None  # the past folded
        assert "完成征迁交地" in june.inner_text() and "黄牌" in june.inner_text()
        may.locator("summary").click()
        assert "完成环评批复" in may.inner_text()
        phone.shot("timeline")
        phone.close()

        desk = Journey(browser, base, "desk-leader", viewport=WIDE)
        page = desk.page
        login(page, base, "leader")
        desk.go("/rankings")
        assert page.locator(".league-table thead").is_visible()
        desk.go("/timeline")
        assert page.locator("table.yeartl").is_visible() and not page.locator(".yeartl-list").is_visible()
        desk.shot("timeline")
        desk.close()


def test_a_contact_reports_the_months_investment_from_a_phone(app, browser, county):  # noqa: F811
    project = county["project"]
    with live_server(app) as base:
        phone = Journey(browser, base, "phone-contact", viewport=PHONE, allow=(422,))  # the refusal below
        page = phone.page
        login(page, base, "contact")
        page.locator(f"main a[href='/projects/{project.id}']").first.click()
        page.wait_for_load_state()
        form = page.locator("form.investment-form")
        form.locator("select[name=month]").select_option("2026-05-01")
        form.locator("input[name=completed]").fill("300")
        form.locator("input[name=note]").fill("1-5月统计快报")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "已保存2026年5月完成投资" in phone.flash()
        assert page.locator(".chart-investment rect.fill-green").count() == 1
        assert _wide(page) <= PHONE["width"]
        phone.shot("investment")
        # June cannot fall below May: said by the form, nothing written.
        form = page.locator("form.investment-form")
        form.locator("select[name=month]").select_option("2026-06-01")
        form.locator("input[name=completed]").fill("200")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "本年累计完成投资不能低于此前月份：2026年5月已报 300.00 万元" in page.inner_text("form.investment-form")
        assert page.evaluate("window.scrollY") > 0  # the page opens at the form and its message
        phone.shot("refused")
        phone.close()
    fresh()
    assert [(r.month, r.completed) for r in db.session.scalars(select(InvestmentReport))] == [
        (date(2026, 5, 1), Decimal("300.00"))]
