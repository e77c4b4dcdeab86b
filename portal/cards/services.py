"""Issuing cards: the one place a card event is written, by rule or by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from portal.audit import services as audit
from portal.core.database import insert_ignoring_duplicates
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.models import CardEvent, Node, ScoringPolicy, User
from portal.models.policy import go_live_on

# The colour a node shows: a later, worse judgement replaces a better one.
_RANK = {"none": 0, "green": 1, "yellow": 2, "red": 3}


def points_for(colour: str, policy: ScoringPolicy, weight: int) -> Decimal:
    return {"green": policy.green_points, "yellow": policy.yellow_points, "red": policy.red_points}[colour] * weight


def issue_rule_card(
    node: Node,
    colour: str,
    effective_date: date,
    policy: ScoringPolicy,
    *,
    actor: User | None = None,
    reason: str = "",
) -> CardEvent | None:
    """Issue the rule card of ``colour`` for a node, unless it already has one.

    The insert is ``ON CONFLICT DO NOTHING`` against the partial unique index
    on (node, colour) for rule cards: issuing twice — a re-run, two sweeps at
    once, a double click — leaves exactly one card. Returns the new card, or
    None when it existed already or would be effective before the county's
    go-live date (SPEC rule 11: no card is ever effective before it).
    """
    go_live = go_live_on()
    if go_live is not None and effective_date < go_live:
        return None
    values = {
        "node_id": node.id,
        "unit_id": node.unit_id,
        "colour": colour,
        "points": points_for(colour, policy, node.weight),
        "effective_date": effective_date,
        "reason": reason,
        "is_manual": False,
        "issued_by_id": actor.id if actor is not None else None,
        "policy_id": policy.id,
    }
    stmt = insert_ignoring_duplicates(CardEvent).values(**values).on_conflict_do_nothing().returning(CardEvent.id)
    card_id = db.session.execute(stmt).scalar()
    if card_id is None:
        return None
    card = db.session.get(CardEvent, card_id)
    if _RANK[colour] > _RANK[node.card]:
        node.card = colour
    audit.record(
        actor,
        f"card.{colour}",
        card,
        summary=f"{node.title}：{reason}" if reason else node.title,
        after={"node_id": node.id, "colour": colour, "points": card.points, "effective_date": effective_date},
    )
    return card


def rule_cards(node_id: int) -> dict[str, CardEvent]:
    """The node's rule-issued cards by colour."""
    rows = db.session.scalars(
        select(CardEvent).where(CardEvent.node_id == node_id, CardEvent.is_manual.is_(False))
    )
    return {row.colour: row for row in rows}



def refresh_node_card(node: Node) -> None:
    """The colour a node shows: its worst live card (red > yellow > green)."""
    live = db.session.scalars(
        select(CardEvent.colour).where(CardEvent.node_id == node.id, CardEvent.is_withdrawn.is_(False))
    ).all()
    node.card = max(live, key=_RANK.__getitem__, default="none")


def issue_manual_card(actor: User, node: Node, colour: str, reason: str, *, today: date) -> CardEvent:
    """A supervisor's card by hand, with a reason; effective today, points by the policy."""
    from portal import permissions
    from portal.models.policy import policy_on

    if not permissions.can_manage_cards(actor):
        raise Refused(403, _("Only supervisors may issue a card by hand."))
    if colour not in ("green", "yellow", "red"):
        raise Refused(422, _("Please choose the card colour."))
    if not reason.strip():
        raise Refused(422, _("A card issued by hand needs a reason."))
    policy = policy_on(today)
    card = CardEvent(
        node_id=node.id, unit_id=node.unit_id, colour=colour, points=points_for(colour, policy, node.weight),
        effective_date=today, reason=reason.strip(), is_manual=True, issued_by_id=actor.id, policy_id=policy.id,
    )
    db.session.add(card)
    db.session.flush()
    refresh_node_card(node)
    if colour == "red":
        node.is_key_supervision = True
    audit.record(actor, f"card.manual_{colour}", card, summary=f"{node.title}：{reason}",
                 after={"node_id": node.id, "colour": colour, "points": card.points, "reason": reason})
    return card


def withdraw_card(actor: User, card: CardEvent, reason: str, *, now) -> None:
    """Withdraw a card with a reason: it stays on record and no longer counts."""
    from portal import permissions

    if not permissions.can_manage_cards(actor):
        raise Refused(403, _("Only supervisors may withdraw a card."))
    if card.is_withdrawn:
        raise Refused(409, _("This card has already been withdrawn."))
    if not reason.strip():
        raise Refused(422, _("Withdrawing a card needs a reason."))
    card.is_withdrawn = True
    card.withdrawn_reason = reason.strip()
    card.withdrawn_at = now
    card.withdrawn_by_id = actor.id
    db.session.flush()
    refresh_node_card(card.node)
    audit.record(actor, "card.withdraw", card, summary=f"{card.node.title}：{reason}",
                 before={"is_withdrawn": False}, after={"is_withdrawn": True, "reason": reason})
