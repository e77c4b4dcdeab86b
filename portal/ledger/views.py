"""Excel ledgers: the template, the import page and the exports."""

from __future__ import annotations

import base64
import io
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core.clock import get_clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.inputs import arg_id
from portal.core.web import form_errors, load_or_403
from portal.ledger import services
from portal.ledger import wizard as steps
from portal.ledger.forms import (
    NEW_UNIT,
    LedgerUploadForm,
    WizardStepForm,
    WizardUploadForm,
    columns_form,
    people_form,
    units_form,
)
from portal.models import Category, Project, Unit
from portal.models.policy import go_live_on
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
        scope = services.Scope(project=load_or_403(Project, arg_id("project_id"), can_view_project))
    elif "unit_id" in given:
        scope = services.Scope(unit=load_or_403(Unit, arg_id("unit_id"), can_view_unit))
    else:
        if not can_view_all_units(current_user):
            abort(403)
        if "category_id" in given:
            scope = services.Scope(category=db.get_or_404(Category, arg_id("category_id")))
    name = f"节点台账-{scope.label()}-{get_clock().today().isoformat()}.xlsx"
    return _xlsx(services.export_ledger(scope), name)


def _xlsx(data: bytes, name: str):
    return send_file(io.BytesIO(data), mimetype=services.XLSX_MIMETYPE, as_attachment=True, download_name=name, max_age=0)


# -- the import wizard: /ledger/import (GET) and its steps --------------------------------
# ``steps`` keeps the file (on the server) and the choices (in the session);
# every step reads them again, so each page can be reloaded, and nothing of
# the county is written until the commit (a saved column mapping apart).


def wizard_step(view):
    """A wizard step: a POST must carry a token (422 without), and a lost or foreign import is answered here.

    With no import in the session a GET goes to the upload page (with the
    reason) and a POST is refused with 400; a form of another import gets 409,
    a file that is no longer kept 404, a refused file its own status.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method == "POST" and not (step := WizardStepForm()).validate():
            return _wizard_error(422, form_errors(step))
        try:
            return view(*args, **kwargs)
        except steps.NoWizard as lost:
            if request.method == "GET":
                flash(lost.message, "info")
                return redirect(url_for("ledger.wizard"), 303)
            return _wizard_error(lost.status, lost.message)
        except Refused as refusal:  # a LedgerError too
            db.session.rollback()
            return _wizard_error(refusal.status, refusal.message)

    return wrapped


def _wizard_error(status: int, message: str):
    return render_template("ledger/wizard_error.html", status=status, message=message,
                           current=steps.in_progress()), status


def _current() -> tuple[steps.State, bytes]:
    """The session's import and its file; on a POST the form's token must be the session's."""
    return steps.current(request.form.get("token"), posted=request.method == "POST")


def _step_page(template: str, state: steps.State, step: int, status: int = 200, **context):
    return render_template(f"ledger/{template}", state=state, step=step, **context), status


def _upload_form() -> WizardUploadForm:
    categories = db.session.scalars(
        select(Category.name).where(Category.is_active.is_(True)).order_by(Category.sort_order, Category.id)).all()
    return WizardUploadForm(mappings=steps.saved_mapping_names(), categories=list(categories),
                            county_go_live=go_live_on())


def _upload_page(form: WizardUploadForm, error: services.LedgerError | None = None, status: int = 200):
    return render_template("ledger/wizard_upload.html", form=form, error=error, current=steps.in_progress(),
                           county_go_live=go_live_on(), step=1), status


@bp.route("/ledger/import", methods=["GET"])
@requires(can_setup_projects)
def wizard():
    form = _upload_form()
    form.go_live.data = services.go_live_default(get_clock().today())
    return _upload_page(form)


@bp.route("/ledger/import/upload", methods=["POST"])
@requires(can_setup_projects)
def wizard_upload():
    """Step 1: the file is read once here (a refused one is not kept), then kept for the next steps."""
    form = _upload_form()
    if not form.validate():
        return _upload_page(form, status=422)
    steps.remove_old()  # abandoned wizards' files, once a day old
    data = form.file.data.read(services.MAX_BYTES + 1)
    filename = form.file.data.filename or ""
    mapping = services.saved_mapping(form.saved_mapping.data) if form.saved_mapping.data else None
    try:
        services.read_ledger(data, options=services.Options(mapping=mapping), filename=filename)
    except services.LedgerError as error:
        return _upload_page(form, error, error.status)
    steps.start(data, filename, year=form.year.data, category=form.category.data or None,
                go_live=form.go_live.data, create_units=bool(form.create_units.data), mapping=mapping,
                mapping_name=form.saved_mapping.data or "")
    return redirect(url_for("ledger.wizard_layout"), 303)


@bp.route("/ledger/import/layout")
@requires(can_setup_projects)
@wizard_step
def wizard_layout():
    """Step 2: how each sheet was read."""
    state, data = _current()
    return _step_page("wizard_layout.html", state, 2, sheets=steps.sheets(data, state))


@bp.route("/ledger/import/columns", methods=["GET", "POST"])
@requires(can_setup_projects)
@wizard_step
def wizard_columns():
    """Step 3: one select per column; applying reads the sheets again with the mapping (and may save it)."""
    state, data = _current()
    sheets = steps.sheets(data, state)
    form = _columns_form(sheets, state)
    if request.method == "GET":
        return _columns_page(form, state, sheets)
    if not form.validate():
        return _columns_page(form, state, sheets, status=422)
    chosen = {c.input_name: form[c.input_name].data for s in sheets for c in s.columns if c.label}
    try:
        mapping, to_save = steps.mapping_of(sheets, chosen)
    except steps.MappingError as error:
        return _columns_page(form, state, sheets, error=str(error), status=422)
    state.mapping, state.sheet = mapping or None, form.sheet.data or None
    if form.save_name.data:
        steps.save_mapping(current_user, form.save_name.data, to_save)
        db.session.commit()
        state.mapping_name = form.save_name.data
        flash(_("The column mapping was saved as “%(name)s”.", name=form.save_name.data), "success")
    steps.save(state)
    if request.form.get("action") != "next":
        flash(_("The sheets were read again with these columns."), "success")
        return redirect(url_for("ledger.wizard_columns"), 303)
    sheets = steps.sheets(data, state)
    if not any(s.read for s in sheets):
        return _columns_page(_columns_form(sheets, state), state, sheets, status=422,
                             error=_("No sheet has data rows to import with these columns."))
    if any(s.read and s.missing for s in sheets):
        return _columns_page(_columns_form(sheets, state), state, sheets, status=422,
                             error=_("Some sheets have no column for a required field: choose one for each, "
                                     "or import only another sheet."))
    return redirect(url_for("ledger.wizard_units"), 303)


def _columns_form(sheets: list[steps.SheetView], state: steps.State):
    columns = [(c.input_name, c.field) for s in sheets for c in s.columns if c.label]
    form = columns_form(columns, steps.field_choices(), [s.name for s in sheets if s.layout.rows])
    if request.method == "GET":
        form.sheet.data = state.sheet or ""
    return form


def _columns_page(form, state, sheets, error: str | None = None, status: int = 200):
    return _step_page("wizard_columns.html", state, 3, status, form=form, sheets=sheets, error=error,
                      required=steps.required_names())


@bp.route("/ledger/import/units", methods=["GET", "POST"])
@requires(can_setup_projects)
@wizard_step
def wizard_units():
    """Step 4: every unit name the county does not certainly know, with its suggestions."""
    state, data = _current()
    layouts = services.read_ledger(data, options=state.options(), filename=state.filename)
    names = steps.unit_names(layouts, steps.unit_lookups(), state)
    units = [(u.id, u.name) for u in steps.active_units()]
    chosen = [str(n.chosen) if n.chosen else (NEW_UNIT if n.name in state.new_units else "") for n in names]
    form = units_form([(f"unit_{i}", c) for i, c in enumerate(chosen)], units,
                      [[s.unit_id for s in n.suggestions] for n in names], create=state.create_units)
    digest = steps.names_digest(names)
    if request.method == "GET":
        form.names.data = digest
        return _units_page(form, state, names)
    if not form.validate():
        return _units_page(form, state, names, status=422)
    if form.names.data != digest:
        raise Refused(409, _("The unit names of the file changed since this page was shown (the columns were "
                             "changed in another window). Check the names again."))
    picked = [(n.name, form[f"unit_{i}"].data) for i, n in enumerate(names)]
    state.units = {name: int(value) for name, value in picked if value and value != NEW_UNIT}
    state.new_units = [name for name, value in picked if value == NEW_UNIT]
    state.create_units = bool(form.create_units.data)
    steps.save(state)
    if request.form.get("action") != "next":
        flash(_("The units chosen are kept for this import."), "success")
        return redirect(url_for("ledger.wizard_units"), 303)
    return redirect(url_for("ledger.wizard_people"), 303)


def _units_page(form, state, names, status: int = 200):
    return _step_page("wizard_units.html", state, 4, status, form=form, names=names)


@bp.route("/ledger/import/people", methods=["GET", "POST"])
@requires(can_setup_projects)
@wizard_step
def wizard_people():
    """Step 5: the people the file names who have no account in their node's unit; accounts on request."""
    state, data = _current()
    options = state.options()
    layouts = services.read_ledger(data, options=options, filename=state.filename)
    checked, _lookups = services.plan(layouts, options=options, clock=get_clock())
    groups = steps.people(checked)
    people = steps.without_account(groups)
    form = people_form([(f"person_{i}", p.asked) for i, p in enumerate(people)])
    digest = steps.people_digest(people)
    if request.method == "GET":
        form.names.data = digest
        return _people_page(form, state, groups)
    if not form.validate():
        return _people_page(form, state, groups, status=422)
    if form.names.data != digest:
        raise Refused(409, _("The people of the file changed since this page was shown (the columns or units were "
                             "changed in another window). Check the people again."))
    everyone = request.form.get("action") == "all"
    state.accounts = [(p.unit, p.name) for i, p in enumerate(people) if everyone or form[f"person_{i}"].data]
    steps.save(state)
    if request.form.get("action") != "next":
        flash(_("The accounts chosen are kept for this import."), "success")
        return redirect(url_for("ledger.wizard_people"), 303)
    return redirect(url_for("ledger.wizard_check"), 303)


def _people_page(form, state, groups, status: int = 200):
    return _step_page("wizard_people.html", state, 5, status, form=form, groups=groups)


@bp.route("/ledger/import/check")
@requires(can_setup_projects)
@wizard_step
def wizard_check():
    """Step 6: the dry run, ``import_ledger(check=True)``: the counts, the notes and every problem left."""
    state, data = _current()
    run = steps.dry_run(current_user, data, state, get_clock())
    return _check_page(state, run)


def _check_page(state, run, status: int = 200):
    return _step_page("wizard_check.html", state, 6, status, run=run, county_go_live=go_live_on(),
                      go_live=state.go_live or services.go_live_default(get_clock().today()))


@bp.route("/ledger/import/commit", methods=["POST"])
@requires(can_setup_projects)
@wizard_step
def wizard_commit():
    """Step 7: the import itself, in one transaction (audited by the service); the kept file goes."""
    state, data = _current()
    names = steps.responsible_names(data, state)
    try:
        result = services.import_ledger(current_user, data, clock=get_clock(), options=state.options(),
                                        filename=state.filename)
    except services.LedgerError as error:
        db.session.rollback()
        return _check_page(state, steps.refused_run(error, data, state), status=error.status)
    clock = get_clock()
    pdf = None
    if result.accounts:
        pdf = services.passwords_pdf(result.accounts, today=clock.today())
    db.session.commit()
    steps.finish(state, result, steps.units_named(names))
    if pdf is None:
        return redirect(url_for("ledger.wizard_done"), 303)
    # The one-time passwords exist only in this answer: shown once, never kept in the session.
    return _done_page(steps.last_result(), accounts=result.accounts, pdf=base64.b64encode(pdf).decode("ascii"),
                      pdf_name=f"一次性登录密码单-{clock.today().isoformat()}.pdf")


@bp.route("/ledger/import/done")
@requires(can_setup_projects)
def wizard_done():
    result = steps.last_result()
    if result is None:
        flash(_("No ledger import is in progress in this session. Upload the ledger again."), "info")
        return redirect(url_for("ledger.wizard"), 303)
    return _done_page(result)


def _done_page(result: dict, **context):
    ids = result.get("units") or []
    found = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}
    return render_template("ledger/wizard_done.html", result=result, counts=result["counts"], step=7,
                           units=[found[i] for i in ids if i in found], county_go_live=go_live_on(), **context)


@bp.route("/ledger/import/cancel", methods=["POST"])
@requires(can_setup_projects)
@wizard_step
def wizard_cancel():
    steps.cancel(request.form.get("token"))
    flash(_("The import was cancelled and the uploaded file deleted; nothing was imported."), "success")
    return redirect(url_for("ledger.wizard"), 303)
