"""Applying a checked ledger in the caller's transaction: projects and nodes, and their audit entries.

Services flush, never commit. Projects are matched by code and nodes by
(project, title): a match is updated, anything else created, and nothing
absent from the file is touched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.ledger.checking import MISSING, Checked, Lookups, NewUnit
from portal.ledger.reading import clean_text
from portal.models import Node, Project, Unit, UnitAlias, User, node_co_unit


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
    # Added by the go-live import (fields are only ever added here, never renamed).
    nodes_done: int = 0  # created as 已销号 because the ledger marks them finished
    nodes_overdue: int = 0  # open, due before go-live: reported for a supervisor to judge
    units_created: int = 0
    aliases_added: int = 0
    rows_ignored: int = 0
    rows_hidden: int = 0
    accounts_created: int = 0
    notes: list = field(default_factory=list)  # what the report says besides the counts (checking.Note)
    accounts: list = field(default_factory=list)  # orgchart.NewAccount: the one-time passwords, in memory only

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}

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


PROJECT_KEYS = {
    "name": "name", "category": "category_id", "theme": "theme_id", "year": "year", "lead_unit": "lead_unit_id",
    "lead_leader": "lead_leader_id", "stage": "stage", "investment_total": "investment_total",
    "investment_planned": "investment_planned", "investment_completed": "investment_completed",
    "start_date": "start_date", "end_date": "end_date", "description": "description",
}
PROJECT_DEFAULTS = {"theme_id": None, "lead_leader_id": None, "stage": "signed", "investment_total": Decimal(0),
                    "investment_planned": Decimal(0), "investment_completed": Decimal(0), "start_date": None,
                    "end_date": None, "description": ""}
NODE_KEYS = {
    "unit": "unit_id", "responsible": "responsible_user_id", "deadline": "deadline", "standard": "standard",
    "weight": "weight", "is_major": "is_major", "is_key_supervision": "is_key_supervision", "note": "note",
}
NODE_DEFAULTS = {"responsible_user_id": None, "responsible_name": "", "weight": 1, "is_major": False,
                 "is_key_supervision": False, "note": ""}


def _id(value: Any) -> Any:
    return value.id if isinstance(value, Unit | User | NewUnit) or hasattr(value, "id") else value


def _values(row_values: dict[str, Any], keys: dict[str, str], present: set[str], always: set[str]) -> dict[str, Any]:
    """The model's values for the fields the ledger has a column for (and those it always sets)."""
    out = {}
    for key, attr in keys.items():
        if key in row_values and (key in present or key in always) and row_values[key] is not MISSING:
            out[attr] = _id(row_values[key])
    return out


def _project_values(p: dict[str, Any], present: set[str]) -> dict[str, Any]:
    return _values(p, PROJECT_KEYS, present, {"name", "category", "year", "lead_unit"})


def _node_values(n: dict[str, Any], present: set[str]) -> dict[str, Any]:
    values = _values(n, NODE_KEYS, present, {"unit", "deadline", "standard"})
    if "responsible" in present:
        values["responsible_name"] = n.get("responsible_name", "")
    return values


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


def _create_units(actor: User | None, checked: Checked, result: ImportResult) -> None:
    """The units the caller asked to create, and the aliases the caller chose, before anything refers to them."""
    for name, new in sorted(checked.new_units.items()):
        unit = Unit(name=name, short_name="", head_name="", is_active=True, sort_order=0)
        db.session.add(unit)
        db.session.flush()
        new.id = unit.id
        audit.record(actor, "unit.create", unit, summary=f"台账导入新建单位：{name}", after={"name": name})
        result.units_created += 1
    for name, unit_id in sorted(checked.aliases.items()):
        alias = UnitAlias(unit_id=unit_id, name=name[:60])
        db.session.add(alias)
        db.session.flush()
        audit.record(actor, "unit.alias", object_type="unit", object_id=unit_id, summary=f"台账导入添加别名：{name}",
                     after={"alias": name})
        result.aliases_added += 1


def _create_accounts(actor: User | None, checked: Checked, result: ImportResult, clock: Clock) -> None:
    """The accounts the caller asked for, in their (possibly new) units, before any node names them."""
    from portal.admin import orgchart

    people = sorted(checked.new_people.values(), key=lambda p: (p.unit.name, p.name))
    if not people:
        return
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({p.unit.id for p in people})))}
    made = orgchart.create_accounts(actor, [(p.name, units[p.unit.id]) for p in people], clock=clock)
    for person, (user, account) in zip(people, made, strict=True):
        person.id = user.id
        result.accounts.append(account)
    result.accounts_created = len(made)


def _done_values(node: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A new node the ledger marks finished: 已销号 on its completion date (the county's noon, as a time)."""
    from datetime import UTC, datetime, time

    day = node.get("done_on")
    if day is None:
        return {}
    at = datetime.combine(day, time(12, 0), tzinfo=clock.tz).astimezone(UTC)
    return {"status": "done", "submitted_on": day, "submitted_at": at, "closed_at": at}


def apply_rows(actor: User | None, checked: Checked, lookups: Lookups, rows: int, clock: Clock) -> ImportResult:
    """Write a checked file: updates in place, creations in batches, one audit entry per project."""
    result = ImportResult(rows=rows, rows_ignored=checked.ignored_rows, rows_hidden=checked.hidden_rows,
                          nodes_overdue=checked.overdue_open)
    _create_units(actor, checked, result)
    _create_accounts(actor, checked, result, clock)
    project_ids: dict[str, int] = {}
    names: dict[str, str] = {}
    project_changes: dict[str, tuple[str, dict, dict]] = {}
    to_create: list[dict[str, Any]] = []
    for code, first in checked.projects.items():
        values = _project_values(first.project, first.present)
        names[code] = values["name"]
        existing = lookups.projects.get(code)
        if existing is None:
            row = {"code": code, **PROJECT_DEFAULTS, **values}
            to_create.append(row)
            project_changes[code] = ("create", {}, row)
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
    co_units: dict[tuple[int, str], list[int]] = {}
    done: list[tuple[int, str]] = []
    for row in checked.rows:
        if row.node is None:
            continue
        code = row.project["code"]
        project_id = project_ids[code]
        values = _node_values(row.node, row.present)
        title = row.node["title"]
        if "co_units" in row.node:
            co_units[(project_id, title)] = [_id(u) for u in row.node["co_units"]]
        matches = lookups.nodes[project_id].get(title, []) if project_id in lookups.nodes else []
        if not matches:
            extra = _done_values(row.node, clock)
            new_nodes.append({"project_id": project_id, "title": title, "version": 1, **NODE_DEFAULTS, **values, **extra})
            new_codes[(project_id, title)] = code
            if extra:
                done.append((project_id, title))
                result.nodes_done += 1
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
    created = _bulk_insert(Node, new_nodes, "project_id", "title")
    for (project_id, title), node_id in created.items():
        node_changes[new_codes[(project_id, title)]]["created"].append(node_id)
    _set_co_units(co_units, created, lookups)
    _green_for_finished(actor, [created[k] for k in done], checked, clock)

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


def _set_co_units(co_units: dict[tuple[int, str], list[int]], created: dict[tuple[int, str], int],
                  lookups: Lookups) -> None:
    """配合单位: the ledger's list replaces the node's (only where the ledger has the column)."""
    from sqlalchemy import delete

    rows = []
    for (project_id, title), unit_ids in co_units.items():
        node_id = created.get((project_id, title))
        if node_id is None:
            matches = lookups.nodes[project_id].get(title, [])
            if not matches:
                continue
            node_id = matches[0].id
            db.session.execute(delete(node_co_unit).where(node_co_unit.c.node_id == node_id))
        rows += [{"node_id": node_id, "unit_id": u} for u in dict.fromkeys(unit_ids)]
    if rows:
        db.session.execute(insert(node_co_unit), rows)


def _green_for_finished(actor: User | None, node_ids: list[int], checked: Checked, clock: Clock) -> None:
    """Rule 1 for nodes the ledger marks finished by their deadline after go-live: the office's ledger is its verification.

    Finished before go-live: no card (rule 11; ``issue_rule_card`` refuses it).
    """
    from portal.cards.services import issue_rule_card
    from portal.models.policy import policy_on

    if not node_ids:
        return
    today = clock.today()
    policy = policy_on(today)
    for node in db.session.scalars(select(Node).where(Node.id.in_(node_ids))):
        if node.submitted_on is not None and node.submitted_on <= node.deadline and node.deadline >= (checked.go_live or today):
            issue_rule_card(node, "green", today, policy, actor=actor, reason="台账导入：按时完成")
