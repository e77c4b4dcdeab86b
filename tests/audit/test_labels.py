"""The audit log and node histories in Chinese (N, part 6): sentences, readable changes, no bare codes."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import select

from portal.audit import labels
from portal.core.extensions import db
from portal.models import AuditEntry
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
# Actions written with an f-string, spelled out.
EXPANDED = {
    "card.{colour}": ["card.green", "card.yellow", "card.red"],
    "card.manual_{colour}": ["card.manual_yellow", "card.manual_red"],
    "node.{action}": ["node.start", "node.unstart", "node.submit"],
    "recommitment.{request.state}": ["recommitment.approved", "recommitment.rejected"],
    "document.publish_{document.kind}": ["document.publish_bulletin", "document.publish_ranking",
                                         "document.publish_notice", "document.publish_assignment",
                                         "document.publish_minutes"],
    "problem.{step}": ["problem.escalate", "problem.answer", "problem.resolve", "problem.confirm", "problem.reopen"],
    "{obj.__tablename__}.delete": ["league.delete", "category.delete", "theme.delete", "unit.delete"],
    "setting.channel_{name}": ["setting.channel_email", "setting.channel_wecom", "setting.channel_dingtalk",
                               "setting.channel_sms"],
}


def _recorded_actions() -> set[str]:
    found = set()
    for path in (ROOT / "portal").rglob("*.py"):
        text = path.read_text()
        for pattern in (r'audit\.record\(\s*[^,]+,\s*f?"([^"]+)"', r'apply_changes\([^)]*?"([a-z_]+\.[a-z_.]+)"\s*\)',
                        r'action = "([a-z_]+\.[a-z_]+)"'):
            found |= set(re.findall(pattern, text, re.S))
    actions = set()
    for action in found:
        actions |= set(EXPANDED.get(action, [action]))
    return actions


def test_every_action_the_portal_records_has_a_chinese_label():
    actions = _recorded_actions()
    assert len(actions) > 40
    assert sorted(a for a in actions if a not in labels.ACTIONS) == []


def test_an_entry_reads_as_a_sentence_with_its_changes():
    entry = AuditEntry(actor_name="刘晓燕", action="node.submit", summary="完成征迁交地",
                       before={"status": "doing"}, after={"status": "review"})
    assert labels.sentence(entry) == "刘晓燕 提交销号：完成征迁交地"
    assert labels.changes(entry) == [("状态", "推进中", "待销号")]
    system = AuditEntry(actor_name="", action="sweep.run", summary="", before=None,
                        after={"yellow": 3, "as_of": "2026-06-15"})
    assert labels.sentence(system) == "系统 执行超期检查"
    assert ("yellow", "—", "3") in labels.changes(system)  # a key without a label is shown as stored
    roles = AuditEntry(actor_name="赵管理", action="user.roles", summary="liuxy", before={"roles": ["unit_staff"]},
                       after={"roles": ["unit_staff", "contact"], "is_active_account": True})
    assert labels.changes(roles) == [("角色", "单位经办人", "单位经办人、项目联络员"), ("账号启用", "—", "是")]


def test_the_node_history_includes_its_cards_and_recommitments_in_chinese(app, login_as, clock):
    from portal.cards.services import issue_manual_card, withdraw_card
    from portal.recommitments.services import file_request
    from portal.sweeps.services import sweep

    unit = f.unit("上派镇")
    staff = f.user("staff", unit=unit, display_name="刘晓燕")
    sup = f.user("sup", roles=["supervisor"], unit=f.unit("督查室"), display_name="李督查")
    node = f.node(f.project(lead_unit=unit), title="完成征迁交地", deadline=date(2026, 6, 10), status="doing")
    other = f.node(node.project, title="完成土地摘牌", deadline=date(2026, 8, 10), status="doing")
    db.session.commit()
    sweep(clock.today(), clock)  # the yellow card of the late node (the card table shows it)
    db.session.commit()
    file_request(staff, node, "征迁户未签协议", date(2026, 7, 10), clock=clock)
    card = issue_manual_card(sup, other, "yellow", "推进不力", today=clock.today())
    db.session.commit()
    withdraw_card(sup, card, "误记", now=clock.now())
    db.session.commit()
    page = login_as("staff").client.get(f"/nodes/{node.id}").get_data(as_text=True)
    history = page[page.index("<h2>操作历史</h2>"):]
    assert "刘晓燕 申请重新承诺：完成征迁交地" in history
    assert "承诺完成时间" in history and "2026-07-10" in history and "征迁户未签协议" in history
    other_page = login_as("staff").client.get(f"/nodes/{other.id}").get_data(as_text=True)
    other_history = other_page[other_page.index("<h2>操作历史</h2>"):]
    assert "李督查 手动记黄牌：完成土地摘牌：推进不力" in other_history
    assert "李督查 撤销红黄绿牌：完成土地摘牌：误记" in other_history
    assert "<code>" not in history and "<code>" not in other_history  # no bare action codes
    audit = login_as("sup").client.get("/audit").get_data(as_text=True)
    assert "刘晓燕 申请重新承诺：完成征迁交地" in audit and "申请重新承诺</option>" in audit
    filtered = login_as("sup").client.get("/audit?action=card.withdraw").get_data(as_text=True)
    assert "撤销红黄绿牌：完成土地摘牌" in filtered and "申请重新承诺：" not in filtered
    assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "recommitment.file")).all()
