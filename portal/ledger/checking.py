"""Checking a read ledger: every cell of every row, and the rows against each other and the database.

Units, categories, themes and people are looked up once; the result is the
checked rows and the row-by-row problems.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.core.extensions import db
from portal.core.forms import has_markup
from portal.ledger.columns import (
    COLUMNS,
    INDEX,
    NODE_COLUMNS,
    PROJECT_COLUMNS,
    STAGE_CODES,
    STAGE_NAMES,
    Column,
    letter,
)
from portal.ledger.reading import (
    REPORTED,
    Problem,
    _as_text,
    _Bad,
    _blank,
    _date,
    _flag,
    _integer,
    _money,
    code_of,
)
from portal.models import Category, Node, Project, Theme, Unit, User, UserRole

MISSING = object()  # a value that could not be read (its problem is already reported)


def _text(raw: Any, column: Column) -> str:
    text = _as_text(raw)
    if has_markup(text):
        raise _Bad("不能包含 HTML 标签或脚本。")
    if column.max_len and len(text) > column.max_len:
        raise _Bad(f"不能超过 {column.max_len} 个字（现有 {len(text)} 个）。")
    return text



class Lookups:
    """Everything the checks need, loaded once (no query per row)."""

    def __init__(self, codes: set[str]):
        self.categories = {c.name: c for c in db.session.scalars(select(Category))}
        self.themes = {t.name: t for t in db.session.scalars(select(Theme))}
        units = db.session.scalars(select(Unit)).all()
        self.units = {u.name: u for u in units}
        shorts: dict[str, list[Unit]] = defaultdict(list)
        for u in units:
            if u.short_name and u.short_name not in self.units:
                shorts[u.short_name].append(u)
        self.unit_shorts = shorts
        self.users = {u.username: u for u in db.session.scalars(select(User))}
        self.leaders = set(db.session.scalars(select(UserRole.user_id).where(UserRole.role == "leader")))
        self.projects: dict[str, Project] = {}
        code_list = sorted(codes)
        for start in range(0, len(code_list), 500):
            chunk = code_list[start:start + 500]
            for p in db.session.scalars(select(Project).where(Project.code.in_(chunk))):
                self.projects[p.code] = p
        self.nodes: dict[int, dict[str, list[Node]]] = defaultdict(lambda: defaultdict(list))
        ids = [p.id for p in self.projects.values()]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for n in db.session.scalars(select(Node).where(Node.project_id.in_(chunk)).order_by(Node.id)):
                self.nodes[n.project_id][n.title].append(n)

    def unit(self, name: str, current_id: int | None) -> Unit:
        found = self.units.get(name)
        if found is None:
            candidates = self.unit_shorts.get(name, [])
            if len(candidates) > 1:
                raise _Bad(f"简称“{name}”对应多个单位，请填写单位全称。")
            found = candidates[0] if candidates else None
        if found is None:
            raise _Bad(f"没有名为“{name}”的单位。")
        if not found.is_active and found.id != current_id:
            raise _Bad(f"单位“{name}”已停用。")
        return found

    def named(self, table: dict, what: str, name: str, current_id: int | None):
        found = table.get(name)
        if found is None:
            raise _Bad(f"没有名为“{name}”的{what}。")
        if not found.is_active and found.id != current_id:
            raise _Bad(f"{what}“{name}”已停用。")
        return found

    def user(self, username: str, current_id: int | None, *, leader: bool) -> User:
        found = self.users.get(username)
        if found is None:
            raise _Bad(f"没有用户名为“{username}”的账号（请填写登录用户名，不是姓名）。")
        if found.id == current_id:
            return found
        if not found.is_active_account:
            raise _Bad(f"账号“{username}”已停用。")
        if leader and found.id not in self.leaders:
            raise _Bad(f"“{username}”不是县领导账号，包保领导须为县领导。")
        if not leader and found.unit_id is None:
            raise _Bad(f"账号“{username}”不属于任何单位，不能作为责任人。")
        return found


@dataclass
class _Row:
    number: int
    project: dict[str, Any]
    node: dict[str, Any] | None  # None: a project row without a node
    ok: bool = True


@dataclass
class _Checked:
    rows: list[_Row] = field(default_factory=list)
    projects: dict[str, _Row] = field(default_factory=dict)  # code → its first row
    problems: list[Problem] = field(default_factory=list)


def _value(column: Column, raw: Any, lookups: Lookups, current: Any) -> Any:
    """The checked value of one cell; ``current`` is the existing record's value (an id for references)."""
    kind = column.kind
    if kind in ("text", "code"):
        value = _text(raw, column)
        if kind == "code" and value and not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise _Bad("只能使用字母、数字、“-”或“_”。")
        return value
    if kind == "year":
        if _blank(raw):
            return None
        year = _integer(raw)
        if year is None or not 2000 <= year <= 2100:
            raise _Bad("须为 2000 到 2100 之间的四位年份。")
        return year
    if kind == "money":
        return _money(raw)
    if kind == "date":
        return _date(raw)
    if kind == "weight":
        if _blank(raw):
            return 1
        weight = _integer(raw)
        if weight is None or not 1 <= weight <= 10:
            raise _Bad("权重须为 1 到 10 的整数。")
        return weight
    if kind == "flag":
        return _flag(raw)
    if kind == "stage":
        text = _as_text(raw)
        if not text:
            return "signed"
        if text in STAGE_CODES:
            return STAGE_CODES[text]
        if text in STAGE_NAMES:
            return text
        raise _Bad(f"须为 {'、'.join(STAGE_NAMES.values())} 之一。")
    # references by name
    name = _text(raw, column)
    if not name:
        return None
    if kind == "category":
        return lookups.named(lookups.categories, "类别", name, current)
    if kind == "theme":
        return lookups.named(lookups.themes, "时光轴主题", name, current)
    if kind == "unit":
        return lookups.unit(name, current)
    if kind == "leader":
        return lookups.user(name, current, leader=True)
    if kind == "person":
        return lookups.user(name, current, leader=False)
    raise AssertionError(kind)  # pragma: no cover


CURRENT_FIELD = {
    "category": "category_id", "theme": "theme_id", "lead_unit": "lead_unit_id",
    "lead_leader": "lead_leader_id", "unit": "unit_id", "responsible": "responsible_user_id",
}


def _comparable(value: Any) -> Any:
    return value.id if hasattr(value, "id") else value


def check_rows(rows: list[tuple[int, list[Any]]], lookups: Lookups) -> _Checked:
    """Check every cell of every row and the rows against each other and the database."""
    out = _Checked()
    seen_nodes: dict[tuple[str, str], int] = {}

    def problem(row: int, column: Column, message: str) -> None:
        out.problems.append(Problem(message, row, column.header, letter(INDEX[column.key])))

    for number, raw in rows:
        code = code_of(raw[0])
        existing = lookups.projects.get(code)
        row = _Row(number, {}, {})
        has_node = not all(_blank(raw[INDEX[c.key]]) for c in NODE_COLUMNS)
        for column in COLUMNS:
            if not column.project and not has_node:
                continue
            target = row.project if column.project else row.node
            cell = raw[INDEX[column.key]]
            current = None
            if column.key in CURRENT_FIELD and existing is not None:
                if column.project:
                    current = getattr(existing, CURRENT_FIELD[column.key])
                else:
                    title = _as_text(raw[INDEX["title"]]) if isinstance(raw[INDEX["title"]], str) else None
                    matches = lookups.nodes[existing.id].get(title or "", []) if title else []
                    current = getattr(matches[0], CURRENT_FIELD[column.key]) if len(matches) == 1 else None
            if cell is REPORTED:
                target[column.key] = MISSING
                row.ok = False
                continue
            try:
                value = _value(column, cell, lookups, current)
            except _Bad as bad:
                problem(number, column, str(bad))
                target[column.key] = MISSING
                row.ok = False
                continue
            if column.required and value in (None, ""):
                problem(number, column, "必填，不能为空。")
                target[column.key] = MISSING
                row.ok = False
                continue
            target[column.key] = value
        if not has_node:
            row.node = None
        project, node = row.project, row.node

        start, end = project.get("start_date"), project.get("end_date")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            problem(number, COLUMNS[INDEX["end_date"]], "结束日期不能早于开始日期。")
            row.ok = False
        year = project.get("year")
        if node is not None and isinstance(year, int):
            deadline = node.get("deadline")
            if isinstance(deadline, date) and deadline.year != year:
                problem(number, COLUMNS[INDEX["deadline"]],
                        f"完成时限 {deadline.isoformat()} 不在项目年度（{year} 年）内。")
                row.ok = False

        # The same project on several rows must say the same thing on each.
        if isinstance(project.get("code"), str) and project["code"]:
            first = out.projects.get(project["code"])
            if first is None:
                out.projects[project["code"]] = row
            else:
                for column in PROJECT_COLUMNS[1:]:
                    a, b = first.project.get(column.key), project.get(column.key)
                    if a is MISSING or b is MISSING:
                        continue
                    if _comparable(a) != _comparable(b):
                        problem(number, column, f"与第 {first.number} 行同一项目编号“{project['code']}”的"
                                f"“{column.header}”不一致；同一项目各行的项目信息须相同。")
                        row.ok = False
            if node is not None and isinstance(node.get("title"), str) and node["title"]:
                key = (project["code"], node["title"])
                if key in seen_nodes:
                    problem(number, COLUMNS[INDEX["title"]],
                            f"与第 {seen_nodes[key]} 行重复：同一项目中节点名称不能重复。")
                    row.ok = False
                else:
                    seen_nodes[key] = number
                if existing is not None and len(lookups.nodes[existing.id].get(node["title"], [])) > 1:
                    problem(number, COLUMNS[INDEX["title"]],
                            f"系统中该项目已有多个名为“{node['title']}”的节点，无法确定更新哪一个；请先在系统中改名。")
                    row.ok = False
        out.rows.append(row)

    # A changed project year must still hold the project's nodes that the file leaves alone.
    for code, first in out.projects.items():
        existing = lookups.projects.get(code)
        year = first.project.get("year")
        if existing is None or not isinstance(year, int) or year == existing.year:
            continue
        in_file = {r.node["title"] for r in out.rows
                   if r.node is not None and r.project.get("code") == code and isinstance(r.node.get("title"), str)}
        for title, nodes in lookups.nodes[existing.id].items():
            for n in nodes:
                if title not in in_file and n.deadline.year != year:
                    problem(first.number, COLUMNS[INDEX["year"]],
                            f"项目年度改为 {year} 年后，系统中该项目的节点“{title}”（完成时限 "
                            f"{n.deadline.isoformat()}）将不在年度内；请在文件中一并调整该节点。")
    out.problems.sort(key=lambda p: (p.row or 0, INDEX.get(key_of(p.column), 99)))
    return out


def key_of(header: str | None) -> str:
    for column in COLUMNS:
        if column.header == header:
            return column.key
    return ""

