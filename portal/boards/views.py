"""Per-unit Kanban boards (/units/<id>/board)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.boards.services import Filters, column_counts, filter_choices, load_board
from portal.clock import get_clock
from portal.extensions import db
from portal.models import League, Unit
from portal.permissions import can_view_all_units, can_view_unit
from portal.policy import policy_on

bp = Blueprint("boards", __name__)


def switcher_units():
    """Units grouped by league, for those who may open every board."""
    leagues = db.session.scalars(select(League).options(selectinload(League.units)).order_by(League.sort_order, League.id)).all()
    loose = db.session.scalars(select(Unit).where(Unit.league_id.is_(None), Unit.is_active).order_by(Unit.sort_order, Unit.id)).all()
    return leagues, loose


def render_board(unit: Unit, filters: Filters, *, message: str | None = None, status: int = 200):
    """The full page, or only the board when htmx asks (filters applied in place)."""
    clock = get_clock()
    today = clock.today()
    policy = policy_on(today)
    board = load_board(unit.id, filters, today, policy.warn_days)
    context = {
        # The user itself, not Flask-Login's proxy: each card asks it a dozen things.
        "actor": current_user._get_current_object(),
        "unit": unit,
        "board": board,
        "filters": filters,
        "today": today,
        "warn_days": policy.warn_days,
        "message": message,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "board":
        return render_template("boards/_board.html", **context), status
    leagues, loose = switcher_units() if can_view_all_units(current_user) else ([], [])
    return render_template(
        "boards/board.html", choices=filter_choices(unit.id), leagues=leagues, loose_units=loose, **context
    ), status


@bp.route("/units/<int:unit_id>/board")
@login_required
def board(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    if not can_view_unit(current_user, unit):
        abort(403)
    return render_board(unit, Filters.from_args(request.args))


@bp.route("/boards")
@login_required
def my_board():
    """The unit switcher's target, and the way to one's own board."""
    wanted = request.args.get("unit", type=int) or current_user.unit_id
    if wanted is None:
        abort(404)
    return redirect(url_for("boards.board", unit_id=wanted))


def counts_fragment(unit_id: int, filters: Filters) -> str:
    return render_template("boards/_counts.html", counts=column_counts(unit_id, filters), oob=True)
