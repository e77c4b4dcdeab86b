"""Applying a checked ledger in the caller's transaction: projects and nodes, and their audit entries.

Services flush, never commit. Projects are matched by code and nodes by
(project, title): a match is updated, anything else created, and nothing
absent from the file is touched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.ledger.checking import Lookups, _Checked
from portal.ledger.reading import clean_text
from portal.models import Node, Project, User


@dataclass
class ImportResult:
    """What an import did."""

    rows: int = 0
    projects_created: int = 0
    projects_updated: int = 0
    projects_unchanged: int = 0
    nodes_created: int = 0
    nodes_updated: int = 0
    nodes_unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return dict(self.__dict__)

    def line(self) -> str:
        return "ledger import " + " ".join(f"{k}={v}" for k, v in self.counts().items())



# -- applying -------------------------------------------------------------------

PROJECT_FIELDS = (
    "name", "category_id", "theme_id", "year", "lead_unit_id", "lead_leader_id", "stage",
    "investment_total", "investment_planned", "investment_completed", "start_date", "end_date", "description",
)
NODE_FIELDS = (
    "unit_id", "responsible_user_id", "deadline", "standard", "weight", "is_major", "is_key_supervision",
)
TEXT_FIELDS = {"description", "standard"}


def _project_values(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": p["name"],
        "category_id": p["category"].id,
        "theme_id": p["theme"].id if p["theme"] is not None else None,
        "year": p["year"],
        "lead_unit_id": p["lead_unit"].id,
        "lead_leader_id": p["lead_leader"].id if p["lead_leader"] is not None else None,
        "stage": p["stage"],
        "investment_total": p["investment_total"],
        "investment_planned": p["investment_planned"],
        "investment_completed": p["investment_completed"],
        "start_date": p["start_date"],
        "end_date": p["end_date"],
        "description": p["description"],
    }


def _node_values(n: dict[str, Any]) -> dict[str, Any]:
    return {
        "unit_id": n["unit"].id,
        "responsible_user_id": n["responsible"].id if n["responsible"] is not None else None,
        "deadline": n["deadline"],
        "standard": n["standard"],
        "weight": n["weight"],
        "is_major": n["is_major"],
        "is_key_supervision": n["is_key_supervision"],
    }


def _same(name: str, old: Any, new: Any) -> bool:
    if name in TEXT_FIELDS:
        return clean_text(old) == clean_text(new)
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return Decimal(old or 0) == Decimal(new or 0)
    return old == new


def _update(obj: Any, values: dict[str, Any]) -> tuple[dict, dict]:
    """Set the values that differ; return (before, after) of exactly those."""
    before, after = {}, {}
    for name, value in values.items():
        old = getattr(obj, name)
        if not _same(name, old, value):
            before[name], after[name] = old, value
            setattr(obj, name, value)
    return before, after


def _bulk_insert(model, rows: list[dict[str, Any]], *key: str) -> dict[Any, int]:
    """Insert rows in batches (one statement per batch, not per row); returns their ids by ``key``."""
    ids: dict[Any, int] = {}
    columns = [getattr(model, k) for k in key]
    for start in range(0, len(rows), 1000):
        batch = rows[start:start + 1000]
        db.session.execute(insert(model), batch)
        # Read the new ids back by their natural key, a batch at a time.
        if len(key) == 1:
            wanted = [r[key[0]] for r in batch]
            stmt = select(model.id, *columns).where(columns[0].in_(wanted))
        else:
            parents = sorted({r[key[0]] for r in batch})
            stmt = select(model.id, *columns).where(columns[0].in_(parents))
        found = {tuple(r[k] for k in key) for r in batch}
        for new_id, *values in db.session.execute(stmt):
            natural = values[0] if len(key) == 1 else tuple(values)
            if (tuple(values) in found) and natural not in ids:
                ids[natural] = new_id
    return ids


def apply_rows(actor: User | None, checked: _Checked, lookups: Lookups, rows: int, clock: Clock) -> ImportResult:
    """Write a checked file: updates in place, creations in batches, one audit entry per project."""
    result = ImportResult(rows=rows)
    project_ids: dict[str, int] = {}
    names: dict[str, str] = {}
    project_changes: dict[str, tuple[str, dict, dict]] = {}
    to_create: list[dict[str, Any]] = []
    for code, first in checked.projects.items():
        values = _project_values(first.project)
        names[code] = values["name"]
        existing = lookups.projects.get(code)
        if existing is None:
            to_create.append({"code": code, **values})
            project_changes[code] = ("create", {}, {"code": code, **values})
            result.projects_created += 1
            continue
        project_ids[code] = existing.id
        before, after = _update(existing, values)
        if after:
            project_changes[code] = ("update", before, after)
            result.projects_updated += 1
        else:
            result.projects_unchanged += 1
    db.session.flush()  # the updates
    project_ids.update(_bulk_insert(Project, to_create, "code"))

    node_changes: dict[str, dict[str, Any]] = defaultdict(lambda: {"created": [], "before": {}, "after": {}})
    new_nodes: list[dict[str, Any]] = []
    new_codes: dict[tuple[int, str], str] = {}
    for row in checked.rows:
        if row.node is None:
            continue
        code = row.project["code"]
        project_id = project_ids[code]
        values = _node_values(row.node)
        title = row.node["title"]
        matches = lookups.nodes[project_id].get(title, []) if project_id in lookups.nodes else []
        if not matches:
            new_nodes.append({"project_id": project_id, "title": title, "version": 1, **values})
            new_codes[(project_id, title)] = code
            result.nodes_created += 1
            continue
        node = matches[0]
        before, after = _update(node, values)
        if after:
            node_changes[code]["before"][node.id] = {"title": node.title, **before}
            node_changes[code]["after"][node.id] = {"title": node.title, **after}
            result.nodes_updated += 1
        else:
            result.nodes_unchanged += 1
    db.session.flush()  # the updates, each checked against its version
    for (project_id, title), node_id in _bulk_insert(Node, new_nodes, "project_id", "title").items():
        node_changes[new_codes[(project_id, title)]]["created"].append(node_id)

    for code in sorted(set(project_changes) | set(node_changes)):
        kind, before, after = project_changes.get(code, ("unchanged", {}, {}))
        nodes = node_changes.get(code)
        after = dict(after)
        before = dict(before)
        if nodes:
            after["nodes_created"] = sorted(nodes["created"])
            if nodes["after"]:
                before["nodes"] = nodes["before"]
                after["nodes"] = nodes["after"]
        verb = {"create": "新建项目", "update": "更新项目", "unchanged": "项目"}[kind]
        created_n = len(nodes["created"]) if nodes else 0
        updated_n = len(nodes["after"]) if nodes else 0
        audit.record(
            actor, "ledger.import", object_type="project", object_id=project_ids[code],
            summary=f"台账导入：{verb} {code} {names[code]}，新建节点 {created_n} 个，更新节点 {updated_n} 个",
            before=before or None, after=after,
        )
    audit.record(
        actor, "ledger.import", object_type="ledger", summary=(
            f"导入台账 {result.rows} 行：新建项目 {result.projects_created} 个，更新 {result.projects_updated} 个；"
            f"新建节点 {result.nodes_created} 个，更新 {result.nodes_updated} 个"
        ), after={**result.counts(), "at": clock.now()},
    )
    db.session.flush()
    return result

