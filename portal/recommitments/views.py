"""Re-commitments waiting for a leader's decision (rule 3)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import permissions
from portal.core.clock import get_clock
from portal.core.security import safe_next
from portal.core.web import apply_change, load_or_403
from portal.models import Recommitment
from portal.recommitments import services
from portal.recommitments.forms import DecisionForm

bp = Blueprint("recommitments", __name__)


def _page(form: DecisionForm, status: int = 200):
    return render_template("recommitments/index.html", requests=services.pending_for(current_user), form=form,
                           clock=get_clock()), status


@bp.route("/recommitments")
@login_required
def index():
    if not current_user.has_role("leader"):
        abort(403)
    return _page(DecisionForm(formdata=None))


@bp.route("/recommitments/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    item = load_or_403(Recommitment, request_id, lambda actor, r: permissions.can_decide_recommitment(actor, r.node))
    form = DecisionForm()
    back = safe_next(request.form.get("next")) or url_for("recommitments.index")

    def refused(status: int, message: str):
        flash(message, "error")
        return _page(form, status)

    def decided(_result):
        flash(_("Decided."), "success")
        return redirect(back, 303)

    return apply_change(
        lambda: services.decide(current_user, item, form.decision.data == "approve", form.comment.data or "", clock=get_clock()),
        form=form, refused=refused, done=decided,
    )
