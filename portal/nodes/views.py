"""A node's page and what is done from it: progress, evidence, re-commitment, cards by hand."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import permissions
from portal.core.clock import get_clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.inputs import MAX_ID, parse_int
from portal.core.web import apply_change, is_htmx, load_or_403
from portal.models import CardEvent, Evidence, Node
from portal.models.policy import policy_on
from portal.nodes import evidence as files
from portal.nodes import services
from portal.nodes.forms import (
    EvidenceForm,
    ManualCardForm,
    ProgressForm,
    RecommitForm,
    WithdrawForm,
)

bp = Blueprint("nodes", __name__)


@bp.route("/nodes/<int:node_id>")
@login_required
def detail(node_id: int):
    return render_detail(node_id)


def render_detail(node_id: int, *, progress_form: ProgressForm | None = None, status: int = 200):
    """The node page; a refused progress entry, upload, card or re-commitment comes back on it."""
    node, history = services.node_page(node_id)
    if node is None:
        abort(404)
    if not permissions.can_view_node(current_user, node):
        abort(403)
    clock = get_clock()
    today = clock.today()
    page = render_template(
        "nodes/detail.html",
        recommit_refusal=services.may_file(node),
        recommit_form=RecommitForm(formdata=None),
        pending=next((r for r in node.recommitments if r.state == "pending"), None),
        manual_form=ManualCardForm(formdata=None),
        today=today,
        node=node,
        due_soon=node.is_due_soon(today, policy_on(today).warn_days),
        overdue_days=node.days_overdue(today),
        history=history,
        progress_form=progress_form or ProgressForm(formdata=None),
        evidence_form=EvidenceForm(formdata=None),
        clock=clock,
        actor=current_user,
    )
    return page, status


def _on_node_page(node: Node, form, change, done: str):
    """Validate, apply one service call, commit once; a refusal comes back on the node page."""

    def refused(status: int, message: str):
        flash(message, "error")
        return render_detail(node.id, status=status)

    def succeeded(_result):
        flash(done, "success")
        return redirect(url_for("nodes.detail", node_id=node.id), 303)

    return apply_change(change, form=form, refused=refused, done=succeeded)


@bp.route("/nodes/<int:node_id>/progress", methods=["POST"])
@login_required
def add_progress(node_id: int):
    node = load_or_403(Node, node_id, permissions.can_view_node)
    if not permissions.can_edit_node(current_user, node):
        abort(403)
    form = ProgressForm()
    valid = form.validate()
    version = parse_int(form.version.data, 0, MAX_ID)
    if valid and version is None:
        form.form_errors.append(_("The form is missing its version; reload the page."))
        valid = False
    if not valid:
        if is_htmx():
            return render_template("nodes/_progress_form.html", node=node, progress_form=form), 422
        return render_detail(node.id, progress_form=form, status=422)
    try:
        entry = services.add_progress(current_user, node, form.body.data, form.percent.data, version=version)
        db.session.commit()
    except Refused as error:
        db.session.rollback()
        if error.status != 409:
            abort(error.status)
        # The fresh node page, with what the user typed kept and the new version to confirm it against.
        form.version.data = str(db.session.get(Node, node_id).version)
        form.form_errors.append(error.message)
        response = make_response(*render_detail(node_id, progress_form=form, status=409))
        if is_htmx():
            response.headers.update({"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"})
        return response
    if is_htmx():
        fresh = ProgressForm(formdata=None)
        return render_template("nodes/_progress_added.html", node=node, entry=entry, progress_form=fresh, clock=get_clock())
    flash(_("Progress logged."), "success")
    return redirect(url_for("nodes.detail", node_id=node.id), 303)


@bp.route("/nodes/<int:node_id>/evidence", methods=["POST"])
@login_required
def upload_evidence(node_id: int):
    node = load_or_403(Node, node_id, permissions.can_view_node)
    if not permissions.can_edit_node(current_user, node):
        abort(403)
    form = EvidenceForm()
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
    if not form.validate() or not uploads:
        flash(_("Please choose the files to upload."), "error")
        return redirect(url_for("nodes.detail", node_id=node.id), 303)
    return _on_node_page(node, None, lambda: services.attach(current_user, node, uploads, kind=form.kind.data), _("Evidence uploaded."))


@bp.route("/evidence/<int:evidence_id>/delete", methods=["POST"])
@login_required
def remove_evidence(evidence_id: int):
    row = db.get_or_404(Evidence, evidence_id)
    node = load_or_403(Node, row.node_id, permissions.can_view_node)
    return _on_node_page(node, None, lambda: services.remove_evidence(current_user, row), _("The file was removed."))


@bp.route("/evidence/<int:evidence_id>/kind", methods=["POST"])
@login_required
def retype_evidence(evidence_id: int):
    """One file's own type (材料类型), chosen by its uploader after a batch went up under one."""
    row = db.get_or_404(Evidence, evidence_id)
    node = load_or_403(Node, row.node_id, permissions.can_view_node)
    kind = request.form.get("kind", "")
    return _on_node_page(node, None, lambda: services.retype_evidence(current_user, row, kind), _("The file's type was changed."))


@bp.route("/evidence/<int:evidence_id>")
@login_required
def download_evidence(evidence_id: int):
    row = db.get_or_404(Evidence, evidence_id)
    load_or_403(Node, row.node_id, permissions.can_view_node)
    path = files.path_of(row.storage_key)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.original_name, max_age=0)


@bp.route("/nodes/<int:node_id>/recommit", methods=["POST"])
@login_required
def recommit(node_id: int):
    """超期说明与重新承诺 (rule 3), filed by the unit from the node page."""
    node = load_or_403(Node, node_id, permissions.can_view_node)
    if not permissions.can_submit_node(current_user, node):
        abort(403)
    form = RecommitForm()
    return _on_node_page(
        node, form,
        lambda: services.file_request(current_user, node, form.reason.data, form.new_deadline.data, clock=get_clock()),
        _("The explanation and new commitment were filed; the leader in charge will decide."),
    )


@bp.route("/nodes/<int:node_id>/cards", methods=["POST"])
@login_required
def issue_card(node_id: int):
    node = load_or_403(Node, node_id, permissions.can_view_node)
    if not permissions.can_manage_cards(current_user):
        abort(403)
    form = ManualCardForm()
    return _on_node_page(
        node, form,
        lambda: services.issue_manual_card(current_user, node, form.colour.data, form.reason.data, today=get_clock().today()),
        _("Card issued."),
    )


@bp.route("/cards/<int:card_id>/withdraw", methods=["POST"])
@login_required
def withdraw_card(card_id: int):
    card = db.get_or_404(CardEvent, card_id)
    node = load_or_403(Node, card.node_id, permissions.can_view_node)
    if not permissions.can_manage_cards(current_user):
        abort(403)
    form = WithdrawForm()
    return _on_node_page(
        node, form, lambda: services.withdraw_card(current_user, card, form.reason.data, now=get_clock().now()),
        _("The card was withdrawn; it no longer counts."),
    )
