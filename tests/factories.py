"""Small builders for test data; each adds to the session and flushes."""

from __future__ import annotations

import itertools
from datetime import date
from functools import lru_cache

from werkzeug.security import generate_password_hash

from portal.core.extensions import db
from portal.models import Category, League, Node, Project, Theme, Unit, User

PASSWORD = "password-123"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # scrypt is slow on purpose; hash the shared test password once.
    return generate_password_hash(PASSWORD, method="scrypt")


def league(name: str | None = None, **kw) -> League:
    obj = League(name=name or f"联赛{next(_seq)}", **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def unit(name: str | None = None, league: League | None = None, **kw) -> Unit:
    n = next(_seq)
    obj = Unit(name=name or f"测试单位{n}", short_name=kw.pop("short_name", f"单位{n}"), league=league, **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(username: str | None = None, roles=("unit_staff",), unit: Unit | None = None, **kw) -> User:
    username = username or f"user{next(_seq)}"
    obj = User(username=username, display_name=kw.pop("display_name", username), unit=unit, **kw)
    obj.password_hash = _password_hash()
    obj.roles = roles
    db.session.add(obj)
    db.session.flush()
    return obj


def category(name: str | None = None) -> Category:
    obj = Category(name=name or f"类别{next(_seq)}")
    db.session.add(obj)
    db.session.flush()
    return obj


def theme(name: str | None = None) -> Theme:
    obj = Theme(name=name or f"主题{next(_seq)}")
    db.session.add(obj)
    db.session.flush()
    return obj


def project(lead_unit: Unit | None = None, category: Category | None = None, year: int = 2026, **kw) -> Project:
    n = next(_seq)
    obj = Project(
        code=kw.pop("code", f"T-{n:04d}"),
        name=kw.pop("name", f"测试项目{n}"),
        category=category or globals()["category"](),
        lead_unit=lead_unit or unit(),
        year=year,
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def node(project: Project | None = None, unit: Unit | None = None, deadline: date = date(2026, 6, 30), **kw) -> Node:
    project = project or globals()["project"]()
    obj = Node(
        project=project,
        unit=unit or project.lead_unit,
        title=kw.pop("title", f"测试节点{next(_seq)}"),
        deadline=deadline,
        standard=kw.pop("standard", "以验收文件为准"),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def assignment(lead_unit: Unit, handed_out_on: date = date(2026, 6, 15), *, title: str | None = None, signed: bool = False,
               **kw):
    """A matter on the 13710 clocks (three step nodes), as ``assignments.services.hand_out`` makes it, without its notice."""
    from datetime import UTC, datetime

    from portal.models import Assignment

    n = next(_seq)
    title = title or f"交办事项{n}"
    matter = project(lead_unit=lead_unit, code=f"JB-T{n:04d}", name=title, kind="matter", start_date=handed_out_on)
    deadlines = {"receipt": date(2026, 6, 16), "feedback": date(2026, 6, 18), "resolve": date(2026, 6, 24)}
    for step, deadline in deadlines.items():
        done = signed and step == "receipt"
        node(matter, title=f"{step}：{title}", deadline=deadline, matter_step=step, status="done" if done else "todo",
             submitted_on=handed_out_on if done else None,
             submitted_at=datetime(2026, 6, 15, 2, 0, tzinfo=UTC) if done else None)
    obj = Assignment(project_id=matter.id, source=kw.pop("source", "instruction"), text=kw.pop("text", "交办内容"),
                     handed_out_on=handed_out_on, **kw)
    db.session.add(obj)
    db.session.flush()
    return obj
