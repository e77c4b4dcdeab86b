"""Re-commitment (rule 3): after a yellow card the unit explains and names a new
date; a leader in charge of the unit approves or rejects it."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from portal import permissions
from portal.audit import services as audit
from portal.cards.services import rule_cards
from portal.core.clock import Clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.models import Node, Recommitment, User
from portal.models.policy import policy_on
from portal.notifications import services as notify


def may_file(node: Node) -> str | None:
    """Why a re-commitment cannot be filed for this node now, or None."""
    cards = rule_cards(node.id)
    if "yellow" not in cards or cards["yellow"].is_withdrawn:
        return _("Only a node with a yellow card needs an explanation and a new commitment.")
    if "red" in cards:
        return _("The node has a red card; it can no longer be recommitted.")
    if not node.is_open:
        return _("The node has been submitted for sign-off; no new commitment is needed.")
    states = {r.state for r in node.recommitments}
    if "pending" in states:
        return _("A new commitment is already waiting; please wait for the leader in charge to decide.")
    if "approved" in states:
        return _("The new commitment was approved; please finish by the committed date.")
    return None


def file_request(actor: User, node: Node, reason: str, new_date: date, *, clock: Clock) -> Recommitment:
    if not permissions.can_submit_node(actor, node):
        raise Refused(403, _("You may only file a new commitment for your own unit's nodes."))
    refusal = may_file(node)
    if refusal:
        raise Refused(422, refusal)
    today = clock.today()
    longest = policy_on(today).recommit_max_days
    if new_date <= today:
        raise Refused(422, _("The committed date must be after today."))
    if new_date > today + timedelta(days=longest):
        raise Refused(422, _("The new date cannot be more than %(days)d days from today (%(last)s).",
                                   days=longest, last=(today + timedelta(days=longest)).isoformat()))
    request = Recommitment(node_id=node.id, reason=reason, new_deadline=new_date, filed_by_id=actor.id,
                           filed_at=clock.now(), state="pending")
    db.session.add(request)
    db.session.flush()
    audit.record(actor, "recommitment.file", request, summary=node.title,
                 after={"node_id": node.id, "new_deadline": new_date, "reason": reason})
    leaders = notify.leaders_in_charge([node.unit_id])[node.unit_id]
    notify.send(leaders, "recommitment.filed", f"{node.unit.name}申请重新承诺：{node.title}", body=reason,
                link="/recommitments", node_id=node.id, key=f"recommit-filed:{request.id}", now=clock.now())
    return request


def decide(actor: User, request: Recommitment, approve: bool, comment: str, *, clock: Clock) -> None:
    node = request.node
    if not permissions.can_decide_recommitment(actor, node):
        raise Refused(403, _("Only a leader in charge of the unit may decide on a new commitment."))
    if request.state != "pending":
        raise Refused(409, _("This request has already been decided."))
    if "red" in rule_cards(node.id):
        raise Refused(422, _("The node has a red card; a new commitment no longer applies."))
    if not approve and not comment.strip():
        raise Refused(422, _("Please give your opinion when you reject."))
    request.state = "approved" if approve else "rejected"
    request.decided_by_id = actor.id
    request.decided_at = clock.now()
    request.comment = comment.strip()
    before = {"committed_deadline": node.committed_deadline}
    if approve:
        node.committed_deadline = request.new_deadline
        node.warned_on = None  # the new date gets its own due-soon warning
    audit.record(actor, f"recommitment.{request.state}", request, summary=node.title,
                 before=before, after={"state": request.state, "committed_deadline": node.committed_deadline, "comment": request.comment})
    staff = notify.unit_staff([node.unit_id])[node.unit_id]
    verdict = "同意" if approve else "不同意"
    notify.send(staff + [request.filed_by_id], "recommitment.decided", f"重新承诺{verdict}：{node.title}",
                body=request.comment, link=f"/nodes/{node.id}", node_id=node.id,
                key=f"recommit-decided:{request.id}", now=clock.now())


def pending_for(actor: User) -> list[Recommitment]:
    """Requests waiting for this leader: the units in their charge, oldest first."""
    unit_ids = [u.id for u in actor.units_in_charge]
    if not unit_ids:
        return []
    return db.session.scalars(
        select(Recommitment).join(Node).where(Recommitment.state == "pending", Node.unit_id.in_(unit_ids))
        .order_by(Recommitment.filed_at)
    ).all()
