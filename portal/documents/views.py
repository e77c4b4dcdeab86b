"""Documents: interview notices, bulletins, ledgers, and the archive."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from jobs.connection import get_redis
from jobs.faults import pause_point
from jobs.queue import QueueUnavailable, enqueue
from portal import audit, permissions
from portal.clock import get_clock
from portal.documents import content
from portal.documents.render import render_pdf
from portal.documents.services import archived_bytes, office_name, publish_with_retry
from portal.extensions import db
from portal.forms import _TAG
from portal.models import Document, Interview, JobRun, Project, Unit, User
from portal.rankings.services import period_bounds, period_label

bp = Blueprint("documents", __name__)


def _pdf_response(pdf: bytes, filename: str) -> Response:
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=\"{filename}\"", "Cache-Control": "no-store"})


def _may_read(document: Document) -> bool:
    if document.kind == "notice":
        interview = _notice_interview(document)
        return interview is not None and _may_read_notice(interview)
    return True  # rankings and bulletins are public within the portal


def _notice_interview(document: Document) -> Interview | None:
    """The interview a notice was issued for, whether it is the current notice or one reissued since."""
    interview_id = (document.params or {}).get("interview_id")
    if interview_id is not None:
        return db.session.get(Interview, interview_id)
    return db.session.scalar(select(Interview).where(Interview.notice_document_id == document.id))


def _may_read_notice(interview: Interview) -> bool:
    return permissions.can_view_interview(current_user, interview)


@bp.route("/documents")
@login_required
def index():
    kind = request.args.get("kind") or None
    stmt = select(Document).where(Document.state == "published").order_by(Document.published_at.desc(), Document.id.desc())
    if kind:
        stmt = stmt.where(Document.kind == kind)
    documents = db.session.scalars(stmt.limit(200)).all()
    # The notices' interviews in one query, not one per notice: held here, so
    # the session (which holds objects weakly) finds them when _may_read asks.
    interview_ids = {(d.params or {}).get("interview_id") for d in documents if d.kind == "notice"} - {None}
    _held = db.session.scalars(select(Interview).where(Interview.id.in_(interview_ids))).all() if interview_ids else []
    rows = [d for d in documents if _may_read(d)]
    return render_template("documents/index.html", rows=rows, kind=kind, clock=get_clock())


@bp.route("/documents/<int:document_id>/download")
@login_required
def download(document_id: int):
    document = db.get_or_404(Document, document_id)
    if document.state != "published":
        abort(404)
    if not _may_read(document):
        abort(403)
    return _pdf_response(archived_bytes(document), f"{document.kind}-{document.id}.pdf")


# -- interview notices ----------------------------------------------------------


def _fingerprint(interview: Interview) -> str:
    facts = [interview.scheduled_for.isoformat() if interview.scheduled_for else "", interview.place,
             interview.interviewer_name, interview.bring, sorted(c.id for c in interview.cards)]
    return hashlib.sha256(json.dumps(facts, ensure_ascii=False).encode()).hexdigest()


@bp.route("/interviews/<int:interview_id>/notice.pdf")
@login_required
def interview_notice(interview_id: int):
    """The printable 约谈通知: issued (numbered, archived) on first print, reissued if the arrangements change."""
    interview = db.get_or_404(Interview, interview_id)
    if not _may_read_notice(interview):
        abort(403)
    if interview.state not in ("scheduled", "held", "closed"):
        abort(409, description="约谈尚未安排时间和地点，暂不能印发通知。")
    current = db.session.get(Document, interview.notice_document_id) if interview.notice_document_id else None
    fingerprint = _fingerprint(interview)
    if current is None or current.params.get("fingerprint") != fingerprint:
        if not permissions.can_manage_cards(current_user):
            abort(404, description="约谈通知尚未印发。")
        clock = get_clock()
        document = Document(kind="notice", title=f"关于对{interview.unit.name}进行{_trigger_word(interview)}约谈的通知",
                            year=clock.today().year, period="adhoc", params={"fingerprint": fingerprint, "interview_id": interview.id},
                            state="building", created_by_id=current_user.id, created_at=clock.now())
        db.session.add(document)
        db.session.flush()
        context = content.notice_context(interview)
        publish_with_retry(current_user, document, lambda d: render_pdf(
            "documents/notice.html", title=d.title, office=office_name(), doc_number=d.doc_number,
            issued_on=clock.today(), clock=clock, **context), clock=clock)
        before = {"notice_document_id": interview.notice_document_id}
        interview.notice_document_id = document.id
        audit.record(current_user, "interview.notice", interview, summary=document.doc_number, before=before,
                     after={"notice_document_id": document.id})
        db.session.commit()
        current = document
    return _pdf_response(archived_bytes(current), f"notice-{interview.id}.pdf")


def _trigger_word(interview: Interview) -> str:
    return {"red": "红牌", "yellow_threshold": "黄牌"}.get(interview.trigger, "")


# -- ledgers --------------------------------------------------------------------


def _ledger(title: str, nodes) -> Response:
    clock = get_clock()
    pdf = render_pdf("documents/ledger.html", title=title, office=office_name(), doc_number=None,
                     issued_on=clock.today(), nodes=nodes, clock=clock)
    return _pdf_response(pdf, "ledger.pdf")


@bp.route("/units/<int:unit_id>/ledger.pdf")
@login_required
def unit_ledger(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    if not permissions.can_view_unit(current_user, unit):
        abort(403)
    return _ledger(f"{unit.name}节点工作台账", content.ledger_nodes(unit=unit))


@bp.route("/projects/<int:project_id>/ledger.pdf")
@login_required
def project_ledger(project_id: int):
    project = db.get_or_404(Project, project_id)
    if not permissions.can_view_project(current_user, project):
        abort(403)
    return _ledger(f"{project.name}节点台账", content.ledger_nodes(project=project))


# -- bulletins ------------------------------------------------------------------

BULLETIN_PERIODS = ("week", "month", "adhoc")


def _bulletin_period(document: Document) -> tuple[date, date, str | None]:
    ranking = document.period if document.period in ("week", "month") else None
    return document.period_start, document.period_end, ranking


def _render_bulletin(document: Document, doc_number: str | None) -> bytes:
    clock = get_clock()
    start, end, ranking = _bulletin_period(document)
    return render_pdf("documents/bulletin.html", title=document.title, office=office_name(), doc_number=doc_number,
                      issued_on=clock.today(), document=document, start=start, end=end, clock=clock,
                      **content.bulletin_context(start, end, ranking))


def publish_bulletin(document_id: int, progress=lambda percent, message: None) -> Document:
    """Number, render and archive a bulletin; the caller commits."""
    document = db.session.get(Document, document_id)
    if document is None or document.kind != "bulletin":
        raise LookupError(f"no bulletin {document_id}")
    if document.state == "published":
        return document
    progress(20, "正在汇总数据、排版")  # committed by the job, before numbering opens a transaction
    # Hold the row until the job commits. A second build of the same bulletin
    # (its enqueue timed out after Redis had taken the job, so the request
    # built it too) waits here and then finds it published, instead of
    # numbering it again. PostgreSQL locks the row; SQLite takes no row locks.
    document = db.session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document.state == "published":
        return document
    actor = db.session.get(User, document.created_by_id) if document.created_by_id else None

    def render(d: Document) -> bytes:
        pdf = _render_bulletin(d, d.doc_number)
        pause_point("bulletin")  # fault tests kill the work horse here: numbered and rendered, nothing archived or committed
        return pdf

    publish_with_retry(actor, document, render, clock=get_clock())
    pause_point("bulletin_archived")  # and here: archived under its SHA-256, the row not yet committed
    return document


@bp.route("/bulletins", methods=["GET", "POST"])
@login_required
def bulletins():
    if request.method == "POST":
        if not permissions.can_manage_cards(current_user):
            abort(403)
        return _create_bulletin()
    rows = db.session.scalars(select(Document).where(Document.kind == "bulletin").order_by(Document.id.desc()).limit(100)).all()
    rows = [d for d in rows if d.state == "published" or permissions.can_manage_cards(current_user)]
    return render_template("documents/bulletins.html", rows=rows, clock=get_clock(), today=get_clock().today(), errors=[])


def _create_bulletin():
    clock = get_clock()
    period = request.form.get("period", "")
    errors = []
    if period not in BULLETIN_PERIODS:
        errors.append("请选择通报类型（周报、月报或专项通报）。")
    try:
        day = date.fromisoformat(request.form.get("date") or clock.today().isoformat())
        start = date.fromisoformat(request.form["start"]) if period == "adhoc" else None
        end = date.fromisoformat(request.form["end"]) if period == "adhoc" else None
    except (KeyError, ValueError):
        errors.append("日期须为 YYYY-MM-DD 格式。")
        day = start = end = None
    remarks = (request.form.get("body") or "").strip()
    if len(remarks) > 4000:
        errors.append("通报正文最多 4000 个字符。")
    if _TAG.search(remarks) or _TAG.search(request.form.get("title") or ""):
        errors.append("不能包含 HTML 标签或脚本。")
    if not errors and period == "adhoc" and (start is None or end is None or end < start):
        errors.append("专项通报须填写起止日期，且结束日期不早于开始日期。")
    if errors:
        rows = db.session.scalars(select(Document).where(Document.kind == "bulletin").order_by(Document.id.desc()).limit(100)).all()
        return render_template("documents/bulletins.html", rows=rows, clock=clock, today=clock.today(), errors=errors), 422
    if period != "adhoc":
        start, end = period_bounds(period, day)
    span = f"{start.isoformat()}至{end.isoformat()}" if period == "adhoc" else period_label(period, start, end)
    title = (request.form.get("title") or "").strip()[:200] or f"关于{span}节点工作情况的通报"
    document = Document(kind="bulletin", title=title, year=clock.today().year, period=period, period_start=start,
                        period_end=end, body=remarks, params={}, state="draft", created_by_id=current_user.id,
                        created_at=clock.now())
    db.session.add(document)
    db.session.flush()
    audit.record(current_user, "document.draft_bulletin", document, summary=title)
    db.session.commit()
    return redirect(url_for("documents.bulletin", document_id=document.id), 303)


def _bulletin_or_404(document_id: int) -> Document:
    document = db.get_or_404(Document, document_id)
    if document.kind != "bulletin":
        abort(404)
    if document.state != "published" and not permissions.can_manage_cards(current_user):
        abort(403)
    return document


def _latest_run(document: Document) -> JobRun | None:
    return db.session.scalars(
        select(JobRun).where(JobRun.kind == "bulletin", JobRun.params["document_id"].as_integer() == document.id)
        .order_by(JobRun.id.desc())
    ).first()


def _build_lost(document: Document, run: JobRun | None) -> bool:
    """A bulletin left "building" by a job that is gone or failed for good.

    A work horse killed on its last retry, or a Redis restarted without its
    append-only file, leaves the row claimed with nothing left to finish it.
    While Redis does not answer nobody can tell, so the build is presumed alive.
    """
    if document.state != "building":
        return False
    if run is None or not run.job_id:
        return True
    try:
        job = Job.fetch(run.job_id, connection=get_redis())
        return job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    except NoSuchJobError:
        return True
    except (RedisError, OSError):
        return False


def _status_context(document: Document) -> dict:
    run = _latest_run(document)
    return {"document": document, "run": run, "lost": _build_lost(document, run), "clock": get_clock()}


@bp.route("/bulletins/<int:document_id>")
@login_required
def bulletin(document_id: int):
    document = _bulletin_or_404(document_id)
    return render_template("documents/bulletin_page.html", **_status_context(document))


@bp.route("/bulletins/<int:document_id>/status")
@login_required
def bulletin_status(document_id: int):
    document = _bulletin_or_404(document_id)
    return render_template("documents/_bulletin_status.html", **_status_context(document))


@bp.route("/bulletins/<int:document_id>/preview.pdf")
@login_required
def bulletin_preview(document_id: int):
    document = _bulletin_or_404(document_id)
    if document.state == "published":
        return redirect(url_for("documents.download", document_id=document.id))
    return _pdf_response(_render_bulletin(document, "（草稿，未编号）"), f"bulletin-draft-{document.id}.pdf")


@bp.route("/bulletins/<int:document_id>/publish", methods=["POST"])
@login_required
def publish(document_id: int):
    document = _bulletin_or_404(document_id)
    if not permissions.can_manage_cards(current_user):
        abort(403)
    previous = _latest_run(document)
    if document.state == "published" or (document.state == "building" and not _build_lost(document, previous)):
        flash("该通报已在印发中或已印发。", "info")
        return redirect(url_for("documents.bulletin", document_id=document.id), 303)
    clock = get_clock()
    if document.state == "building" and previous is not None and previous.state in ("queued", "running"):
        previous.state, previous.finished_at = "failed", clock.now()
        previous.message = "生成任务已中断（工作进程终止或任务队列丢失），已重新印发。"
    document.state = "building"
    run = JobRun(kind="bulletin", params={"document_id": document.id}, state="queued", created_by_id=current_user.id,
                 created_at=clock.now())
    db.session.add(run)
    db.session.flush()
    run.job_id = f"bulletin-{run.id}-{secrets.token_hex(4)}"  # unique even across databases sharing a Redis
    audit.record(current_user, "document.publish_requested", document, summary=document.title)
    db.session.commit()
    try:
        # No flash: the status box says it is being built and turns into the download link (a flash would go stale).
        enqueue("jobs.documents.build_bulletin", document.id, run.id, job_id=run.job_id, queue="reports", timeout=900,
                description=f"bulletin {document.id}")
    except QueueUnavailable:
        # No queue: build it here and now rather than leave the supervisor waiting.
        from jobs.documents import build_bulletin

        build_bulletin(document.id, run.id)
        flash("任务队列不可用，已直接生成通报。", "success")
    return redirect(url_for("documents.bulletin", document_id=document.id), 303)
