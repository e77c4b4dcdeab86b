"""Issuing cards: the one place a card event is written, by rule or by hand."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal import audit
from portal.database import insert_ignoring_duplicates
from portal.extensions import db
from portal.models import CardEvent, Node, ScoringPolicy, User

# The colour a node shows: a later, worse judgement replaces a better one.
_RANK = {"none": 0, "green": 1, "yellow": 2, "red": 3}


def points_for(colour: str, policy: ScoringPolicy, weight: int) -> int:
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
    None when it existed already.
    """
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
