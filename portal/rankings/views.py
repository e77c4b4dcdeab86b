"""League rankings: everyone may read them (publicity is part of the method)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import login_required

from portal.clock import get_clock
from portal.documents.render import render_pdf
from portal.documents.services import office_name
from portal.errors import render_error
from portal.extensions import db
from portal.models import Unit
from portal.rankings.services import (
    PERIODS,
    completion_by_category,
    league_tables,
    period_label,
    project_leaderboard,
    unit_history,
)

bp = Blueprint("rankings", __name__)


def _period_args():
    """(period, day) from the query string, or an error response in Chinese."""
    kind = request.args.get("period", "week")
    if kind not in PERIODS:
        return None, render_error(400, "period 只能是 week、month、quarter 或 year。")
    raw = request.args.get("date")
    try:
        day = date.fromisoformat(raw) if raw else get_clock().today()
    except ValueError:
        return None, render_error(400, "date 须为 YYYY-MM-DD 格式的日期。")
    return (kind, day), None


@bp.route("/rankings")
@login_required
def index():
    parsed, error = _period_args()
    if error:
        return error
    kind, day = parsed
    (start, end), tables = league_tables(kind, day)
    until = min(end, get_clock().today())
    top, bottom = project_leaderboard(start.year, until)
    return render_template(
        "rankings/index.html", kind=kind, day=day, start=start, end=end, tables=tables,
        label=period_label(kind, start, end), categories=completion_by_category(start.year, until),
        top=top, bottom=bottom,
    )


def ranking_pdf(kind: str, day: date, doc_number: str | None = None) -> bytes:
    (start, end), tables = league_tables(kind, day)
    label = period_label(kind, start, end)
    return render_pdf(
        "documents/ranking.html", title=f"{label}节点工作联赛排名", office=office_name(), doc_number=doc_number,
        period_label=label, tables=tables, issued_on=get_clock().today(),
    )


@bp.route("/rankings/export.pdf")
@login_required
def export_pdf():
    parsed, error = _period_args()
    if error:
        return error
    kind, day = parsed
    pdf = ranking_pdf(kind, day)
    filename = f"ranking-{kind}-{day.isoformat()}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.route("/rankings/units/<int:unit_id>")
@login_required
def unit(unit_id: int):
    item = db.session.get(Unit, unit_id)
    if item is None:
        abort(404)
    year = request.args.get("year", type=int) or get_clock().today().year
    return render_template("rankings/unit.html", unit=item, year=year, history=unit_history(unit_id, year))
