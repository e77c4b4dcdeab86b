"""Housekeeping: old sessions and login attempts are not kept for ever, nor files no row refers to."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from jobs.context import app_context
from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.storage import remove_orphans
from portal.models import LoginAttempt, UserSession

KEEP = timedelta(days=90)


def purge_expired() -> dict:
    """Delete sessions that ended (or went idle) and login attempts older than 90 days,
    and stored files that no row refers to (``portal.storage``)."""
    with app_context():
        cutoff = get_clock().now() - KEEP
        sessions = db.session.execute(
            delete(UserSession).where(or_(UserSession.ended_at < cutoff, UserSession.last_seen_at < cutoff))
        ).rowcount
        attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
        db.session.commit()
        files = remove_orphans()
        db.session.commit()
        return {"sessions": sessions, "login_attempts": attempts, "orphan_files": files}
