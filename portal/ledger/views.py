"""Excel ledgers: the template, the import page and the exports."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.web import load_or_403
from portal.ledger import services
from portal.ledger.forms import LedgerUploadForm
from portal.models import Category, Project, Unit
from portal.permissions import (
    can_setup_projects,
    can_view_all_units,
    can_view_project,
    can_view_unit,
    requires,
)

bp = Blueprint("ledger", __name__)


def render_page(form: LedgerUploadForm, error: services.LedgerError | None = None, status: int = 200):
    """The ledger page, with the refusal report of a bad file when there is one."""
    units = db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)).all()
    categories = db.session.scalars(select(Category).order_by(Category.sort_order, Category.id)).all()
    problems = error.problems[: services.SHOWN_PROBLEMS] if error else []
    return render_template(
        "ledger/index.html", form=form, error=error, problems=problems,
        hidden=(len(error.problems) - len(problems)) if error else 0,
        units=units, categories=categories, max_rows=services.MAX_ROWS,
    ), status


@bp.route("/ledger")
@requires(can_setup_projects)
def index():
    return render_page(LedgerUploadForm())


@bp.route("/ledger/template.xlsx")
@requires(can_setup_projects)
def template():
    return _xlsx(services.template_workbook(), "节点台账导入模板.xlsx")


@bp.route("/ledger/import", methods=["POST"])
@requires(can_setup_projects)
def import_file():
    form = LedgerUploadForm()
    if not form.validate():
        return render_page(form, status=422)
    data = form.file.data.read(services.MAX_BYTES + 1)
    try:
        result = services.import_ledger(current_user, data, clock=get_clock())
    except services.LedgerError as error:
        db.session.rollback()
        return render_page(form, error, status=error.status)
    db.session.commit()
    flash(
        _(
            "Imported %(rows)d rows: %(pc)d projects created, %(pu)d updated; %(nc)d nodes created, %(nu)d updated.",
            rows=result.rows, pc=result.projects_created, pu=result.projects_updated,
            nc=result.nodes_created, nu=result.nodes_updated,
        ),
        "success",
    )
    return redirect(url_for("ledger.index"), 303)


@bp.route("/ledger/export.xlsx")
@login_required
def export():
    """?unit_id= (its staff too), ?project_id= (whoever may read it), ?category_id= or nothing (the county)."""
    args = request.args
    given = [name for name in ("unit_id", "project_id", "category_id") if args.get(name)]
    if len(given) > 1:
        abort(400)
    scope = services.Scope()
    if "project_id" in given:
        scope = services.Scope(project=load_or_403(Project, args.get("project_id", type=int), can_view_project))
    elif "unit_id" in given:
        scope = services.Scope(unit=load_or_403(Unit, args.get("unit_id", type=int), can_view_unit))
    else:
        if not can_view_all_units(current_user):
            abort(403)
        if "category_id" in given:
            scope = services.Scope(category=db.get_or_404(Category, args.get("category_id", type=int)))
    name = f"节点台账-{scope.label()}-{get_clock().today().isoformat()}.xlsx"
    return _xlsx(services.export_ledger(scope), name)


def _xlsx(data: bytes, name: str):
    response = send_file(io.BytesIO(data), mimetype=services.XLSX_MIMETYPE, as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
