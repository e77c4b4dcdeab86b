"""Engine-level settings that SQLAlchemy does not set for us."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal.extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, and WAL lets the web process
    # read while a worker writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def is_unique_violation(error: Exception) -> bool:
    """True when an IntegrityError comes from a UNIQUE constraint (either database)."""
    text = str(getattr(error, "orig", error)).lower()
    return "unique" in text or "duplicate key" in text
