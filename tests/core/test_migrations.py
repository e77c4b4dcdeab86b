"""The migration chain runs upgrade → downgrade → upgrade and matches the models."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from portal import create_app
from portal.core.extensions import db
from portal.models import Base
from tests.conftest import BACKEND, create_pg_database, drop_pg_database, head_revision


def _scratch_url(tmp_path) -> str:
    if BACKEND == "postgresql":
        return create_pg_database(f"jiedian_migrations_{os.getpid()}")
    return f"sqlite:///{tmp_path}/migrations.db"


def test_upgrade_downgrade_upgrade(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _scratch_url(tmp_path), "TESTING": True})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"node", "card_event", "audit_entry", "scoring_policy", "recommitment"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        db.engine.dispose()
    if BACKEND == "postgresql":
        drop_pg_database(f"jiedian_migrations_{os.getpid()}")
