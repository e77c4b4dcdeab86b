"""The board: what it shows, and every rule of a move (SPEC section 4 and 6, issue B)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import AuditEntry, CardEvent, Evidence, Node
from tests import factories as f
from tests.conftest import AuthActions

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def township_board(app):
    township = f.unit("上派镇")
    other = f.unit("三河镇")
    f.user("staff", roles=["unit_staff"], unit=township)
    f.user("outsider", roles=["unit_staff"], unit=other)
    f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    f.user("leader", roles=["leader"], unit=f.unit("县政府"))
    contact = f.user("contact", roles=["contact"], unit=other)
    project = f.project(lead_unit=township, name="新能源整车配套产业园")
    project.contacts.append(contact)
    nodes = {
        "todo": f.node(project, title="完成土地摘牌", deadline=date(2026, 6, 30)),
        "soon": f.node(project, title="取得施工许可证", deadline=date(2026, 6, 17), status="doing"),
        "review": f.node(project, title="主体结构封顶", deadline=date(2026, 6, 20), status="review",
                         submitted_at=datetime(2026, 6, 12, 8, 0, tzinfo=UTC), submitted_on=date(2026, 6, 12)),
        "late_review": f.node(project, title="设备安装调试", deadline=date(2026, 6, 10), status="review", card="yellow",
                              submitted_at=datetime(2026, 6, 14, 8, 0, tzinfo=UTC), submitted_on=date(2026, 6, 14)),
    }
    db.session.add(CardEvent(node=nodes["late_review"], unit=township, colour="yellow", points=0, effective_date=date(2026, 6, 11)))
    db.session.commit()
    return {"unit": township, "other": other, "project": project, "nodes": {k: n.id for k, n in nodes.items()}}


def _card(html: str, node_id: int) -> str:
    match = re.search(rf'<article[^>]*id="node-{node_id}"[^>]*>', html)
    assert match, f"no card {node_id}"
    return match.group(0)


def _attr(tag: str, name: str) -> str:
    return re.search(rf'{name}="([^"]*)"', tag).group(1)


def _move(auth: AuthActions, node_id: int, status: str, version: int | None = None, htmx: bool = True, **extra):
    node = db.session.get(Node, node_id)
    data = {"status": status, "version": node.version if version is None else version, **extra}
    headers = {"HX-Request": "true"} if htmx else {}
    return auth.post(f"/nodes/{node_id}/move", data, page="/", headers=headers)


def test_board_shows_columns_and_cards_with_their_marks(client, auth, township_board):
    auth.login("staff")
    home = client.get("/").get_data(as_text=True)  # the workbench leads to the unit's board
    assert f'href="/units/{township_board["unit"].id}/board"' in home
    html = client.get(f"/units/{township_board['unit'].id}/board").get_data(as_text=True)
    for column in ("todo", "doing", "review", "done"):
        assert f'data-column="{column}"' in html
    soon = _card(html, township_board["nodes"]["soon"])
    assert _attr(soon, "data-status") == "doing" and _attr(soon, "data-card") == "none" and _attr(soon, "data-version") == "1"
    assert "预警" in html  # due 2026-06-17, today 2026-06-15, warn_days 3
    assert _attr(_card(html, township_board["nodes"]["late_review"]), "data-card") == "yellow"
    assert 'id="count-todo">1<' in html and 'id="count-review">2<' in html


def test_board_scope(client, auth, township_board):
    auth.login("outsider")
    assert client.get(f"/units/{township_board['unit'].id}/board").status_code == 403
    for role in ("sup", "leader"):
        other = AuthActions(client.application.test_client())
        other.login(role)
        assert other.client.get(f"/units/{township_board['unit'].id}/board").status_code == 200


def test_filters_apply_over_htmx_and_stay_in_the_url(client, auth, township_board):
    auth.login("staff")
    url = f"/units/{township_board['unit'].id}/board?card=yellow"
    response = client.get(url, headers={"HX-Request": "true", "HX-Target": "board"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board"')  # the fragment, not the page
    assert "设备安装调试" in html and "完成土地摘牌" not in html
    html = client.get(f"/units/{township_board['unit'].id}/board?q=施工").get_data(as_text=True)
    assert "取得施工许可证" in html and "完成土地摘牌" not in html
    assert 'value="施工"' in html  # the filter shows what it holds


def test_staff_moves_todo_to_doing_and_back(client, auth, township_board):
    auth.login("staff")
    node_id = township_board["nodes"]["todo"]
    response = _move(auth, node_id, "doing")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    card = _card(html, node_id)
    assert _attr(card, "data-status") == "doing" and _attr(card, "data-version") == "2"
    assert 'id="count-doing" hx-swap-oob="true">2<' in html
    assert db.session.get(Node, node_id).status == "doing"
    assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "node", AuditEntry.object_id == node_id)).all() == ["node.start"]
    assert _move(auth, node_id, "todo").status_code == 200
    assert db.session.get(Node, node_id).status == "todo"


@pytest.mark.parametrize(("key", "target", "fragment"), [
    ("todo", "done", "不能从“未启动”直接拖到“已销号”"),
    ("todo", "review", "销号申请"),
    ("soon", "review", "销号申请"),
    ("soon", "done", "不能从“推进中”直接拖到“已销号”"),
    ("todo", "nowhere", "不能从"),
])
def test_illegal_moves_are_422_and_change_nothing(client, auth, township_board, key, target, fragment):
    auth.login("staff")
    node_id = township_board["nodes"][key]
    before = db.session.get(Node, node_id).status
    response = _move(auth, node_id, target)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert fragment in html
    assert _attr(_card(html, node_id), "data-status") == before  # the card snaps back
    assert db.session.get(Node, node_id).status == before


def test_moves_outside_scope_are_403(client, auth, township_board):
    auth.login("outsider")
    assert _move(auth, township_board["nodes"]["todo"], "doing").status_code == 403
    other = AuthActions(client.application.test_client())
    other.login("contact")  # contacts log progress, they do not move cards
    assert _move(other, township_board["nodes"]["todo"], "doing").status_code == 403
    leader = AuthActions(client.application.test_client())
    leader.login("leader")
    assert _move(leader, township_board["nodes"]["todo"], "doing").status_code == 403
    assert db.session.get(Node, township_board["nodes"]["todo"]).status == "todo"


def test_only_a_supervisor_verifies(client, auth, township_board):
    auth.login("staff")
    response = _move(auth, township_board["nodes"]["review"], "done")
    assert response.status_code == 403 and "只有督查人员" in response.get_data(as_text=True)


def test_stale_version_is_409_with_the_fresh_card(client, auth, township_board):
    auth.login("staff")
    node_id = township_board["nodes"]["todo"]
    response = _move(auth, node_id, "doing", version=7)
    assert response.status_code == 409
    card = _card(response.get_data(as_text=True), node_id)
    assert _attr(card, "data-version") == "1" and _attr(card, "data-status") == "todo"


def test_two_sessions_moving_the_same_card(client, auth, township_board):
    node_id = township_board["nodes"]["todo"]
    first = auth
    first.login("staff")
    second = AuthActions(client.application.test_client())
    second.login("sup")
    seen = db.session.get(Node, node_id).version  # both loaded the board at version 1
    assert _move(first, node_id, "doing", version=seen).status_code == 200
    response = _move(second, node_id, "doing", version=seen)
    assert response.status_code == 409
    node = db.session.get(Node, node_id)
    assert node.status == "doing" and node.version == 2  # the first change stands, applied once


def test_rule1_verify_on_time_issues_the_green_card(client, auth, township_board):
    auth.login("sup")
    node_id = township_board["nodes"]["review"]
    response = _move(auth, node_id, "done")
    assert response.status_code == 200
    node = db.session.get(Node, node_id)
    assert node.status == "done" and node.card == "green" and node.closed_at is not None
    card = db.session.scalars(select(CardEvent).where(CardEvent.node_id == node_id)).one()
    assert (card.colour, card.points, card.effective_date) == ("green", 1, date(2026, 6, 15))
    assert _attr(_card(response.get_data(as_text=True), node_id), "data-card") == "green"


def test_rule2_verify_late_keeps_yellow_and_gives_no_green(client, auth, township_board):
    auth.login("sup")
    node_id = township_board["nodes"]["late_review"]
    assert _move(auth, node_id, "done").status_code == 200
    node = db.session.get(Node, node_id)
    assert node.status == "done" and node.card == "yellow"
    assert [c.colour for c in db.session.scalars(select(CardEvent).where(CardEvent.node_id == node_id))] == ["yellow"]


def test_rule5_reject_needs_a_reason_and_clears_the_submission(client, auth, township_board):
    auth.login("sup")
    node_id = township_board["nodes"]["review"]
    response = _move(auth, node_id, "doing")
    assert response.status_code == 422 and "理由" in response.get_data(as_text=True)
    assert _move(auth, node_id, "doing", reason="材料不全，缺少验收单").status_code == 200
    node = db.session.get(Node, node_id)
    assert node.status == "doing" and node.submitted_at is None and node.submitted_on is None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "node.reject")).one()
    assert "缺少验收单" in entry.summary


def test_reopen_withdraws_the_green_card(client, auth, township_board):
    auth.login("sup")
    node_id = township_board["nodes"]["review"]
    _move(auth, node_id, "done")
    assert _move(auth, node_id, "doing", reason="复查发现未达标").status_code == 200
    node = db.session.get(Node, node_id)
    green = db.session.scalars(select(CardEvent).where(CardEvent.node_id == node_id)).one()
    assert node.status == "doing" and node.card == "none"
    assert green.is_withdrawn and "复查发现未达标" in green.withdrawn_reason


def test_keyboard_control_works_as_a_plain_form(client, auth, township_board):
    auth.login("staff")
    html = client.get(f"/units/{township_board['unit'].id}/board").get_data(as_text=True)
    assert f'action="/nodes/{township_board["nodes"]["todo"]}/move"' in html and "移动到…" in html
    response = _move(auth, township_board["nodes"]["todo"], "doing", htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/board")
    response = _move(auth, township_board["nodes"]["soon"], "done", htmx=False)
    assert response.status_code == 422 and "不能从" in response.get_data(as_text=True)


def _submit(auth, node_id, files, note="已取得施工许可证", htmx=True):
    node = db.session.get(Node, node_id)
    data = {"note": note, "kind": "document", "version": node.version, "files": files}
    headers = {"HX-Request": "true"} if htmx else {}
    return auth.post(f"/nodes/{node_id}/submit", data, page=f"/nodes/{node_id}/submit", headers=headers, content_type="multipart/form-data")


def test_rule5_sign_off_with_evidence(app, client, auth, township_board):
    import io

    auth.login("staff")
    node_id = township_board["nodes"]["soon"]
    response = _submit(auth, node_id, [(io.BytesIO(PDF), "施工许可证.pdf"), (io.BytesIO(PNG), "现场.png")])
    assert response.status_code == 200, response.get_data(as_text=True)[-800:]
    assert response.headers["HX-Trigger"] == "jiedian:closeModal"
    node = db.session.get(Node, node_id)
    assert node.status == "review" and node.submitted_at is not None and node.submission_note == "已取得施工许可证"
    rows = db.session.scalars(select(Evidence).where(Evidence.node_id == node_id)).all()
    assert sorted(r.original_name for r in rows) == ["施工许可证.pdf", "现场.png"]
    for row in rows:
        path = Path(app.config["EVIDENCE_DIR"]) / row.storage_key[:2] / row.storage_key
        assert path.is_file() and "static" not in str(path) and row.storage_key not in row.original_name
    download = client.get(f"/evidence/{rows[0].id}")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert download.get_data() in (PDF, PNG)
    download.close()
    outsider = AuthActions(app.test_client())
    outsider.login("outsider")
    assert outsider.client.get(f"/evidence/{rows[0].id}").status_code == 403


@pytest.mark.parametrize(("name", "content", "message"), [
    ("report.pdf", b"MZ\x90\x00 this is really a program", "伪装"),
    ("virus.exe", b"MZ\x90\x00", "类型不允许"),
    ("empty.pdf", b"", "空文件"),
    ("photo.png", b"%PDF-1.4 not a png", "伪装"),
])
def test_bad_evidence_is_refused_whole(app, client, auth, township_board, name, content, message):
    import io

    auth.login("staff")
    node_id = township_board["nodes"]["soon"]
    response = _submit(auth, node_id, [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(content), name)])
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.get(Node, node_id).status == "doing"
    assert db.session.scalars(select(Evidence)).all() == []
    evidence_dir = Path(app.config["EVIDENCE_DIR"])
    assert not evidence_dir.exists() or not any(p.is_file() for p in evidence_dir.rglob("*"))


def test_sign_off_needs_a_note_and_a_file(client, auth, township_board):
    auth.login("staff")
    node_id = township_board["nodes"]["soon"]
    assert "请填写完成情况" in _submit(auth, node_id, [], note="").get_data(as_text=True)
    response = _submit(auth, node_id, [])
    assert response.status_code == 422 and "至少上传一份" in response.get_data(as_text=True)


def test_contact_logs_progress_on_their_project_only(app, client, auth, township_board):
    auth.login("contact")
    node_id = township_board["nodes"]["todo"]
    response = auth.post(f"/nodes/{node_id}/progress", {"body": "已完成土地评估", "percent": "40", "version": "1"}, page=f"/nodes/{node_id}", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "已完成土地评估" in response.get_data(as_text=True)
    other_project = f.project()
    elsewhere = f.node(other_project)
    db.session.commit()
    assert client.get(f"/nodes/{elsewhere.id}").status_code == 403
    response = auth.post(f"/nodes/{elsewhere.id}/progress", {"body": "x"}, page=f"/nodes/{node_id}")
    assert response.status_code == 403


def test_signoff_queue_oldest_first_and_verify_in_place(client, auth, township_board):
    auth.login("sup")
    html = client.get("/signoff").get_data(as_text=True)
    assert html.index("主体结构封顶") < html.index("设备安装调试")
    node_id = township_board["nodes"]["review"]
    response = _move(auth, node_id, "done", view="queue")
    assert response.status_code == 200 and "已核验销号" in response.get_data(as_text=True)
    assert db.session.get(Node, node_id).card == "green"
    staff = AuthActions(client.application.test_client())
    staff.login("staff")
    assert staff.client.get("/signoff").status_code == 403


def test_board_queries_do_not_grow_with_the_nodes(client, auth, township_board, count_queries):
    unit = township_board["unit"]
    project = township_board["project"]
    url = f"/units/{unit.id}/board"
    auth.login("staff")

    def board_queries() -> int:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter["n"]

    for i in range(26):
        f.node(project, title=f"节点{i}", deadline=date(2026, 7, 1) + timedelta(days=i % 30), responsible_user=f.user(unit=unit))
    db.session.commit()
    thirty = board_queries()
    for i in range(270):
        f.node(project, title=f"节点B{i}", deadline=date(2026, 8, 1) + timedelta(days=i % 60), status=("todo", "doing", "done")[i % 3],
               responsible_user=f.user(unit=unit) if i % 10 == 0 else None)
    db.session.commit()
    assert db.session.scalar(select(db.func.count(Node.id)).where(Node.unit_id == unit.id)) == 300
    assert board_queries() == thirty


@pytest.mark.parametrize(("reason", "said"), [("<script>alert(1)</script>材料不全", "HTML"), ("长" * 1001, "1000")])
def test_the_reason_for_sending_back_is_checked_like_every_other_text(client, auth, township_board, reason, said):
    """M #4: the reject/reopen reason was the one text field without the markup and length checks."""
    auth.login("sup")
    node_id = township_board["nodes"]["review"]
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = _move(auth, node_id, "doing", reason=reason)
    assert response.status_code == 422 and said in response.get_data(as_text=True)
    assert db.session.get(Node, node_id).status == "review"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
