"""Per-unit Kanban boards: the board, moving cards (drag, keyboard, sign-off queue), the sign-off application."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from portal import permissions
from portal.boards import services
from portal.boards.forms import MoveForm, SubmitForm
from portal.boards.services import Filters
from portal.core.clock import get_clock
from portal.core.errors import Refused, render_error
from portal.core.extensions import db
from portal.core.inputs import MAX_ID, arg_id, parse_int
from portal.core.security import safe_next
from portal.core.web import is_htmx, load_or_403
from portal.models import Node, Unit
from portal.models.policy import policy_on

bp = Blueprint("boards", __name__)

STALE = _l("Someone else changed this node; it now shows its latest state. Check it and try again.")


def render_board(unit: Unit, filters: Filters, *, message: str | None = None, status: int = 200):
    """The full page, or only the board when htmx asks (filters applied in place)."""
    today = get_clock().today()
    policy = policy_on(today)
    # The user itself, not Flask-Login's proxy: each card asks it a dozen things.
    actor = current_user._get_current_object()
    context = {
        "actor": actor,
        "unit": unit,
        "board": services.load_board(unit.id, filters, actor, today, policy.warn_days),
        "filters": filters,
        "today": today,
        "warn_days": policy.warn_days,
        "message": message,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "board":
        return render_template("boards/_board.html", **context), status
    leagues, loose = services.switcher_units() if permissions.can_view_all_units(current_user) else ([], [])
    return render_template(
        "boards/board.html", choices=services.filter_choices(unit.id), leagues=leagues, loose_units=loose, **context
    ), status


@bp.route("/units/<int:unit_id>/board")
@login_required
def board(unit_id: int):
    unit = load_or_403(Unit, unit_id, permissions.can_view_unit)
    return render_board(unit, Filters.from_args(request.args))


@bp.route("/boards")
@login_required
def my_board():
    """The unit switcher's target, and the way to one's own board."""
    wanted = arg_id("unit") or current_user.unit_id
    if wanted is None:
        abort(404)
    return redirect(url_for("boards.board", unit_id=wanted))


# -- one card ------------------------------------------------------------------


def _version() -> int | None:
    return parse_int(request.form.get("version"), 0, MAX_ID)


def _card_html(node: Node, message: str | None = None, level: str = "info") -> str:
    today = get_clock().today()
    actor = current_user._get_current_object()
    view = services.card_view(node, actor, today, policy_on(today).warn_days)
    html = render_template("boards/_card.html", card=view, actor=actor)
    html += render_template("boards/_message.html", message=message, level=level, oob=True)
    return html


def _card_response(node: Node, status: int, message: str | None = None, level: str = "info"):
    """The card fragment, with column counts and a message out of band."""
    filters = Filters.from_args(request.form)
    counts = render_template("boards/_counts.html", counts=services.column_counts(node.unit_id, filters), oob=True)
    return make_response(_card_html(node, message, level) + counts, status)


def _back_to(node: Node) -> str:
    return safe_next(request.form.get("next") or request.args.get("next")) or url_for("boards.board", unit_id=node.unit_id)


@bp.route("/nodes/<int:node_id>/move", methods=["GET", "POST"])
@login_required
def move(node_id: int):
    """Drag and drop, the keyboard control, the sign-off queue: one endpoint."""
    node = load_or_403(Node, node_id, permissions.can_view_node)
    if request.method == "GET":
        # The reason dialog for a drop that needs one (reject, reopen).
        target = request.args.get("status", "")
        try:
            services.check_scope(current_user, node)
            services.action_for(current_user, node, target)
        except Refused as error:
            return render_template("boards/_refusal_dialog.html", message=error.message), error.status
        return render_template("boards/_reason_dialog.html", node=node, target=target)
    target = request.form.get("status", "")
    form = MoveForm()
    if not form.validate():
        return _refused(node_id, Refused(422, form.reason.errors[0] if form.reason.errors else _("The submitted data is invalid.")))
    try:
        action = services.move(current_user, node, target, version=_version(), clock=get_clock(), reason=form.reason.data or "")
        # A drag's fragment is rendered after the flush that passed the version
        # check and before the commit: the node, its project and the user are
        # still loaded then, where after the commit each would be read again.
        fragment = _moved_fragment(node, action) if is_htmx() else None
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        return _refused(node_id, Refused(409, str(STALE)))
    except Refused as error:
        db.session.rollback()
        return _refused(node_id, error)
    if fragment is not None:
        return fragment
    flash(str(_MOVED[action]), "success")
    return redirect(_back_to(node), 303)


_MOVED = {
    "start": _l("Moved to “In progress”."), "unstart": _l("Moved back to “Not started”."), "verify": _l("Verified and signed off."),
    "reject": _l("Returned; the node is back “In progress”."), "reopen": _l("The node was reopened."),
}


def _moved_fragment(node: Node, action: str):
    if request.form.get("view") == "queue":
        return make_response(render_template("boards/_signoff_done.html", node=node, message=str(_MOVED[action])), 200)
    return _card_response(node, 200, str(_MOVED[action]), "success")


def _refused(node_id: int, error: Refused):
    node = db.session.get(Node, node_id)
    if not permissions.can_view_unit(current_user, node.unit):
        # A project contact sees this node, but not the rest of its unit's board.
        if is_htmx():
            return make_response(_card_html(node, error.message, "error"), error.status)
        return render_error(error.status, error.message)
    if request.form.get("view") == "queue" and permissions.can_manage_cards(current_user):
        # Only those who work the sign-off queue get it back; for anyone else
        # "view" is just a form field and the county-wide queue stays closed.
        if is_htmx():
            row = render_template("boards/_signoff_row.html", node=node, message=error.message, clock=get_clock())
            return make_response(row, error.status)
        return render_signoff(message=error.message, status=error.status)
    if is_htmx():
        return _card_response(node, error.status, error.message, "error")
    return render_board(node.unit, Filters(), message=error.message, status=error.status)


@bp.route("/nodes/<int:node_id>/submit", methods=["GET", "POST"])
@login_required
def submit(node_id: int):
    node = load_or_403(Node, node_id, permissions.can_view_node)
    if not permissions.can_submit_node(current_user, node):
        abort(403)
    form = SubmitForm()
    template = "boards/_submit_dialog.html" if is_htmx() else "boards/submit.html"
    if request.method == "GET":
        form.version.data = str(node.version)
        return render_template(template, node=node, form=form)
    error = None
    if form.validate():
        uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
        try:
            services.submit(current_user, node, form.note.data, uploads, version=_version(), clock=get_clock(), kind=form.kind.data)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            error = Refused(409, _("Someone else changed this node; close this, reload and submit again."))
        except Refused as refused:
            db.session.rollback()
            error = refused
        else:
            if is_htmx():
                response = _card_response(node, 200, _("Submitted for sign-off; a supervisor will verify it."), "success")
                response.headers["HX-Trigger"] = "jiedian:closeModal"
                return response
            flash(_("Submitted for sign-off; a supervisor will verify it."), "success")
            return redirect(_back_to(node), 303)
    status = error.status if error else 422
    if error:
        form.form_errors.append(error.message)
    node = db.session.get(Node, node_id)
    form.version.data = str(node.version)
    response = make_response(render_template(template, node=node, form=form), status)
    if is_htmx():
        response.headers["HX-Retarget"] = "#modal"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.route("/signoff")
@login_required
def signoff():
    """待销号: every submitted node across units, oldest submission first."""
    if not permissions.can_manage_cards(current_user):
        abort(403)
    return render_signoff()


def render_signoff(message: str | None = None, status: int = 200):
    page = render_template("boards/signoff.html", nodes=services.awaiting_signoff(), clock=get_clock(), message=message)
    return page, status
