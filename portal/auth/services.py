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
from werkzeug.security import check_password_hash

from portal.audit import services as audit
from portal.auth.passwords import password_problem
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


def _claim_attempt(username: str, ip: str) -> LoginAttempt | None:
    """Record an attempt before its password is checked; None when the limit is already reached.

    Insert first, commit, then count (the attempt itself included): of
    simultaneous guesses, the k-th to commit sees at least k rows, so no more
    than the limit ever reach the password check, on SQLite and PostgreSQL
    alike, without a lock held during the ~250 ms hash. This is the one place
    a service commits: the attempt must be visible to the other requests
    before this one goes on. A refused attempt removes its row again, so a
    lock lasts one window from the last real failure, as before.
    """
    cfg = current_app.config
    now = get_clock().now()
    since = now - cfg["LOGIN_WINDOW"]
    attempt = LoginAttempt(username=username[:40], ip=ip[:45], at=now, is_success=False)
    db.session.add(attempt)
    db.session.commit()
    if (
        _failures_since(LoginAttempt.username, attempt.username, since) > cfg["LOGIN_MAX_FAILURES"]
        or (ip and _failures_since(LoginAttempt.ip, attempt.ip, since) > cfg["LOGIN_MAX_FAILURES_PER_IP"])
    ):
        db.session.delete(attempt)
        db.session.commit()
        return None
    return attempt


_dummy_hash: str | None = None


def _password_matches(user: User | None, password: str) -> bool:
    """The password check, at the same cost whether or not the account exists or is active.

    An unknown or inactive username is checked against a hash of a random
    password made the way every real one is (User.set_password), so the time
    of the answer does not tell which usernames exist.
    """
    global _dummy_hash
    if user is not None and user.is_active:
        return user.check_password(password)
    if _dummy_hash is None:
        _dummy_hash = User.hash_password(secrets.token_urlsafe(16))
    check_password_hash(_dummy_hash, password)
    return False


def _retry_minutes() -> int:
    return max(1, int(current_app.config["LOGIN_WINDOW"].total_seconds() // 60))


def authenticate(username: str, password: str, ip: str) -> LoginResult:
    """Check a password, limiting repeated failures per username and per address.

    The count lives in the database so it holds with Redis down and across
    every web process, and it is taken after this attempt is recorded
    (``_claim_attempt``), so parallel guesses cannot slip past it. A locked
    account answers "locked" even to the right password until the window passes.
    """
    username = username.strip()
    attempt = _claim_attempt(username, ip)
    if attempt is None:
        return LoginResult(None, locked=True, retry_minutes=_retry_minutes())
    user = db.session.scalar(select(User).where(User.username == username))
    ok = _password_matches(user, password)
    attempt.is_success = ok
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


def load_session_user(token: str | None, user_id: str, on_idle=None, on_expired=None) -> User | None:
    """The user of a live session, or None when it ended, idled out, outlived SESSION_MAX_AGE or never was.

    ``on_idle`` (``on_expired``) is called when this very request finds the
    session idled out (past its absolute age), so the login page can say why
    the user has to log in again.
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
    if now - row.created_at > current_app.config["SESSION_MAX_AGE"]:
        row.ended_at = now  # the absolute limit: a session never outlives it, however busy
        db.session.commit()
        if on_expired is not None:
            on_expired()
        return None
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

def change_password(user: User, current: str, new: str, ip: str, user_agent: str) -> str:
    """A user sets their own password; returns the token of the session that replaces the current one.

    The current (or one-time) password must be right: the attempt is recorded
    before it is checked, as at login, so a wrong one counts as a failed login
    for the username and the login limit holds here too (a refusal leaves
    nothing else to commit). Afterwards ``must_change_password`` is cleared,
    every session of the user ends (a copied cookie, a browser left logged in
    elsewhere) and a new one is opened for this browser; audited, without the
    password.
    """
    attempt = _claim_attempt(user.username, ip)
    if attempt is None:
        raise Refused(429, _("Too many failed logins. Try again in %(minutes)d minutes.", minutes=_retry_minutes()))
    if not user.check_password(current):
        raise Refused(422, _("The current password is wrong."))
    attempt.is_success = True
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


def landing_url(user) -> str:
    """Where a login lands: unit staff on their unit's board (where their day's work is; the
    workbench is one click away in the top bar, with its to-do badge), everyone else on the workbench."""
    from flask import url_for

    from portal import permissions

    if user.has_role("unit_staff") and user.unit_id and not permissions.can_view_all_units(user):
        return url_for("boards.board", unit_id=user.unit_id)
    return url_for("main.home")
