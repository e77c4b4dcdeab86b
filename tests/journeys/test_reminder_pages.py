"""The reminders in Chromium: a staff member sets their channels on a phone, a sweep reaches them,
and the administrator tests a channel and resends a failed message from the delivery log."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Delivery, User
from portal.notifications import delivery
from portal.sweeps.services import sweep
from tests import factories as f
from tests.browser import live_server, login
from tests.journeys.test_journeys import PHONE, WIDE, Journey, browser  # noqa: F401 - the module's browser fixture
from tests.notifications.conftest import http_receiver, smtp_server  # noqa: F401 - the loopback servers
from tests.notifications.test_delivery import _channels

pytestmark = pytest.mark.browser


def test_a_phone_sets_its_channels_and_the_office_watches_the_log(app, clock, browser, smtp_server, http_receiver):  # noqa: F811
    _channels(app, smtp_server, http_receiver)
    unit = f.unit("上派镇")
    f.user("staff", unit=unit, display_name="王经办")
    f.user("admin", roles=["admin"], unit=f.unit("县委督查室"), display_name="赵管理")
    f.node(f.project(lead_unit=unit, name="新能源整车配套产业园一期"), title="完成土地摘牌", deadline=date(2026, 6, 10))
    db.session.commit()
    with live_server(app) as base:
        phone = Journey(browser, base, "reminders-staff", viewport=PHONE)
        page = phone.page
        login(page, base, "staff")
        phone.go("/notifications")
        page.click("a:text-is('提醒设置')")
        page.wait_for_load_state()
        page.fill("#email", "wangjb@qingxi.gov.cn")
        page.fill("#phone", "139 0551 0001")
        page.uncheck("input[name=channels][value=email]")
        phone.shot("preferences")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        assert "提醒设置已保存" in phone.flash()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing scrolls sideways
        phone.shot("saved")
        phone.close()

        db.session.rollback()
        sweep(clock.today(), clock)
        db.session.commit()
        delivery.deliver(clock)
        staff = db.session.scalars(select(User).where(User.username == "staff")).one()
        rows = db.session.scalars(select(Delivery).where(Delivery.user_id == staff.id)).all()
        assert {r.channel for r in rows} == {"sms"}  # e-mail unticked; the robot: one message for the group
        assert [r.json()["mobile"] for r in http_receiver.requests if r.path == "/sms"] == ["13905510001"]
        failed = rows[0]
        failed.state, failed.last_error = "failed", "HTTP 503 from 10.1.2.3"
        db.session.commit()

        office = Journey(browser, base, "reminders-admin", viewport=WIDE)
        page = office.page
        login(page, base, "admin")
        office.go("/admin/channels")
        row = page.locator("table.channels tbody tr", has_text="电子邮件")
        row.locator("input[name=address]").fill("zhaogl@qingxi.gov.cn")
        row.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "测试消息已发出" in office.flash()
        office.shot("channels")
        page.click(".subnav a:text-is('发送记录')")
        page.wait_for_load_state()
        assert "王经办" in page.inner_text("table.deliveries") and "HTTP 503" in page.inner_text("table.deliveries")
        office.shot("deliveries")
        page.locator("table.deliveries tr", has_text="HTTP 503").locator("button:text-is('重发')").click()
        page.wait_for_load_state()
        assert "将在一分钟内重新发送" in office.flash()
        office.go(f"/admin/units/{unit.id}/edit")  # the unit's own group robot
        page.select_option("#robot_channel", "dingtalk")
        page.fill("#robot_url", "https://oapi.dingtalk.com/robot/send?access_token=shangpai")
        page.fill("#robot_secret", "SECshangpai")
        office.shot("unit-robot")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
        office.go("/admin/channels")
        assert "上派镇" in page.inner_text("main") and "oapi.dingtalk.com" in page.inner_text("main")
        page.locator("h2:text-is('发送哪些提醒')").scroll_into_view_if_needed()
        page.uncheck("input[name=kinds][value='node.due_soon']")
        office.shot("kinds")
        page.locator("form[action$='/admin/channels/kinds'] button[type=submit]").click()
        page.wait_for_load_state()
        assert "已保存" in office.flash()
        office.close()
    assert delivery.kinds_sent() is not None and "node.due_soon" not in delivery.kinds_sent()
    assert smtp_server.messages[0]["To"] == "zhaogl@qingxi.gov.cn"
    assert delivery.deliver(clock).sent == 1
