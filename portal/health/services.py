"""What /healthz reports: the database and Redis, each "ok" or "unavailable"."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from jobs.connection import redis_available
from portal.core.extensions import db


def status() -> dict[str, str]:
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    return {"database": database, "redis": "ok" if redis_available() else "unavailable"}
