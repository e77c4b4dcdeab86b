"""What happens to a node on the board: moves, sign-off, verification.

Every function takes the actor and the date or instant explicitly, flushes
but never commits, and writes the audit log.
"""

from __future__ import annotations

from datetime import date

from portal import audit, permissions
from portal.cards.services import issue_rule_card, rule_cards
from portal.clock import Clock
from portal.errors import Refused
from portal.extensions import db
from portal.models import Evidence, Node, ProgressEntry, User
from portal.nodes import evidence as files
from portal.policy import policy_on

# (from, to) -> the action a board move means
MOVES = {
    ("todo", "doing"): "start",
    ("doing", "todo"): "unstart",
    ("todo", "review"): "submit",
    ("doing", "review"): "submit",
    ("review", "done"): "verify",
    ("review", "doing"): "reject",
    ("done", "doing"): "reopen",
}
SUPERVISOR_ACTIONS = {"verify", "reject", "reopen"}
NEEDS_REASON = {"reject", "reopen"}


class MoveError(Refused):
    """A refused board move, sign-off or upload."""


def check_scope(actor: User, node: Node) -> None:
    if not (permissions.can_move_node(actor, node) or permissions.can_verify_node(actor, node)):
        raise MoveError(403, "只能移动本单位的节点。")


def check_version(node: Node, expected: int | None) -> None:
    if expected is None or expected != node.version:
        raise MoveError(409, "该节点已被他人修改，已显示最新状态，请确认后再操作。")


def action_for(actor: User, node: Node, to_status: str) -> str:
    """The action a move means, or MoveError (403 outside scope, 422 illegal)."""
    if to_status == node.status:
        raise MoveError(422, "节点已在该列。")
    action = MOVES.get((node.status, to_status))
    if action is None:
        raise MoveError(422, _illegal_message(node.status, to_status))
    if action in SUPERVISOR_ACTIONS:
        if not permissions.can_verify_node(actor, node):
            raise MoveError(403, "只有督查人员可以销号、退回或重新打开节点。")
    elif not permissions.can_move_node(actor, node):
        raise MoveError(403, "只能移动本单位的节点。")
    return action


def allowed_targets(actor: User, node: Node) -> list[str]:
    """Columns this actor may move this node to (for the keyboard control)."""
    targets = []
    for (source, target), action in MOVES.items():
        if source != node.status or action == "submit":
            continue
        try:
            action_for(actor, node, target)
        except MoveError:
            continue
        targets.append(target)
    return targets


_COLUMN = {"todo": "未启动", "doing": "推进中", "review": "待销号", "done": "已销号"}


def _illegal_message(source: str, target: str) -> str:
    if target == "done":
        return f"不能从“{_COLUMN[source]}”直接拖到“已销号”：节点须先提交销号申请，经督查人员核验后才能销号。"
    if target == "review":
        return "提交销号须通过销号申请（填写完成情况并上传材料）。"
    return f"不能从“{_COLUMN[source]}”移到“{_COLUMN.get(target, '未知列')}”。"


def move(actor: User, node: Node, to_status: str, *, version: int | None, clock: Clock, reason: str = "") -> str:
    """A board move (drag and drop or the keyboard control). Returns the action done.

    Checked in this order: scope (403), then staleness (409: the user acted on
    an old card, so they get the fresh one), then the rules of the move (422).
    """
    check_scope(actor, node)
    check_version(node, version)
    action = action_for(actor, node, to_status)
    if action == "submit":
        raise MoveError(422, _illegal_message(node.status, "review"))
    reason = (reason or "").strip()
    if action in NEEDS_REASON and not reason:
        raise MoveError(422, "退回或重新打开节点须填写理由。")
    if action == "verify":
        verify(actor, node, clock=clock)
    elif action == "reject":
        reject(actor, node, reason)
    elif action == "reopen":
        reopen(actor, node, reason, clock=clock)
    else:
        before = node.status
        node.status = to_status
        audit.record(actor, f"node.{action}", node, summary=node.title, before={"status": before}, after={"status": to_status})
    db.session.flush()
    return action


def submit(actor: User, node: Node, note: str, uploads: list[tuple[str, bytes]], *, version: int | None, clock: Clock, kind: str = "document") -> list[Evidence]:
    """销号申请: the submission time counts as completion (rule 5)."""
    if not permissions.can_submit_node(actor, node):
        raise MoveError(403, "只能为本单位的节点申请销号。")
    check_version(node, version)
    if node.status not in ("todo", "doing"):
        raise MoveError(422, "只有未启动或推进中的节点可以申请销号。")
    if not uploads and not node.evidence:
        raise MoveError(422, "请至少上传一份销号材料。")
    added = attach(actor, node, uploads, kind=kind)
    before = {"status": node.status}
    node.status = "review"
    node.submitted_at = clock.now()
    node.submitted_on = clock.local_date(node.submitted_at)
    node.submitted_by_id = actor.id
    node.submission_note = note
    audit.record(
        actor, "node.submit", node, summary=node.title, before=before,
        after={"status": "review", "submitted_at": node.submitted_at, "evidence": [e.original_name for e in added]},
    )
    db.session.flush()
    return added


def verify(actor: User, node: Node, *, clock: Clock) -> None:
    """销号: close the node; on-time submissions earn the green card (rule 1)."""
    today = clock.today()
    submitted_on = node.submitted_on or today
    node.status = "done"
    node.closed_at = clock.now()
    node.closed_by_id = actor.id
    audit.record(actor, "node.verify", node, summary=node.title, before={"status": "review"}, after={"status": "done", "submitted_on": submitted_on})
    existing = rule_cards(node.id)
    late = submitted_on > node.deadline or "yellow" in existing or "red" in existing
    if not late:
        # Effective on the day of verification: a week's ranking, once
        # printed, never changes because a sign-off came later.
        issue_rule_card(node, "green", today, policy_on(today), actor=actor, reason="按期完成，督查核验销号")


def reject(actor: User, node: Node, reason: str) -> None:
    """Send a submission back: the submission is cleared, so lateness is judged again."""
    before = {"status": node.status, "submitted_at": node.submitted_at}
    node.status = "doing"
    node.submitted_at = None
    node.submitted_on = None
    node.submitted_by_id = None
    audit.record(actor, "node.reject", node, summary=f"{node.title}：{reason}", before=before, after={"status": "doing", "reason": reason})


def reopen(actor: User, node: Node, reason: str, *, clock: Clock) -> None:
    """Reopen a closed node: its green card (if any) is withdrawn with the reason."""
    before = {"status": node.status, "closed_at": node.closed_at, "card": node.card}
    node.status = "doing"
    node.closed_at = None
    node.closed_by_id = None
    node.submitted_at = None
    node.submitted_on = None
    node.submitted_by_id = None
    green = rule_cards(node.id).get("green")
    if green is not None and not green.is_withdrawn:
        green.is_withdrawn = True
        green.withdrawn_reason = f"节点重新打开：{reason}"
        green.withdrawn_at = clock.now()
        green.withdrawn_by_id = actor.id
        if node.card == "green":
            node.card = "none"
    audit.record(actor, "node.reopen", node, summary=f"{node.title}：{reason}", before=before, after={"status": "doing", "card": node.card, "reason": reason})


def add_progress(actor: User, node: Node, body: str, percent: int | None, *, version: int | None) -> ProgressEntry:
    """Log progress on the node as the actor saw it: a stale ``version`` is refused (409).

    Entries are only ever added, so two people logging at once both keep
    theirs; but an entry written against a node that was meanwhile moved,
    sent back or signed off would misreport it, so the node row is locked
    (PostgreSQL) and its version checked first.
    """
    if not permissions.can_edit_node(actor, node):
        raise MoveError(403, "只能为本单位或所联系项目的节点记录进展。")
    db.session.refresh(node, with_for_update=True)
    check_version(node, version)
    entry = ProgressEntry(node_id=node.id, author_id=actor.id, body=body, percent=percent)
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "progress.create", entry, summary=node.title, after={"node_id": node.id, "body": body, "percent": percent})
    return entry


def attach(actor: User, node: Node, uploads: list[tuple[str, bytes]], *, kind: str = "document") -> list[Evidence]:
    """Store uploaded files as evidence; refuses the whole batch if one is bad.

    Files are written before the transaction commits; on any refusal the ones
    already written are removed again, so nothing half-stored remains.
    """
    if not permissions.can_edit_node(actor, node):
        raise MoveError(403, "只能为本单位或所联系项目的节点上传材料。")
    written: list[str] = []
    rows = []
    try:
        for name, data in uploads:
            stored = files.store(name, data)
            written.append(stored.storage_key)
            rows.append(
                Evidence(
                    node_id=node.id, uploaded_by_id=actor.id, kind=kind, original_name=stored.original_name,
                    storage_key=stored.storage_key, content_type=stored.content_type,
                    size_bytes=stored.size_bytes, sha256=stored.sha256,
                )
            )
    except files.EvidenceError as error:
        files.discard(written)
        raise MoveError(422, str(error)) from error
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        audit.record(actor, "evidence.create", row, summary=f"{node.title}：{row.original_name}", after={"node_id": node.id, "name": row.original_name, "sha256": row.sha256, "size": row.size_bytes})
    return rows


def is_due_soon(node: Node, today: date, warn_days: int) -> bool:
    """预警: open, not submitted, effective deadline within ``warn_days`` from today."""
    if node.status not in ("todo", "doing"):
        return False
    return 0 <= (node.effective_deadline - today).days <= warn_days


def days_overdue(node: Node, today: date) -> int:
    if node.status not in ("todo", "doing"):
        return 0
    return max(0, (today - node.effective_deadline).days)


