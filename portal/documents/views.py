"""Documents: interview notices, bulletins, the ranking PDF, ledgers, and the archive."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import permissions
from portal.core.clock import get_clock
from portal.core.errors import Refused, render_error
from portal.core.extensions import db
from portal.core.periods import last_complete
from portal.core.web import load_or_403, period_args
from portal.documents import services
from portal.documents.forms import BulletinForm, BulletinTextForm
from portal.models import Document, Interview, Project, Unit

bp = Blueprint("documents", __name__)


def _pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF shown in the browser (private, no-store like every answer: core.security)."""
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f"inline; filename=\"{filename}\""})


@bp.route("/documents")
@login_required
def index():
    kind = request.args.get("kind") or None
    return render_template("documents/index.html", rows=services.published_for(current_user, kind), kind=kind,
                           clock=get_clock())


@bp.route("/documents/<int:document_id>/download")
@login_required
def download(document_id: int):
    document = db.get_or_404(Document, document_id)
    if document.state != "published":
        abort(404)
    if not services.may_read(current_user, document):
        abort(403)
    return _pdf_response(services.archived_bytes(document), f"{document.kind}-{document.id}.pdf")


@bp.route("/interviews/<int:interview_id>/notice.pdf")
@login_required
def interview_notice(interview_id: int):
    """The printable 约谈通知 as issued: reading it changes nothing (issuing is a POST)."""
    interview = load_or_403(Interview, interview_id, permissions.can_view_interview)
    try:
        notice = services.issued_notice(interview)
    except Refused as refusal:
        return render_error(refusal.status, refusal.message)
    return _pdf_response(services.archived_bytes(notice), f"notice-{interview.id}.pdf")


@bp.route("/interviews/<int:interview_id>/notice", methods=["POST"])
@login_required
def issue_notice(interview_id: int):
    """签发约谈通知: numbered and archived here, then shown (POST → redirect → GET)."""
    interview = load_or_403(Interview, interview_id, permissions.can_view_interview)
    try:
        services.issue_notice(current_user, interview, clock=get_clock())
        db.session.commit()
    except Refused as refusal:
        db.session.rollback()
        return render_error(refusal.status, refusal.message)
    return redirect(url_for("documents.interview_notice", interview_id=interview.id), 303)


@bp.route("/units/<int:unit_id>/ledger.pdf")
@login_required
def unit_ledger(unit_id: int):
    unit = load_or_403(Unit, unit_id, permissions.can_view_unit)
    return _pdf_response(services.unit_ledger_pdf(unit, clock=get_clock()), "ledger.pdf")


@bp.route("/projects/<int:project_id>/ledger.pdf")
@login_required
def project_ledger(project_id: int):
    project = load_or_403(Project, project_id, permissions.can_view_project)
    return _pdf_response(services.project_ledger_pdf(project, clock=get_clock()), "ledger.pdf")


@bp.route("/rankings/export.pdf")
@login_required
def ranking_pdf():
    """The league ranking as printed for leaders (SPEC section 6: same arguments and default as /rankings)."""
    parsed, error = period_args(last_complete)
    if error:
        return error
    kind, day = parsed
    pdf = services.ranking_pdf(kind, day, clock=get_clock())
    return _pdf_response(pdf, f"ranking-{kind}-{day.isoformat()}.pdf")


# -- bulletins ------------------------------------------------------------------


def _bulletins_page(errors: list[str], status: int = 200):
    clock = get_clock()
    return render_template("documents/bulletins.html", rows=services.bulletins_for(current_user), clock=clock,
                           today=clock.today(), errors=errors), status


@bp.route("/bulletins", methods=["GET", "POST"])
@login_required
def bulletins():
    if request.method == "GET":
        return _bulletins_page([])
    if not permissions.can_manage_cards(current_user):
        abort(403)
    clock = get_clock()
    form = BulletinForm()
    errors = form.check(clock.today())
    if errors:
        return _bulletins_page(errors, 422)
    document = services.draft_bulletin(current_user, form.period.data, form.day, form.start_day, form.end_day,
                                       form.title.data or "", form.body.data or "", clock=clock)
    db.session.commit()
    return redirect(url_for("documents.bulletin", document_id=document.id), 303)


def _bulletin_or_404(document_id: int) -> Document:
    document = db.get_or_404(Document, document_id)
    if document.kind != "bulletin":
        abort(404)
    if document.state != "published" and not permissions.can_manage_cards(current_user):
        abort(403)
    return document


def _status_context(document: Document) -> dict:
    run = services.latest_run(document)
    return {"document": document, "run": run, "lost": services.build_lost(document, run), "clock": get_clock()}


@bp.route("/bulletins/<int:document_id>")
@login_required
def bulletin(document_id: int):
    document = _bulletin_or_404(document_id)
    return render_template("documents/bulletin_page.html", **_status_context(document))


@bp.route("/bulletins/<int:document_id>/text", methods=["POST"])
@login_required
def bulletin_text(document_id: int):
    """The office edits a draft's lead paragraph and remarks before numbering it (POST → redirect)."""
    document = _bulletin_or_404(document_id)
    form = BulletinTextForm()
    errors = form.check()
    if errors:
        return render_template("documents/bulletin_page.html", errors=errors, text_form=form,
                               **_status_context(document)), 422
    try:
        services.edit_bulletin(current_user, document, form.lead.data or "", form.body.data or "")
        db.session.commit()
    except Refused as refusal:
        db.session.rollback()
        return render_error(refusal.status, refusal.message)
    flash(_("Saved."), "success")
    return redirect(url_for("documents.bulletin", document_id=document.id), 303)


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
    pdf = services.render_bulletin(document, "（草稿，未编号）", clock=get_clock())
    return _pdf_response(pdf, f"bulletin-draft-{document.id}.pdf")


@bp.route("/bulletins/<int:document_id>/publish", methods=["POST"])
@login_required
def publish(document_id: int):
    document = _bulletin_or_404(document_id)
    if not permissions.can_manage_cards(current_user):
        abort(403)
    outcome = services.request_publication(current_user, document, clock=get_clock())
    # Enqueued: no flash; the status box says it is being built and turns into the download link.
    if outcome == "busy":
        flash(_("This bulletin is being issued or has been issued."), "info")
    elif outcome == "inline":
        flash(_("The job queue is unavailable; the bulletin was generated directly."), "success")
    return redirect(url_for("documents.bulletin", document_id=document.id), 303)
