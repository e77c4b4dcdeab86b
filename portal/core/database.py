"""Engine-level settings that SQLAlchemy does not set for us."""

from __future__ import annotations

from sqlalchemy import Date, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.core.extensions import db


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


def lock_row(obj) -> None:
    """Take the write lock on ``obj``'s row and reload it, on either database.

    A no-op UPDATE: PostgreSQL locks the row until commit, SQLite takes its
    one write lock (waiting for another writer first). Whatever is read of
    ``obj`` afterwards is what the last writer committed, so check-then-write
    code (issue a notice unless one is current) cannot run twice in parallel.
    """
    from sqlalchemy import inspect, update

    mapper = inspect(obj).mapper
    key = mapper.primary_key[0]
    db.session.execute(update(mapper.class_).where(key == getattr(obj, key.key)).values({key.key: key}))
    db.session.refresh(obj)


def insert_ignoring_duplicates(model):
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's database.

    Both SQLite and PostgreSQL skip a row that would break any unique
    constraint or unique index (partial ones included) when no conflict
    target is named: the database decides, so concurrent writers cannot both win.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


class add_days(FunctionElement):  # noqa: N801 - reads as SQL
    """``date + n days`` in either database: ``add_days(Node.deadline, 1)``."""

    type = Date()
    inherit_cache = True
    name = "add_days"


@compiles(add_days, "postgresql")
def _add_days_pg(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"(({compiler.process(day, **kw)}) + ({compiler.process(days, **kw)})::integer)"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, ({compiler.process(days, **kw)}) || ' days')"


def in_ids(column, ids):
    """``column IN (ids)`` for a long list of integer ids, bound as one parameter.

    PostgreSQL gets an array (``= ANY(%s)``): one parameter per id cost seconds
    to bind and plan for 50,000 ids. SQLite gets a JSON list read by
    ``json_each``: it refuses a statement with more than 250,000 parameters
    (32,766 in older builds), which a province's sweep could reach.
    """
    import json

    from sqlalchemy import Integer, any_, func, literal, select
    from sqlalchemy.dialects.postgresql import ARRAY

    ids = [int(i) for i in ids]
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    listed = func.json_each(literal(json.dumps(ids))).table_valued("value")
    return column.in_(select(listed.c.value))


def report_rows(stmt) -> list:
    """The rows of a column-only SELECT as plain tuples, run on the session's connection.

    For reports over thousands of rows (10,000 units in a province): the ORM's
    per-row processing costs more than the query itself there. Same
    transaction as the session.
    """
    return db.session.connection().execute(stmt).all()
