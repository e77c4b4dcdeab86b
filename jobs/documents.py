"""Scheduled and long-running documents."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from jobs.context import app_context
from portal import notify
from portal.clock import get_clock
from portal.extensions import db
from portal.models import Document, User, UserRole


def weekly_ranking() -> dict:
    """Monday 08:00: publish last week's league ranking for the leaders, once per week."""
    with app_context():
        from portal.documents.services import publish_with_retry
        from portal.rankings.services import period_bounds, period_label
        from portal.rankings.views import ranking_pdf

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
        publish_with_retry(None, document, lambda d: ranking_pdf("week", start, d.doc_number), clock=clock)
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
        from portal.documents.views import publish_bulletin
        from portal.models import JobRun

        clock = get_clock()
        run = db.session.get(JobRun, run_id) if run_id else None

        def progress(percent: int, message: str) -> None:
            if run is not None:
                run.state, run.progress, run.message = "running", percent, message
                run.started_at = run.started_at or clock.now()
                db.session.commit()

        try:
            document = publish_bulletin(document_id, progress=progress)
            if run is not None:
                run.state, run.progress, run.finished_at = "finished", 100, clock.now()
                run.result = {"document_id": document.id, "doc_number": document.doc_number}
                run.message = document.doc_number
            db.session.commit()
            return {"document_id": document.id, "doc_number": document.doc_number}
        except Exception as error:
            db.session.rollback()
            document = db.session.get(Document, document_id)
            if document is not None and document.state == "building":
                document.state = "draft"
            if run is not None:
                run = db.session.get(JobRun, run_id)
                run.state, run.finished_at, run.message = "failed", clock.now(), str(error)[:500]
            db.session.commit()
            raise
