"""A node: its page, board moves, sign-off, progress, evidence; the sign-off queue."""

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
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal import permissions
from portal.boards.services import Filters, card_view
from portal.boards.views import counts_fragment, render_board
from portal.clock import get_clock
from portal.errors import render_error
from portal.extensions import db
from portal.models import AuditEntry, Evidence, Node, Project
from portal.nodes import evidence as files
from portal.nodes import services
from portal.nodes.forms import EvidenceForm, ProgressForm, SubmitForm
from portal.nodes.services import MoveError
from portal.policy import policy_on
from portal.security import safe_next

bp = Blueprint("nodes", __name__)


def _htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _load(node_id: int) -> Node:
    node = db.get_or_404(Node, node_id)
    if not permissions.can_view_node(current_user, node):
        abort(403)
    return node


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _card_html(node: Node, message: str | None = None, level: str = "info") -> str:
    clock = get_clock()
    today = clock.today()
    view = card_view(node, today, policy_on(today).warn_days)
    html = render_template("boards/_card.html", card=view, actor=current_user._get_current_object())
    html += render_template("boards/_message.html", message=message, level=level, oob=True)
    return html


def _card_response(node: Node, status: int, message: str | None = None, level: str = "info"):
    """The card fragment, with column counts and a message out of band."""
    filters = Filters.from_args(request.form)
    body = _card_html(node, message, level) + counts_fragment(node.unit_id, filters)
    return make_response(body, status)


def _back_to(node: Node) -> str:
    return safe_next(request.form.get("next") or request.args.get("next")) or url_for("boards.board", unit_id=node.unit_id)


@bp.route("/nodes/<int:node_id>")
@login_required
def detail(node_id: int):
    return render_detail(node_id)


def render_detail(node_id: int, *, progress_form: ProgressForm | None = None, status: int = 200):
    """The node page; a refused progress entry or upload comes back on it."""
    node = db.session.scalars(
        select(Node)
        .where(Node.id == node_id)
        .options(
            joinedload(Node.project).joinedload(Project.category),
            joinedload(Node.unit),
            joinedload(Node.responsible_user),
            selectinload(Node.progress_entries),
            selectinload(Node.evidence),
            selectinload(Node.card_events),
            selectinload(Node.recommitments),
        )
    ).first()
    if node is None:
        abort(404)
    if not permissions.can_view_node(current_user, node):
        abort(403)
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "node", AuditEntry.object_id == node.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(100)
    ).all()
    clock = get_clock()
    today = clock.today()
    from portal.cards.forms import DecisionForm, ManualCardForm, RecommitForm, WithdrawForm
    from portal.recommitments.services import may_file

    pending = next((r for r in node.recommitments if r.state == "pending"), None)
    page = render_template(
        "nodes/detail.html",
        recommit_refusal=may_file(node),
        recommit_form=RecommitForm(formdata=None),
        pending=pending,
        decision_form=DecisionForm(formdata=None),
        manual_form=ManualCardForm(formdata=None),
        withdraw_form=WithdrawForm(formdata=None),
        today=today,
        node=node,
        card=card_view(node, today, policy_on(today).warn_days),
        history=history,
        progress_form=progress_form or ProgressForm(formdata=None),
        evidence_form=EvidenceForm(formdata=None),
        clock=clock,
        actor=current_user,
    )
    return page, status


@bp.route("/nodes/<int:node_id>/move", methods=["GET", "POST"])
@login_required
def move(node_id: int):
    """Drag and drop, the keyboard control, the sign-off queue: one endpoint."""
    node = _load(node_id)
    if request.method == "GET":
        # The reason dialog for a drop that needs one (reject, reopen).
        target = request.args.get("status", "")
        try:
            services.check_scope(current_user, node)
            services.action_for(current_user, node, target)
        except MoveError as error:
            return render_template("nodes/_refusal_dialog.html", message=error.message), error.status
        return render_template("nodes/_reason_dialog.html", node=node, target=target)
    target = request.form.get("status", "")
    try:
        action = services.move(current_user, node, target, version=_version(), clock=get_clock(), reason=request.form.get("reason", ""))
        # A drag's fragment is rendered after the flush that passed the version
        # check and before the commit: the node, its project and the user are
        # still loaded then, where after the commit each would be read again.
        fragment = _moved_fragment(node, action) if _htmx() else None
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        error = MoveError(409, "该节点已被他人修改，已显示最新状态，请确认后再操作。")
        return _refused(node_id, error)
    except MoveError as error:
        db.session.rollback()
        return _refused(node_id, error)
    if fragment is not None:
        return fragment
    flash(_MOVED[action], "success")
    return redirect(_back_to(node), 303)


_MOVED = {
    "start": "已移到“推进中”。", "unstart": "已移回“未启动”。", "verify": "已核验销号。",
    "reject": "已退回，节点回到“推进中”。", "reopen": "已重新打开节点。",
}


def _moved_fragment(node: Node, action: str):
    if request.form.get("view") == "queue":
        return make_response(render_template("nodes/_queue_done.html", node=node, message=_MOVED[action]), 200)
    return _card_response(node, 200, _MOVED[action], "success")


def _refused(node_id: int, error: MoveError):
    node = db.session.get(Node, node_id)
    if not permissions.can_view_unit(current_user, node.unit):
        # A project contact sees this node, but not the rest of its unit's board.
        if _htmx():
            return make_response(_card_html(node, error.message, "error"), error.status)
        return render_error(error.status, error.message)
    if request.form.get("view") == "queue" and permissions.can_manage_cards(current_user):
        # Only those who work the sign-off queue get it back; for anyone else
        # "view" is just a form field and the county-wide queue stays closed.
        if _htmx():
            row = render_template("nodes/_queue_row.html", node=node, message=error.message, clock=get_clock())
            return make_response(row, error.status)
        return render_queue(message=error.message, status=error.status)
    if _htmx():
        return _card_response(node, error.status, error.message, "error")
    return render_board(node.unit, Filters(), message=error.message, status=error.status)


@bp.route("/nodes/<int:node_id>/submit", methods=["GET", "POST"])
@login_required
def submit(node_id: int):
    node = _load(node_id)
    if not permissions.can_submit_node(current_user, node):
        abort(403)
    form = SubmitForm()
    if request.method == "GET":
        form.version.data = str(node.version)
    template = "nodes/_submit_dialog.html" if _htmx() else "nodes/submit.html"
    if request.method == "POST":
        error = None
        if form.validate():
            uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
            try:
                services.submit(current_user, node, form.note.data, uploads, version=_version(), clock=get_clock(), kind=form.kind.data)
                db.session.commit()
            except StaleDataError:
                db.session.rollback()
                error = MoveError(409, "该节点已被他人修改，请关闭后刷新再提交。")
            except MoveError as refused:
                db.session.rollback()
                error = refused
            else:
                if _htmx():
                    response = _card_response(node, 200, "已提交销号申请，等待督查核验。", "success")
                    response.headers["HX-Trigger"] = "jiedian:closeModal"
                    return response
                flash("已提交销号申请，等待督查核验。", "success")
                return redirect(_back_to(node), 303)
        status = error.status if error else 422
        if error:
            form.form_errors.append(error.message)
        node = db.session.get(Node, node_id)
        form.version.data = str(node.version)
        response = make_response(render_template(template, node=node, form=form), status)
        if _htmx():
            response.headers["HX-Retarget"] = "#modal"
            response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_template(template, node=node, form=form)


@bp.route("/nodes/<int:node_id>/progress", methods=["POST"])
@login_required
def add_progress(node_id: int):
    node = _load(node_id)
    if not permissions.can_edit_node(current_user, node):
        abort(403)
    form = ProgressForm()
    valid = form.validate()
    if valid and not (form.version.data or "").isdigit():
        form.form_errors.append(_("The form is missing its version; reload the page."))
        valid = False
    if not valid:
        if _htmx():
            return render_template("nodes/_progress_form.html", node=node, progress_form=form), 422
        return render_detail(node.id, progress_form=form, status=422)
    try:
        entry = services.add_progress(current_user, node, form.body.data, form.percent.data, version=int(form.version.data))
        db.session.commit()
    except MoveError as error:
        db.session.rollback()
        if error.status != 409:
            abort(error.status)
        # The fresh node page, with what the user typed kept and the new version to confirm it against.
        form.version.data = str(db.session.get(Node, node_id).version)
        form.form_errors.append(error.message)
        response = make_response(*render_detail(node_id, progress_form=form, status=409))
        if _htmx():
            response.headers.update({"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"})
        return response
    if _htmx():
        fresh = ProgressForm(formdata=None)
        return render_template("nodes/_progress_added.html", node=node, entry=entry, progress_form=fresh, clock=get_clock())
    flash("进展已记录。", "success")
    return redirect(url_for("nodes.detail", node_id=node.id), 303)


@bp.route("/nodes/<int:node_id>/evidence", methods=["POST"])
@login_required
def upload_evidence(node_id: int):
    node = _load(node_id)
    if not permissions.can_edit_node(current_user, node):
        abort(403)
    form = EvidenceForm()
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
    if not form.validate() or not uploads:
        flash("请选择要上传的文件。", "error")
        return redirect(url_for("nodes.detail", node_id=node.id), 303)
    try:
        services.attach(current_user, node, uploads, kind=form.kind.data)
        db.session.commit()
    except MoveError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_detail(node.id, status=error.status)
    flash("材料已上传。", "success")
    return redirect(url_for("nodes.detail", node_id=node.id), 303)


@bp.route("/evidence/<int:evidence_id>")
@login_required
def download_evidence(evidence_id: int):
    row = db.get_or_404(Evidence, evidence_id)
    _load(row.node_id)  # 403 unless the actor may see the node
    path = files.path_of(row.storage_key)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.original_name, max_age=0)


@bp.route("/signoff")
@login_required
def queue():
    """待销号: every submitted node across units, oldest submission first."""
    if not permissions.can_manage_cards(current_user):
        abort(403)
    return render_queue()


def render_queue(message: str | None = None, status: int = 200):
    nodes = db.session.scalars(
        select(Node)
        .where(Node.status == "review")
        .options(joinedload(Node.project), joinedload(Node.unit), joinedload(Node.submitted_by), selectinload(Node.evidence))
        .order_by(Node.submitted_at, Node.id)
    ).all()
    page = render_template("nodes/queue.html", nodes=nodes, clock=get_clock(), message=message)
    return page, status
