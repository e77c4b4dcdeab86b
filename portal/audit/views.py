from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from portal.audit import labels
from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.inputs import arg_date, arg_id, arg_page
from portal.models import AuditEntry
from portal.permissions import can_view_audit, requires

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50


@bp.route("/audit")
@requires(can_view_audit)
def index():
    args = request.args
    stmt = select(AuditEntry)
    actor = (args.get("actor") or "").strip()
    if actor:
        stmt = stmt.where(AuditEntry.actor_name.contains(actor))
    action = (args.get("action") or "").strip()
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    object_type = (args.get("object_type") or "").strip()
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    object_id = arg_id("object_id")
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    clock = get_clock()
    start, end = arg_date("from"), arg_date("to")
    if start:
        stmt = stmt.where(AuditEntry.at >= clock.start_of(start))
    if end:
        stmt = stmt.where(AuditEntry.at < clock.start_of(end + timedelta(days=1)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = arg_page()
    rows = db.session.scalars(
        stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    object_types = [t for (t,) in db.session.execute(select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type))]
    return render_template(
        "audit/index.html",
        rows=[(e, labels.sentence(e), labels.changes(e)) for e in rows],
        actions=labels.ACTIONS,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        object_types=object_types,
        clock=clock,
    )
