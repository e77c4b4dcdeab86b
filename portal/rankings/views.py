"""League rankings: everyone may read them (publicity is part of the method)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.inputs import arg_year
from portal.core.periods import last_complete, period_label
from portal.core.web import period_args
from portal.models import Unit
from portal.rankings.services import (
    TIE_BREAK,
    completion_by_category,
    league_tables,
    project_leaderboard,
    unit_history,
)

bp = Blueprint("rankings", __name__)


@bp.route("/rankings")
@login_required
def index():
    parsed, error = period_args(last_complete)
    if error:
        return error
    kind, day = parsed
    (start, end), tables = league_tables(kind, day, today=get_clock().today())
    until = min(end, get_clock().today())
    top, bottom = project_leaderboard(start.year, until)
    return render_template(
        "rankings/index.html", kind=kind, day=day, start=start, end=end, tables=tables,
        label=period_label(kind, start, end), categories=completion_by_category(start.year, until),
        top=top, bottom=bottom, tie_break=TIE_BREAK,
    )


@bp.route("/rankings/units/<int:unit_id>")
@login_required
def unit(unit_id: int):
    item = db.session.get(Unit, unit_id)
    if item is None:
        abort(404)
    year = arg_year("year", get_clock().today().year)
    return render_template("rankings/unit.html", unit=item, year=year, history=unit_history(unit_id, year))
