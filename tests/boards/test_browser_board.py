"""The board in a real Chromium: drag, snap back, sign off with a file, verify."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import CardEvent, Node
from tests import factories as f
from tests.browser import chromium, drag, live_server, login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def township_two_nodes(app):
    township = f.unit("上派镇")
    f.user("staff", roles=["unit_staff"], unit=township, display_name="王经办")
    f.user("sup", roles=["supervisor"], unit=f.unit("县委督查室"), display_name="李督查")
    project = f.project(lead_unit=township, name="新能源整车配套产业园一期")
    first = f.node(project, title="完成土地摘牌", deadline=date(2026, 6, 30))
    second = f.node(project, title="取得施工许可证", deadline=date(2026, 7, 15), status="doing")
    db.session.commit()
    return {"unit": township.id, "first": first.id, "second": second.id}


def test_drag_snap_back_sign_off_and_verify(app, township_two_nodes, tmp_path):
    evidence = tmp_path / "施工许可证.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    board_url = f"/units/{township_two_nodes['unit']}/board"
    first, second = f"#node-{township_two_nodes['first']}", f"#node-{township_two_nodes['second']}"
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            # The refused drop is a 422 on purpose; anything else logged as an error is a bug.
            lambda m: errors.append(f"{m.text} @ {m.location}") if m.type == "error" and "status of 422" not in m.text else None,
        )
        login(page, base, "staff")
        assert page.url.endswith(board_url)

        # 未启动 → 推进中, and it is still there after a reload.
        drag(page, first, "doing")
        page.wait_for_selector(f'.column-body[data-column="doing"] {first}[data-version="2"]')
        assert page.locator("#count-doing").inner_text() == "2"
        page.reload()
        assert page.locator(f'.column-body[data-column="doing"] {first}').count() == 1
        assert db.session.get(Node, township_two_nodes["first"]).status == "doing"

        # Straight to 已销号: refused, the card snaps back, the message says why.
        drag(page, second, "done")
        page.wait_for_selector("#board-message.message-error")
        assert "不能从“推进中”直接拖到“已销号”" in page.locator("#board-message").inner_text()
        assert page.locator(f'.column-body[data-column="doing"] {second}').count() == 1
        screenshot(page, "board-snap-back")

        # Into 待销号: the sign-off dialog, with a file.
        drag(page, second, "review")
        page.wait_for_selector("dialog#modal[open] textarea[name=note]")
        page.fill("dialog#modal textarea[name=note]", "已取得县住建局核发的施工许可证")
        page.set_input_files("dialog#modal input[type=file]", str(evidence))
        screenshot(page, "board-sign-off-dialog")
        page.click("dialog#modal button[type=submit]")
        page.wait_for_selector(f'.column-body[data-column="review"] {second}')
        assert not page.locator("dialog#modal").evaluate("d => d.open")
        node = db.session.get(Node, township_two_nodes["second"])
        assert node.status == "review" and [e.original_name for e in node.evidence] == ["施工许可证.pdf"]

        # The supervisor verifies it on the board: the card turns green.
        page.context.clear_cookies()
        login(page, base, "sup")
        page.goto(f"{base}{board_url}")
        drag(page, second, "done")
        page.wait_for_selector(f'.column-body[data-column="done"] {second}[data-card="green"]')
        screenshot(page, "board-verified-green")
        assert errors == [], errors
    card = db.session.scalars(select(CardEvent).where(CardEvent.node_id == township_two_nodes["second"])).one()
    assert card.colour == "green" and not card.is_withdrawn


def test_keyboard_move_without_a_mouse(app, township_two_nodes):
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
        login(page, base, "staff")
        card = page.locator(f"#node-{township_two_nodes['first']}")
        card.locator("summary").focus()
        page.keyboard.press("Enter")
        card.locator("select[name=status]").select_option("doing")
        card.locator("button[type=submit]").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(f'.column-body[data-column="doing"] #node-{township_two_nodes["first"]}')
        screenshot(page, "board-phone")
    assert db.session.get(Node, township_two_nodes["first"]).status == "doing"


def test_arrows_then_enter_move_a_card(app, township_two_nodes):
    """N #7: the control shows the card's column first, so the arrow keys choose a target and Enter moves it."""
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        login(page, base, "staff")
        card = page.locator(f"#node-{township_two_nodes['first']}")
        card.locator("summary").focus()
        page.keyboard.press("Enter")
        select = card.locator("select[name=status]")
        assert select.locator("option:checked").inner_text() == "当前：未启动"
        select.focus()
        page.keyboard.press("ArrowDown")
        assert select.input_value() == "doing"
        page.keyboard.press("Enter")
        page.wait_for_selector(f'.column-body[data-column="doing"] #node-{township_two_nodes["first"]}')
    assert db.session.get(Node, township_two_nodes["first"]).status == "doing"


def test_a_drop_that_fails_puts_the_card_back_and_says_why(app, township_two_nodes):
    """Failures htmx would swap nothing for: an expired form (the portal's 400), a gateway error, no network."""
    first = f"#node-{township_two_nodes['first']}"
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, base, "staff")
        alert = page.locator("#request-alert .request-failure")

        # The session's form token changed (say, another tab logged in again): the portal's own message.
        page.evaluate("""document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": "expired"}))""")
        drag(page, first, "doing")
        alert.wait_for()
        assert "表单已过期" in alert.inner_text() or "安全令牌" in alert.inner_text(), alert.inner_text()
        assert page.locator(f'.column-body[data-column="todo"] {first}').count() == 1  # back where it was
        page.reload()

        # nginx answers 502 while the web service restarts: a plain message, the card back.
        page.route("**/move", lambda route: route.fulfill(status=502, body="<html><body>502 Bad Gateway</body></html>"))
        drag(page, first, "doing")
        page.locator("#request-alert .request-failure:has-text('服务器未能完成此操作')").wait_for()
        assert page.locator(f'.column-body[data-column="todo"] {first}').count() == 1

        # The network is gone.
        page.unroute("**/move")
        page.route("**/move", lambda route: route.abort())
        drag(page, first, "doing")
        page.locator("#request-alert .request-failure:has-text('无法连接服务器')").wait_for()
        assert page.locator(f'.column-body[data-column="todo"] {first}').count() == 1
        screenshot(page, "board-request-failed")
        assert db.session.get(Node, township_two_nodes["first"]).status == "todo"  # nothing was saved

        # The network is back: the drop goes through and the message goes away.
        page.unroute("**/move")
        drag(page, first, "doing")
        page.wait_for_selector(f'.column-body[data-column="doing"] {first}[data-version="2"]')
        assert page.locator("#request-alert").is_hidden() and alert.count() == 0
    assert errors == []
