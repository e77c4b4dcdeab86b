"""The Kanban board: reading a unit's board, and moving its cards.

Reading: one query for the cards, a few for the filter lists. Moving: the
column transitions of SPEC section 2 (未启动 → 推进中 → 待销号 → 已销号) and
sign-off (rule 5), checked in the order scope (403), version (409), rule
(422). Every change takes the actor and the clock explicitly, flushes but
never commits, and writes the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from portal import permissions
from portal.audit import services as audit
from portal.cards.services import issue_rule_card, rule_cards
from portal.core.clock import Clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.inputs import arg_id
from portal.models import (
    CARDS,
    STATUSES,
    Category,
    Evidence,
    League,
    Node,
    Project,
    Unit,
    User,
    node_co_unit,
)
from portal.models.policy import policy_on
from portal.nodes.services import attach, check_version
from portal.notifications import services as notify


@dataclass
class Filters:
    project_id: int | None = None
    category_id: int | None = None
    card: str | None = None
    person_id: int | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        card = args.get("card") or None
        return cls(
            project_id=arg_id("project_id", args),
            category_id=arg_id("category_id", args),
            card=card if card in CARDS else None,
            person_id=arg_id("person_id", args),
            q=(args.get("q") or "").strip()[:60],
        )

    def as_args(self) -> dict:
        values = {"project_id": self.project_id, "category_id": self.category_id, "card": self.card,
                  "person_id": self.person_id, "q": self.q}
        return {k: v for k, v in values.items() if v not in (None, "")}

    def apply(self, stmt):
        if self.project_id:
            stmt = stmt.where(Node.project_id == self.project_id)
        if self.category_id:
            stmt = stmt.where(Project.category_id == self.category_id)
        if self.card:
            stmt = stmt.where(Node.card == self.card)
        if self.person_id:
            stmt = stmt.where(Node.responsible_user_id == self.person_id)
        if self.q:
            stmt = stmt.where(or_(Node.title.contains(self.q), Project.name.contains(self.q)))
        return stmt


@dataclass
class CardView:
    """A node as a board card shows it to one actor: its marks and the moves open to them."""

    node: Node
    due_soon: bool
    overdue_days: int
    targets: list[str]
    may_submit: bool
    co_unit: bool = False  # shown on a 配合单位's board: read-only there, cards go to the responsible unit


@dataclass
class Board:
    columns: dict[str, list[CardView]] = field(default_factory=lambda: {s: [] for s in STATUSES})

    @property
    def counts(self) -> dict[str, int]:
        return {status: len(cards) for status, cards in self.columns.items()}


def card_view(node: Node, actor: User, today: date, warn_days: int, *, board_unit_id: int | None = None) -> CardView:
    co_unit = board_unit_id is not None and node.unit_id != board_unit_id
    if co_unit and not permissions.can_view_all_units(actor):
        targets, may_submit = [], False  # a co-responsible unit's staff read the node; its own unit moves it
    else:
        targets, may_submit = allowed_targets(actor, node), node.is_open and permissions.can_submit_node(actor, node)
    return CardView(node, node.is_due_soon(today, warn_days), node.days_overdue(today), targets, may_submit, co_unit)


def _on_board(unit_id: int):
    """The unit's own nodes and those it is a 配合单位 of."""
    return or_(Node.unit_id == unit_id,
               Node.id.in_(select(node_co_unit.c.node_id).where(node_co_unit.c.unit_id == unit_id)))


def load_board(unit_id: int, filters: Filters, actor: User, today: date, warn_days: int) -> Board:
    """All of a unit's cards in one query (project, category and person joined in), its co-units' nodes included."""
    stmt = (
        select(Node)
        .join(Node.project)
        .options(contains_eager(Node.project).joinedload(Project.category), joinedload(Node.responsible_user),
                 joinedload(Node.unit))
        .where(_on_board(unit_id))
        .order_by(Node.deadline, Node.id)
    )
    board = Board()
    for node in db.session.scalars(filters.apply(stmt)).unique():
        board.columns[node.status].append(card_view(node, actor, today, warn_days, board_unit_id=unit_id))
    return board


def column_counts(unit_id: int, filters: Filters) -> dict[str, int]:
    stmt = select(Node.status, func.count(Node.id)).join(Node.project).where(_on_board(unit_id))
    counts = dict(db.session.execute(filters.apply(stmt).group_by(Node.status)).all())
    return {status: counts.get(status, 0) for status in STATUSES}


def filter_choices(unit_id: int) -> dict:
    """The unit's projects, categories and people, for the filter lists."""
    projects = db.session.execute(
        select(Project.id, Project.name).where(Project.id.in_(select(Node.project_id).where(Node.unit_id == unit_id))).order_by(Project.name)
    ).all()
    categories = db.session.execute(select(Category.id, Category.name).order_by(Category.sort_order, Category.id)).all()
    people = db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(select(Node.responsible_user_id).where(Node.unit_id == unit_id))).order_by(User.display_name)
    ).all()
    return {"projects": projects, "categories": categories, "people": people}


# -- moving cards ------------------------------------------------------------

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


def check_scope(actor: User, node: Node) -> None:
    if not (permissions.can_move_node(actor, node) or permissions.can_verify_node(actor, node)):
        raise Refused(403, _("You may only move your own unit's nodes."))


def action_for(actor: User, node: Node, to_status: str) -> str:
    """The action a move means, or Refused (403 outside scope, 422 illegal)."""
    if to_status == node.status:
        raise Refused(422, _("The node is already in that column."))
    action = MOVES.get((node.status, to_status))
    if action is None:
        raise Refused(422, _illegal_message(node.status, to_status))
    if action in SUPERVISOR_ACTIONS:
        if not permissions.can_verify_node(actor, node):
            raise Refused(403, _("Only supervisors may sign off, return or reopen a node."))
    elif not permissions.can_move_node(actor, node):
        raise Refused(403, _("You may only move your own unit's nodes."))
    return action


def allowed_targets(actor: User, node: Node) -> list[str]:
    """Columns this actor may move this node to (for the keyboard control)."""
    targets = []
    for (source, target), action in MOVES.items():
        if source != node.status or action == "submit":
            continue
        try:
            action_for(actor, node, target)
        except Refused:
            continue
        targets.append(target)
    return targets


_COLUMN = {"todo": _l("Not started"), "doing": _l("In progress"), "review": _l("Awaiting sign-off"), "done": _l("Signed off")}


def _illegal_message(source: str, target: str) -> str:
    if target == "done":
        return _(
            "A node cannot go straight from “%(source)s” to “Signed off”: it must first be submitted"
            " for sign-off, and a supervisor verifies it before signing it off.",
            source=str(_COLUMN[source]),
        )
    if target == "review":
        return _("Submitting for sign-off goes through the sign-off application (what was done, and the evidence).")
    target_name = _COLUMN[target] if target in _COLUMN else _("unknown column")
    return _("A node cannot move from “%(source)s” to “%(target)s”.", source=str(_COLUMN[source]), target=str(target_name))


def move(actor: User, node: Node, to_status: str, *, version: int | None, clock: Clock, reason: str = "") -> str:
    """A board move (drag and drop or the keyboard control). Returns the action done.

    Checked in this order: scope (403), then staleness (409: the user acted on
    an old card, so they get the fresh one), then the rules of the move (422).
    """
    check_scope(actor, node)
    check_version(node, version)
    action = action_for(actor, node, to_status)
    if action == "submit":
        raise Refused(422, _illegal_message(node.status, "review"))
    reason = (reason or "").strip()
    if action in NEEDS_REASON and not reason:
        raise Refused(422, _("Returning or reopening a node needs a reason."))
    if action == "verify":
        verify(actor, node, clock=clock)
    elif action == "reject":
        reject(actor, node, reason, clock=clock)
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
        raise Refused(403, _("You may only apply for sign-off of your own unit's nodes."))
    check_version(node, version)
    if not node.is_open:
        raise Refused(422, _("Only a node that is not started or in progress can be submitted for sign-off."))
    if not uploads and not node.evidence:
        raise Refused(422, _("Please upload at least one piece of evidence."))
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


def reject(actor: User, node: Node, reason: str, *, clock: Clock) -> None:
    """Send a submission back: the submission is cleared, so lateness is judged again.

    The unit's staff, whoever submitted it and the responsible person are told why.
    """
    before = {"status": node.status, "submitted_at": node.submitted_at}
    submitter = node.submitted_by_id
    node.status = "doing"
    node.submitted_at = None
    node.submitted_on = None
    node.submitted_by_id = None
    audit.record(actor, "node.reject", node, summary=f"{node.title}：{reason}", before=before, after={"status": "doing", "reason": reason})
    staff = notify.unit_staff([node.unit_id])[node.unit_id]
    notify.send(staff + [submitter, node.responsible_user_id], "node.rejected", f"节点“{node.title}”的销号申请被退回",
                body=reason, link=f"/nodes/{node.id}", node_id=node.id, now=clock.now())


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


def switcher_units() -> tuple[list[League], list[Unit]]:
    """Units grouped by league, and the units in no league, for those who may open every board."""
    leagues = db.session.scalars(select(League).options(selectinload(League.units)).order_by(League.sort_order, League.id)).all()
    loose = db.session.scalars(select(Unit).where(Unit.league_id.is_(None), Unit.is_active).order_by(Unit.sort_order, Unit.id)).all()
    return leagues, loose


def awaiting_signoff() -> list[Node]:
    """待销号 across units, oldest submission first, with what the queue shows loaded."""
    return db.session.scalars(
        select(Node)
        .where(Node.status == "review")
        .options(joinedload(Node.project), joinedload(Node.unit), joinedload(Node.submitted_by), selectinload(Node.evidence))
        .order_by(Node.submitted_at, Node.id)
    ).all()
