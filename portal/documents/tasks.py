"""Documents built in the background: bulletins, and the weekly ranking every Monday."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from jobs.context import app_context
from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.periods import period_bounds, period_label
from portal.documents import services
from portal.models import Document, User, UserRole
from portal.notifications import services as notify


def weekly_ranking() -> dict:
    """Monday 08:00: publish last week's league ranking for the leaders, once per week."""
    with app_context():
        clock = get_clock()
        start, end = period_bounds("week", clock.today() - timedelta(days=7))
        existing = db.session.scalar(
            select(Document).where(Document.kind == "ranking", Document.period == "week",
                                   Document.period_start == start, Document.state == "published")
        )
        if existing is not None:
            return {"document_id": existing.id, "doc_number": existing.doc_number, "new": False}
        document = Document(kind="ranking", title=f"{period_label('week', start, end)}节点工作联赛排名",
                            year=start.year if start.isocalendar().year == start.year else end.year,
                            period="week", period_start=start, period_end=end, params={}, state="building",
                            created_at=clock.now())
        db.session.add(document)
        db.session.flush()
        services.publish_with_retry(None, document, lambda d: services.ranking_pdf("week", start, d.doc_number, clock=clock),
                                    clock=clock)
        leaders = db.session.scalars(
            select(User.id).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == "leader", User.is_active_account)
        ).all()
        notify.send(leaders, "document.ranking", f"{document.title}已发布（{document.doc_number}）",
                    link=f"/documents/{document.id}/download", key=f"ranking:{start.isoformat()}", now=clock.now())
        db.session.commit()
        return {"document_id": document.id, "doc_number": document.doc_number, "new": True}


def build_bulletin(document_id: int, run_id: int | None = None) -> dict:
    """Render, number and archive a bulletin; progress is written to its job run."""
    with app_context():
        document = services.build_bulletin(document_id, run_id, clock=get_clock())
        return {"document_id": document.id, "doc_number": document.doc_number}
