"""The workbench in Chromium: a staff member on a phone and the office at a desk start their day there."""

from __future__ import annotations

import pytest

from tests.browser import live_server, login
from tests.journeys.test_journeys import PHONE, WIDE, Journey, browser  # noqa: F401 - the module's browser fixture
from tests.main.test_workbench import county  # noqa: F401 - the small county with work waiting

pytestmark = pytest.mark.browser


def test_the_day_starts_at_the_workbench(app, clock, browser, county):  # noqa: F811
    with live_server(app) as base:
        phone = Journey(browser, base, "workbench-staff", viewport=PHONE)
        page = phone.page
        login(page, base, "staff")
        assert "/board" in page.url  # staff still land on their board
        assert page.locator(".mainnav .todo-count").inner_text() == "5"
        page.click(".mainnav a:has-text('工作台')")
        page.wait_for_load_state()
        assert page.locator('[data-todo="unit.overdue"] .todo-n').inner_text() == "2"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.shot("workbench")
        page.click('[data-todo="unit.overdue"] .todo-nodes a:text-is("完成征迁交地")')
        page.wait_for_load_state()
        assert f"/nodes/{county['late'].id}" in page.url
        phone.close()

        desk = Journey(browser, base, "workbench-sup", viewport=WIDE)
        page = desk.page
        login(page, base, "sup")
        assert page.locator('[data-todo="sup.signoff"] .todo-n').inner_text() == "1"
        desk.shot("workbench")
        page.click('[data-todo="sup.signoff"] a.todo-head')
        page.wait_for_load_state()
        assert page.url.endswith("/signoff") and "完成主体工程" in page.inner_text("main")
        desk.close()


@pytest.mark.parametrize("role, item, lands_on", [
    ("staff", "unit.overdue", ("/nodes/",)),
    ("contact", "contact.open", ("/nodes/",)),
    ("sup", "sup.signoff", ("/nodes/", "/signoff")),
    ("leader", "leader.decide", ("/nodes/", "/recommitments")),
])
def test_every_role_starts_its_day_at_the_workbench_on_a_phone_and_at_a_desk(app, clock, browser, county,  # noqa: F811
                                                                             role, item, lands_on):
    """N: each role opens the workbench, reads its first item and follows it, at 390 and at 1366 px."""
    with live_server(app) as base:
        for name, viewport in (("390", PHONE), ("1366", WIDE)):
            j = Journey(browser, base, f"day-{role}-{name}", viewport=viewport)
            page = j.page
            login(page, base, role)
            j.go("/")
            entry = page.locator(f'[data-todo="{item}"]')
            assert int(entry.locator(".todo-n").inner_text()) > 0
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            if viewport is PHONE:
                assert page.locator(".topbar").bounding_box()["height"] < 60  # the folded bar
            j.shot("workbench")
            link = entry.locator(".todo-nodes a").first if entry.locator(".todo-nodes a").count() else entry.locator("a.todo-head")
            link.click()
            page.wait_for_load_state()
            assert any(path in page.url for path in lands_on), page.url
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            j.shot("first-item")
            j.close()
