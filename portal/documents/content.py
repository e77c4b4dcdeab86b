"""What goes into each document: gathered with set-based queries, rendered by templates."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.core.extensions import db
from portal.models import CardEvent, Interview, Node, Project, Unit
from portal.rankings.services import completion_by_category, league_tables


def bulletin_context(start: date, end: date, ranking_kind: str | None, *, today: date) -> dict:
    """Totals by category, the period's new yellow and red cards, key supervision, league tables."""
    new_cards = db.session.scalars(
        select(CardEvent)
        .where(CardEvent.colour.in_(("yellow", "red")), CardEvent.is_withdrawn.is_(False),
               CardEvent.effective_date.between(start, end))
        .options(joinedload(CardEvent.node).joinedload(Node.project), joinedload(CardEvent.unit))
        .order_by(CardEvent.colour.desc(), CardEvent.effective_date, CardEvent.id)
    ).all()
    key_nodes = db.session.scalars(
        select(Node)
        .where(Node.is_key_supervision.is_(True), Node.status != "done")
        .options(joinedload(Node.project), joinedload(Node.unit))
        .order_by(Node.deadline, Node.id)
    ).all()
    categories = completion_by_category(start.year, end)
    tables = league_tables(ranking_kind, start, today=today)[1] if ranking_kind else []
    return {
        "categories": categories,
        "chart": completion_chart(categories),
        "yellow_cards": [c for c in new_cards if c.colour == "yellow"],
        "red_cards": [c for c in new_cards if c.colour == "red"],
        "key_nodes": key_nodes,
        "tables": tables,
    }


def completion_chart(categories, width: int = 560, bar: int = 18, gap: int = 10) -> dict:
    """Geometry of a horizontal bar chart (completion rate by category), drawn as inline SVG."""
    label_width, scale = 90, width - 90 - 60
    bars = []
    for i, c in enumerate(categories):
        rate = c.rate or 0.0
        bars.append({"y": i * (bar + gap), "name": c.name, "width": round(scale * rate, 1),
                     "label": f"{rate * 100:.1f}%" if c.rate is not None else "—"})
    return {"width": width, "height": len(bars) * (bar + gap), "bar": bar, "label_width": label_width, "bars": bars}


def notice_context(interview: Interview) -> dict:
    cards = sorted(interview.cards, key=lambda c: (c.effective_date, c.id))
    node_ids = {c.node_id for c in cards}
    nodes = {n.id: n for n in db.session.scalars(
        select(Node).where(Node.id.in_(node_ids)).options(joinedload(Node.project))
    )} if node_ids else {}
    return {"interview": interview, "unit": interview.unit, "cards": cards, "nodes": nodes}


def ledger_nodes(*, unit: Unit | None = None, project: Project | None = None) -> list[Node]:
    stmt = select(Node).options(joinedload(Node.project), joinedload(Node.unit), joinedload(Node.responsible_user))
    if unit is not None:
        stmt = stmt.where(Node.unit_id == unit.id)
    if project is not None:
        stmt = stmt.where(Node.project_id == project.id)
    return db.session.scalars(stmt.order_by(Node.deadline, Node.id)).unique().all()
