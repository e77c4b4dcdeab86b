"""M #4: the password rule, for passwords chosen at first login, set by an administrator or on the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.admin.orgchart.applying import one_time_password
from portal.auth.passwords import password_problem
from portal.core.extensions import db
from portal.models import User
from tests import factories as f


@pytest.mark.parametrize(("username", "password", "why"), [
    ("lisi", "12345678", "10"),              # the eight characters that used to pass
    ("lisi", "short-9ch", "10"),
    ("zhangsan", "zhangsan", "10"),            # too short anyway
    ("zhangsan01", "ZhangSan01", "用户名"),   # the username itself, in any case
    ("zhangsan", "zhangsan2026", "用户名"),    # the username with a year
    ("lisi", "1234567890", "数字"),
    ("lisi", "٣٣٣٣٣٣٣٣٣٣", "数字"),
    ("lisi", "aaaaaaaaaaaa", "重复"),
    ("lisi", "qwertyuiop", "常见"),
    ("lisi", "Password2026!", "常见"),
    ("lisi", "admin@123456", "常见"),
    ("lisi", "woaini1314520", "常见"),
    ("lisi", "1qaz2wsx3edc", "常见"),
    ("lisi", "x" * 201, "200"),
])
def test_weak_passwords_are_refused_with_a_reason_in_chinese(app, username, password, why):
    with app.test_request_context("/"):
        problem = password_problem(username, password)
    assert problem is not None and why in problem, problem


@pytest.mark.parametrize("password", ["清溪县督查室2026", "blue-river-stone", "Tq7#mW2!pLx9", "long-enough-1", "a-good-password"])
def test_ordinary_good_passwords_pass(app, password):
    with app.test_request_context("/"):
        assert password_problem("lisi", password) is None


def test_one_time_passwords_keep_the_rule(app):
    with app.test_request_context("/"):
        assert all(password_problem("newcomer", one_time_password()) is None for _ in range(200))


def test_an_administrator_cannot_set_a_weak_password(app, client, auth):
    unit = f.unit("上派镇")
    f.user("admin", roles=["admin"])
    target = f.user("wang", roles=["unit_staff"], unit=unit)
    db.session.commit()
    auth.login("admin")
    base = {"username": "zhaoliu", "display_name": "赵六", "unit_id": str(unit.id), "roles": "unit_staff", "is_active": "y"}
    for password in ("12345678", "zhaoliu123", "password123"):
        response = auth.post("/admin/users/new", {**base, "password": password}, page="/admin/users/new")
        assert response.status_code == 422, password
        assert db.session.scalar(select(User).where(User.username == "zhaoliu")) is None
    edit = f"/admin/users/{target.id}/edit"
    response = auth.post(edit, {**base, "username": "wang", "password": "wang-wang-wang"}, page=edit)
    assert response.status_code == 422 and "用户名" in response.get_data(as_text=True)
    assert auth.post("/admin/users/new", {**base, "password": "清溪县督查室2026"}, page="/admin/users/new").status_code in (302, 303)


def test_the_command_line_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["users", "create", "--username", "qian", "--role", "admin", "--password-stdin"],
                           input="12345678\n")
    assert result.exit_code == 1 and "password refused" in result.output
    assert db.session.scalar(select(User).where(User.username == "qian")) is None

