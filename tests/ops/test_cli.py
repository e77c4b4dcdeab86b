from __future__ import annotations

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import AuditEntry, User
from tests import factories as f


def test_users_create_with_password_from_stdin(app, runner):
    f.unit("上派镇", short_name="上派")
    db.session.commit()
    result = runner.invoke(
        args=["users", "create", "--username", "wang", "--role", "unit_staff", "--unit", "上派", "--password-stdin"],
        input="a-strong-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created user wang" in result.output
    user = db.session.scalars(select(User).where(User.username == "wang")).one()
    assert user.check_password("a-strong-password") and user.unit.name == "上派镇"
    assert db.session.scalars(select(AuditEntry.action)).all() == ["user.create"]


def test_users_create_generates_a_password(app, runner):
    result = runner.invoke(args=["users", "create", "--username", "ops", "--role", "admin", "--role", "supervisor"])
    assert result.exit_code == 0
    password = result.output.split("password: ")[1].strip()
    user = db.session.scalars(select(User)).one()
    assert user.roles == {"admin", "supervisor"} and user.check_password(password)


def test_users_create_refuses_bad_input(app, runner):
    assert runner.invoke(args=["users", "create", "--username", "x", "--role", "king"]).exit_code != 0
    assert runner.invoke(args=["users", "create", "--username", "x", "--role", "admin", "--unit", "无此单位"]).exit_code != 0
    f.user("taken")
    db.session.commit()
    result = runner.invoke(args=["users", "create", "--username", "taken", "--role", "admin"])
    assert result.exit_code != 0 and "already exists" in result.output
    short = runner.invoke(args=["users", "create", "--username", "y", "--role", "admin", "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    assert db.session.scalars(select(User.username)).all() == ["taken"]
