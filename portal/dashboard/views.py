"""The command view: dashboard (挂图作战) and year timeline for everyone, cadre files for leaders and supervisors."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from portal.core.clock import get_clock
from portal.core.errors import render_error
from portal.core.extensions import db
from portal.core.inputs import FIRST_YEAR, LAST_YEAR, BadArgument, parse_id, parse_int
from portal.dashboard import cadres as cadre_files
from portal.dashboard import progress as project_colours
from portal.dashboard import services
from portal.dashboard import timeline as year_timeline
from portal.dashboard.services import Filters
from portal.models import Category, League, Project, Theme, User
from portal.permissions import can_view_cadre_files, requires

bp = Blueprint("dashboard", __name__)

def _year(today: date) -> int:
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return today.year
    year = parse_int(raw, FIRST_YEAR, LAST_YEAR)
    if year is None:
        raise BadArgument(_("The year must be a number such as %(year)d.", year=today.year))
    return year


def _choice(name: str, allowed: set[int]) -> int | None:
    """An optional id from the query string that must be one of ``allowed``; empty means all."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value not in allowed:
        raise BadArgument(_("Unknown %(name)s: choose one from the list.", name=name))
    return value


def _years(current: int, *, planning: bool = False) -> list[int]:
    """The years to choose from: every project's, this one, and (``planning``, in December) next year's."""
    years = {y for (y,) in db.session.execute(select(Project.year).distinct())} | {current}
    if planning:
        years.add(current + 1)
    return sorted(years, reverse=True)


@bp.route("/dashboard")
@login_required
def index():
    today = get_clock().today()
    categories = db.session.execute(select(Category.id, Category.name).order_by(Category.sort_order, Category.id)).all()
    themes = db.session.execute(select(Theme.id, Theme.name).order_by(Theme.sort_order, Theme.id)).all()
    leagues = db.session.execute(select(League.id, League.name).order_by(League.sort_order, League.id)).all()
    try:
        filters = Filters(
            _year(today),
            _choice("category", {c.id for c in categories}),
            _choice("theme", {t.id for t in themes}),
            _choice("league", {lg.id for lg in leagues}),
        )
    except BadArgument as error:
        return render_error(400, error.message)
    as_of = services.dashboard_as_of(filters.year, today)
    rows = services.category_figures(filters, as_of)
    progress = project_colours.project_progress(as_of, filters)
    return render_template(
        "dashboard/index.html",
        filters=filters, as_of=as_of, today=today,
        rows=rows, total=services.total_figures(rows, _("All categories")),
        cards=services.card_counts(filters, as_of),
        colours=project_colours.colour_summary(progress),
        overdue=services.overdue_nodes(filters, as_of),
        key_nodes=services.key_supervision_nodes(filters),
        problems=services.problem_figures(filters.year, as_of),
        categories=categories, themes=themes, leagues=leagues, years=_years(today.year),
    )


@bp.route("/timeline")
@login_required
def timeline():
    today = get_clock().today()
    try:
        year = _year(today)
    except BadArgument as error:
        return render_error(400, error.message)
    bands = year_timeline.year_timeline(year, _("No theme"))
    return render_template(
        "dashboard/timeline.html", year=year, today=today, bands=bands,
        years=_years(today.year, planning=today.month == 12),
        total=sum(b.count for b in bands), months=year_timeline.by_month(bands),
    )


@bp.route("/cadres")
@requires(can_view_cadre_files)
def cadres():
    today = get_clock().today()
    try:
        year = _year(today)
    except BadArgument as error:
        return render_error(400, error.message)
    as_of = services.dashboard_as_of(year, today)
    return render_template(
        "dashboard/cadres.html", year=year, as_of=as_of, people=cadre_files.cadre_figures(year, as_of),
        years=_years(today.year),
    )


@bp.route("/cadres/<int:user_id>")
@requires(can_view_cadre_files)
def cadre(user_id: int):
    person = db.get_or_404(User, user_id)
    today = get_clock().today()
    try:
        year = _year(today)
    except BadArgument as error:
        return render_error(400, error.message)
    as_of = services.dashboard_as_of(year, today)
    months = cadre_files.cadre_cards_by_month(user_id, year)
    return render_template(
        "dashboard/cadre.html", person=person, year=year, as_of=as_of,
        figures=cadre_files.cadre_figures(year, as_of, user_id=user_id)[0],
        nodes=cadre_files.cadre_nodes(user_id, year), months=months, quarters=cadre_files.by_quarter(months),
        years=_years(today.year),
    )
