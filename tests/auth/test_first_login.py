"""A one-time password leads to 修改密码 before anything else; every user may change their own password."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.admin import orgchart
from portal.core.extensions import db
from portal.models import AuditEntry, LoginAttempt, User, UserSession
from tests import factories as f
from tests.admin.test_orgchart import pdftotext, workbook
from tests.conftest import AuthActions

NEW_PASSWORD = "my-own-Secret-42"


@pytest.fixture
def newcomer(app, clock):
    """An account made by the organisation import: its username and one-time password (from the printed sheet)."""
    data = workbook([("乡镇联赛", "")], [("城关镇人民政府", "城关镇", "乡镇联赛", "", "")],
                    [("李明", "li.ming.2026", "城关镇", "督查", "督查专员", "13800138000", "")])
    result = orgchart.apply(None, orgchart.check(data), clock=clock)
    pdf = orgchart.passwords_pdf(result.accounts, today=clock.today())
    db.session.commit()
    (account,) = result.accounts
    text = pdftotext(pdf)
    assert account.username in text and account.password in text and "首次登录后须修改密码" in text
    return account


def _change(auth: AuthActions, current: str, new: str = NEW_PASSWORD, again: str | None = None, path: str = "/password"):
    return auth.post(path, {"current_password": current, "new_password": new,
                            "confirm_password": new if again is None else again}, page="/password")


def test_the_first_login_goes_to_the_password_page_from_any_url(app, client, auth, newcomer):
    login = auth.login(newcomer.username, newcomer.password)
    assert login.status_code == 302 and login.headers["Location"].startswith("/password")
    page = client.get("/password")
    assert page.status_code == 200 and 'name="new_password"' in page.get_data(as_text=True)
    for url in ("/", "/dashboard", "/rankings", "/notifications", "/projects", "/timeline?year=2026"):
        response = client.get(url)
        assert response.status_code == 303, url
        assert response.headers["Location"].startswith("/password"), url
    assert client.get("/dashboard").headers["Location"] == "/password?next=/dashboard"
    htmx = client.get("/dashboard", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/password")
    posted = auth.post("/notifications/read", page="/password")
    assert posted.status_code == 303 and posted.headers["Location"].startswith("/password")
    static = client.get("/static/app.css")
    assert static.status_code == 200
    static.close()


def test_changing_the_password_clears_the_flag_ends_other_sessions_and_reaches_the_workbench(app, client, auth,
                                                                                          newcomer):
    other = AuthActions(app.test_client())  # the same person logged in on another computer
    assert other.login(newcomer.username, newcomer.password).status_code == 302
    assert auth.login(newcomer.username, newcomer.password).status_code == 302
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))

    response = _change(auth, newcomer.password, path="/password?next=/rankings")
    assert response.status_code == 303 and response.headers["Location"] == "/rankings"
    user = db.session.scalar(select(User).where(User.username == newcomer.username))
    assert not user.must_change_password
    assert user.check_password(NEW_PASSWORD) and not user.check_password(newcomer.password)
    assert client.get("/rankings").status_code == 200
    home = client.get("/")
    assert home.status_code == 200 and "password" not in home.headers.get("Location", "")
    assert other.client.get("/").status_code == 302  # the other session ended
    assert "/login" in other.client.get("/").headers["Location"]
    live = db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)))
    assert live == 1

    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.id > before)).all()
    change = [e for e in entries if e.action == "user.password_change"]
    assert len(change) == 1 and change[0].actor_id == user.id
    assert change[0].before == {"must_change_password": True} and change[0].after == {"must_change_password": False}
    everything = " ".join(f"{e.summary} {e.before} {e.after}" for e in db.session.scalars(select(AuditEntry)))
    assert NEW_PASSWORD not in everything and newcomer.password not in everything

    auth.logout()
    assert auth.login(newcomer.username, newcomer.password).status_code == 401  # the one-time password is spent
    assert auth.login(newcomer.username, NEW_PASSWORD).headers["Location"] == "/"


@pytest.mark.parametrize(("current", "new", "again"), [
    ("wrong-one-time", NEW_PASSWORD, None),  # not the one-time password
    (None, "short-9ch", None),  # fewer than 10 characters
    (None, "1234567890123", None),  # digits only
    (None, NEW_PASSWORD, "something-else-42"),  # the two differ
    (None, None, None),  # the username
])
def test_a_refused_change_says_why_and_changes_nothing(app, client, auth, newcomer, current, new, again):
    if new is None:
        new = newcomer.username.upper()  # 12 characters, but the username
    auth.login(newcomer.username, newcomer.password)
    response = _change(auth, current or newcomer.password, new, again)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    said = re.findall(r'<p class="error" role="alert">([^<]+)</p>|<div class="form-errors" role="alert"><p>([^<]+)</p>', body)
    assert len(said) == 1 and any(said[0]), body[-1500:]  # one reason, beside its field or above the form
    user = db.session.scalar(select(User).where(User.username == newcomer.username))
    assert user.must_change_password and user.check_password(newcomer.password)
    assert client.get("/").headers["Location"].startswith("/password")
    failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.is_success.is_(False)))
    assert failures == (1 if current else 0)


def test_guessing_the_current_password_is_limited_like_logins(app, client, auth, newcomer):
    auth.login(newcomer.username, newcomer.password)
    statuses = [_change(auth, f"guess-{n}").status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]
    assert _change(auth, newcomer.password).status_code == 429  # even the right one, until the window passes


def test_logout_works_before_the_change(app, client, auth, newcomer):
    auth.login(newcomer.username, newcomer.password)
    token = auth.csrf("/password")
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    assert "/login" in client.get("/").headers["Location"]


def test_every_user_may_change_their_own_password(app, client, auth):
    f.user("wang", roles=["leader"])
    db.session.commit()
    auth.login("wang")
    assert client.get("/").status_code == 200  # not sent anywhere: no one-time password
    page = client.get("/password")
    assert page.status_code == 200 and 'name="current_password"' in page.get_data(as_text=True)
    response = _change(auth, f.PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # this browser's session was renewed, not ended
    auth.logout()
    assert auth.login("wang", NEW_PASSWORD).status_code == 302


def test_the_password_page_needs_a_login(client):
    response = client.get("/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
