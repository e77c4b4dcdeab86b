"""Authentication rules: passwords, login rate limits, server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.audit import services as audit
from portal.core.clock import get_clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.models import LoginAttempt, User, UserSession

# Refresh last_seen_at at most this often: a write per request would be waste.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class LoginResult:
    user: User | None
    locked: bool = False
    retry_minutes: int = 0


def _failures_since(column, value: str, since: datetime) -> int:
    stmt = select(func.count(LoginAttempt.id)).where(
        column == value, LoginAttempt.at >= since, LoginAttempt.is_success.is_(False)
    )
    return db.session.scalar(stmt) or 0


def authenticate(username: str, password: str, ip: str) -> LoginResult:
    """Check a password, limiting repeated failures per username and per address.

    The count lives in the database so it holds with Redis down and across
    every web process. A locked account answers "locked" even to the right
    password until the window passes.
    """
    cfg = current_app.config
    now = get_clock().now()
    window: timedelta = cfg["LOGIN_WINDOW"]
    since = now - window
    username = username.strip()
    minutes = max(1, int(window.total_seconds() // 60))
    if (
        _failures_since(LoginAttempt.username, username, since) >= cfg["LOGIN_MAX_FAILURES"]
        or (ip and _failures_since(LoginAttempt.ip, ip, since) >= cfg["LOGIN_MAX_FAILURES_PER_IP"])
    ):
        return LoginResult(None, locked=True, retry_minutes=minutes)
    user = db.session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.is_active and user.check_password(password)
    db.session.add(LoginAttempt(username=username[:40], ip=ip[:45], at=now, is_success=ok))
    return LoginResult(user if ok else None)


def start_session(user: User, ip: str, user_agent: str) -> str:
    """Open a server-side session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = get_clock().now()
    db.session.add(
        UserSession(
            id=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=ip[:45],
            user_agent=user_agent[:200],
        )
    )
    user.last_login_at = now
    return token


def log_in(user: User, ip: str, user_agent: str) -> str:
    """A successful login: a new session, audited; returns the token for the cookie."""
    token = start_session(user, ip, user_agent)
    audit.record(user, "auth.login", user, summary=user.username)
    return token


def log_out(user: User, token: str | None) -> None:
    """Logging out: the session row ends (a copied cookie is dead), audited."""
    end_session(token)
    audit.record(user, "auth.logout", user, summary=user.username)


def end_session(token: str | None) -> None:
    if not token:
        return
    row = db.session.get(UserSession, _digest(token))
    if row is not None and row.ended_at is None:
        row.ended_at = get_clock().now()


def end_all_sessions(user: User) -> None:
    """Used when an account is deactivated or its password reset."""
    now = get_clock().now()
    for row in db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ):
        row.ended_at = now


def load_session_user(token: str | None, user_id: str, on_idle=None) -> User | None:
    """The user of a live session, or None when it ended, idled out or never was.

    ``on_idle`` is called when this very request finds the session idled out,
    so the login page can say why the user has to log in again.
    """
    if not token:
        return None
    # The session, its user and the user's roles in one statement: every request asks.
    found = db.session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .options(joinedload(User.role_rows)).where(UserSession.id == _digest(token))
    ).unique().first()
    if found is None:
        return None
    row, user = found
    if row.ended_at is not None or str(row.user_id) != str(user_id):
        return None
    now = get_clock().now()
    if now - row.last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]:
        row.ended_at = now
        db.session.commit()
        if on_idle is not None:
            on_idle()
        return None
    if not user.is_active:
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return user


# -- changing one's password --------------------------------------------------------

MIN_PASSWORD, MAX_PASSWORD = 10, 200


def password_problem(username: str, password: str) -> str | None:
    """Why a chosen password is refused, or None: 10 to 200 characters, not the username, not digits only."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return _("Between %(min)d and %(max)d characters.", min=MIN_PASSWORD, max=MAX_PASSWORD)
    if password.strip().casefold() == username.casefold():
        return _("The password must not be your username.")
    if password.isdigit():
        return _("The password must not be digits only.")
    return None


def change_password(user: User, current: str, new: str, ip: str, user_agent: str) -> str:
    """A user sets their own password; returns the token of the session that replaces the current one.

    The current (or one-time) password must be right: a wrong one counts as a
    failed login for the username, so the login limit holds here too, and
    the caller commits that attempt (as the login view does; it is the only
    change a refusal leaves). Afterwards ``must_change_password`` is cleared,
    every session of the user ends (a copied cookie, a browser left logged in
    elsewhere) and a new one is opened for this browser; audited, without the
    password.
    """
    cfg = current_app.config
    now = get_clock().now()
    since = now - cfg["LOGIN_WINDOW"]
    if _failures_since(LoginAttempt.username, user.username, since) >= cfg["LOGIN_MAX_FAILURES"]:
        minutes = max(1, int(cfg["LOGIN_WINDOW"].total_seconds() // 60))
        raise Refused(429, _("Too many failed logins. Try again in %(minutes)d minutes.", minutes=minutes))
    if not user.check_password(current):
        db.session.add(LoginAttempt(username=user.username[:40], ip=ip[:45], at=now, is_success=False))
        raise Refused(422, _("The current password is wrong."))
    problem = password_problem(user.username, new)
    if problem is None and new == current:
        problem = _("Choose a new password, not the current one.")
    if problem:
        raise Refused(422, problem)
    forced = bool(user.must_change_password)
    user.set_password(new)
    user.must_change_password = False
    end_all_sessions(user)
    token = start_session(user, ip, user_agent)
    audit.record(user, "user.password_change", user, summary=user.username,
                 before={"must_change_password": forced}, after={"must_change_password": False})
    return token
