"""Re-commitments (units file, leaders decide) and cards by hand (supervisors)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import permissions
from portal.cards.forms import DecisionForm, ManualCardForm, RecommitForm, WithdrawForm
from portal.cards.services import issue_manual_card, withdraw_card
from portal.clock import get_clock
from portal.errors import Refused
from portal.extensions import db
from portal.models import CardEvent, Node, Recommitment
from portal.nodes.views import render_detail
from portal.recommitments import services as recommit
from portal.recommitments.services import RecommitError
from portal.security import safe_next

bp = Blueprint("cards", __name__)


def _node(node_id: int) -> Node:
    node = db.get_or_404(Node, node_id)
    if not permissions.can_view_node(current_user, node):
        abort(403)
    return node


def _form_errors(form) -> str:
    return "；".join(str(e) for errors in form.errors.values() for e in errors)


def _change_node(node: Node, form, change, done: str):
    """Validate, apply one service call, commit once; a refusal comes back on the node page."""
    if not form.validate():
        flash(_form_errors(form), "error")
        return render_detail(node.id, status=422)
    try:
        change()
        db.session.commit()
    except Refused as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_detail(node.id, status=error.status)
    flash(done, "success")
    return redirect(url_for("nodes.detail", node_id=node.id), 303)


@bp.route("/nodes/<int:node_id>/recommit", methods=["POST"])
@login_required
def file_recommitment(node_id: int):
    node = _node(node_id)
    if not permissions.can_submit_node(current_user, node):
        abort(403)
    form = RecommitForm()
    return _change_node(
        node, form,
        lambda: recommit.file_request(current_user, node, form.reason.data, form.new_deadline.data, clock=get_clock()),
        "已提交超期说明和重新承诺，等待分管领导审定。",
    )


@bp.route("/recommitments")
@login_required
def queue():
    if not current_user.has_role("leader"):
        abort(403)
    return render_template("cards/recommitments.html", requests=recommit.pending_for(current_user),
                           form=DecisionForm(formdata=None), clock=get_clock())


@bp.route("/recommitments/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    item = db.get_or_404(Recommitment, request_id)
    if not permissions.can_decide_recommitment(current_user, item.node):
        abort(403)
    form = DecisionForm()
    back = safe_next(request.form.get("next")) or url_for("cards.queue")
    if not form.validate():
        flash(_form_errors(form), "error")
        return render_template("cards/recommitments.html", requests=recommit.pending_for(current_user), form=form, clock=get_clock()), 422
    try:
        recommit.decide(current_user, item, form.decision.data == "approve", form.comment.data or "", clock=get_clock())
        db.session.commit()
    except RecommitError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_template("cards/recommitments.html", requests=recommit.pending_for(current_user), form=form, clock=get_clock()), error.status
    flash("已审定。", "success")
    return redirect(back, 303)


@bp.route("/nodes/<int:node_id>/cards", methods=["POST"])
@login_required
def issue(node_id: int):
    node = _node(node_id)
    if not permissions.can_manage_cards(current_user):
        abort(403)
    form = ManualCardForm()
    return _change_node(
        node, form,
        lambda: issue_manual_card(current_user, node, form.colour.data, form.reason.data, today=get_clock().today()),
        "已记牌。",
    )


@bp.route("/cards/<int:card_id>/withdraw", methods=["POST"])
@login_required
def withdraw(card_id: int):
    card = db.get_or_404(CardEvent, card_id)
    node = _node(card.node_id)
    if not permissions.can_manage_cards(current_user):
        abort(403)
    form = WithdrawForm()
    return _change_node(
        node, form, lambda: withdraw_card(current_user, card, form.reason.data, now=get_clock().now()),
        "已撤销该记牌，它不再计分。",
    )
