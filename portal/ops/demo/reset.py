"""Before a demo county is loaded: is the database empty, and wiping it."""

from __future__ import annotations

from sqlalchemy import select, text

from portal.core.extensions import db
from portal.models import Base, Project, Unit, User


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
    """Delete every row of every table; the schema and ``alembic_version`` stay.

    The audit log's append-only triggers are side-stepped, not removed:
    PostgreSQL's TRUNCATE fires no row triggers, and on SQLite the triggers
    are dropped and re-created inside the same transaction, so a failure
    rolls them back with everything else. The caller commits.
    """
    tables = list(reversed(Base.metadata.sorted_tables))  # children first
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
    # What the migrations seed besides the calendar: the problem types (问题类型).
    from portal.models.matter import DEFAULT_PROBLEM_TYPES, ProblemType

    db.session.add_all(ProblemType(name=name, sort_order=n, is_active=True) for n, name in enumerate(DEFAULT_PROBLEM_TYPES, 1))
    db.session.flush()
