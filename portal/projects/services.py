"""Setting up projects and nodes (节点设立). Each change audited; the view commits."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.admin.services import RuleError, apply_changes
from portal.audit import services as audit
from portal.core.extensions import db
from portal.models import CardEvent, Node, Project, Unit, User

PROJECT_FIELDS = (
    "code", "name", "category_id", "theme_id", "year", "lead_leader_id", "lead_unit_id", "stage",
    "investment_total", "investment_planned", "investment_completed", "start_date", "end_date",
    "description", "is_archived",
)
NODE_FIELDS = (
    "title", "unit_id", "responsible_user_id", "deadline", "standard", "weight", "is_major",
    "is_key_supervision",
)


class StaleError(Exception):
    """The record changed since the form was loaded."""


def save_project(actor: User, project: Project, data: dict, co_units: list[Unit], contacts: list[User]) -> Project:
    creating = project.id is None
    before_links = None if creating else _links(project)
    apply_changes(actor, project, data, "project.create" if creating else "project.update")
    project.co_units = co_units
    project.contacts = contacts
    db.session.flush()
    after_links = _links(project)
    if before_links != after_links:
        audit.record(actor, "project.links", project, summary=project.name, before=before_links, after=after_links)
    return project


def _links(project: Project) -> dict:
    return {
        "co_units": sorted(u.id for u in project.co_units),
        "contacts": sorted(u.id for u in project.contacts),
    }


def card_count(node_ids) -> int:
    if not node_ids:
        return 0
    return db.session.scalar(select(func.count(CardEvent.id)).where(CardEvent.node_id.in_(node_ids))) or 0


def delete_project(actor: User, project: Project) -> None:
    """Only a project without cards may go: cards are the county's record."""
    if card_count([n.id for n in project.nodes]):
        raise RuleError("该项目的节点已有红黄绿牌记录，不能删除；可将项目归档。")
    audit.record(
        actor, "project.delete", project, summary=project.name,
        before={**audit.snapshot(project, ["code", "name", "year"]), "nodes": len(project.nodes)},
    )
    db.session.delete(project)


def save_node(actor: User, node: Node, data: dict, expected_version: int | None = None) -> Node:
    """Create or update a node; an update must name the version it was based on."""
    if node.id is not None and expected_version is not None and node.version != expected_version:
        raise StaleError()
    creating = node.id is None
    return apply_changes(actor, node, data, "node.create" if creating else "node.update")


def delete_node(actor: User, node: Node) -> None:
    if card_count([node.id]):
        raise RuleError("该节点已有红黄绿牌记录，不能删除。")
    if node.status == "done":
        raise RuleError("已销号的节点不能删除。")
    audit.record(actor, "node.delete", node, summary=node.title, before=audit.snapshot(node, list(NODE_FIELDS)))
    db.session.delete(node)
