"""The audit log is append-only and readable by admins and supervisors."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from portal.audit import services as audit
from portal.audit.services import AppendOnlyError
from portal.core.extensions import db
from portal.models import AuditEntry
from tests import factories as f


def test_orm_refuses_to_change_an_entry(app):
    entry = audit.record(None, "test.action", summary="x")
    db.session.commit()
    entry.summary = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("sql", ["UPDATE audit_entry SET summary = 'x'", "DELETE FROM audit_entry"])
def test_database_refuses_to_change_an_entry(app, sql):
    audit.record(None, "test.action", summary="kept")
    db.session.commit()
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text(sql))
    assert db.session.scalar(db.select(AuditEntry.summary)) == "kept"


def test_entries_record_actor_before_after_and_address(app, client, auth):
    f.user("boss", roles=["admin"])
    db.session.commit()
    auth.login("boss")
    response = auth.post("/admin/leagues/new", {"name": "乡镇联赛", "description": "", "sort_order": "1"})
    assert response.status_code == 303
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "league.create")).one()
    assert entry.actor_name == "boss" and entry.ip == "127.0.0.1"
    assert entry.after["name"] == "乡镇联赛" and entry.before is None


def test_audit_page_filters(app, client, auth):
    f.user("sup", roles=["supervisor"])
    audit.record(None, "node.update", object_type="node", object_id=7, summary="改期")
    audit.record(None, "unit.update", object_type="unit", object_id=3, summary="更名")
    db.session.commit()
    auth.login("sup")
    html = client.get("/audit?object_type=node").get_data(as_text=True)
    assert "改期" in html and "更名" not in html
    html = client.get("/audit?action=unit.").get_data(as_text=True)
    assert "更名" in html and "改期" not in html
    html = client.get("/audit?from=2026-06-15&to=2026-06-15").get_data(as_text=True)
    assert "改期" in html
    html = client.get("/audit?from=2026-06-16").get_data(as_text=True)
    assert "改期" not in html
