"""Before a demo county is loaded: is the database empty, and wiping it."""

from __future__ import annotations

from sqlalchemy import select, text

from portal.core.extensions import db
from portal.models import Base, CalendarDay, ProblemType, Project, Unit, User

SEEDED_TABLES = {CalendarDay.__tablename__, ProblemType.__tablename__}


def has_data() -> bool:
    """True if the database holds any unit, user or project."""
    return any(
        db.session.scalar(select(model.id).limit(1)) is not None for model in (Unit, User, Project)
    )


AUDIT_GUARDS_SQLITE = {
    name: (
        f"CREATE TRIGGER {name} BEFORE {verb} ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
    )
    for name, verb in (("audit_entry_no_update", "UPDATE"), ("audit_entry_no_delete", "DELETE"))
}


def erase() -> None:
    """Delete every row of every table but the seeded ones; the schema and ``alembic_version`` stay.

    The audit log's append-only triggers are side-stepped, not removed:
    PostgreSQL's TRUNCATE fires no row triggers, and on SQLite the triggers
    are dropped and re-created inside the same transaction, so a failure
    rolls them back with everything else. The caller commits.
    """
    # What the migrations seed stays: the holiday calendar (the 13710 clocks and the grace
    # period count its working days) and the problem types.
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in SEEDED_TABLES]  # children first
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        names = ", ".join(dialect.identifier_preparer.format_table(t) for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        audit_table = Base.metadata.tables["audit_entry"]
        others = [t for t in tables if t is not audit_table]
        # A DELETE opens the transaction first: pysqlite then runs the DDL
        # below inside it instead of committing it on its own.
        db.session.execute(others[0].delete())
        for name in AUDIT_GUARDS_SQLITE:
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        db.session.execute(audit_table.delete())
        for table in others[1:]:
            db.session.execute(table.delete())
        for sql in AUDIT_GUARDS_SQLITE.values():
            db.session.execute(text(sql))
    db.session.expunge_all()
